//! The edge build (a `wasi:http/proxy` component from the same guest code, no imports of ours) serving the object
//! routes against RGW in two runtimes: our own (`spaces edge`) and jco's (`jco serve` on Node.js), the same file,
//! the same checks — bearer token, streaming multipart PUT, whole and ranged GET, HEAD, listing, presign, URLs,
//! problem documents, DELETE and batch delete — and RGW holds what they stored.

use spaces_tests::service::Service;
use spaces_tests::{curl, pattern, sha256, Bucket};

const TOKEN: &str = "edge-test-token-0123456789";

fn body(mut r: spaces_tests::service::Answer) -> Vec<u8> {
    r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap()
}

fn json(r: spaces_tests::service::Answer) -> serde_json::Value {
    serde_json::from_slice(&body(r)).unwrap()
}

/// Everything a client of the object routes relies on, through `s`, which stores into `bucket` under `dir/`.
fn exercise(s: &Service, bucket: &Bucket, dir: &str) {
    assert_eq!(s.raw("GET", "/healthz", &[], None).status(), 200, "{}", s.log());
    assert_eq!(json(s.raw("GET", "/readyz", &[], None))["ready"], true, "{}", s.log());

    // The token guards every /v1 route.
    let note = format!("/v1/objects/{dir}/note.txt");
    let refused = s.raw("PUT", &note, &[], Some(b"x"));
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer realm=\"spaces\"");
    assert_eq!(s.raw("GET", &note, &[("authorization", "Bearer wrong")], None).status(), 401);

    let text = format!("hello from {dir}\n");
    let headers = [("content-type", "text/plain"), ("x-spaces-meta-runtime", dir)];
    let stored = json(s.call("PUT", &note, &headers, Some(text.as_bytes())));
    assert_eq!((stored["size"].as_u64(), stored["parts"].as_u64()), (Some(text.len() as u64), Some(0)), "{stored}");
    let large = pattern(12_000_000, 31);
    let big = format!("/v1/objects/{dir}/large.bin");
    let stored = json(s.call("PUT", &big, &[], Some(&large)));
    assert_eq!(stored["parts"], 2, "12 MB goes multipart in 8 MiB parts: {stored}");

    let got = s.call("GET", &note, &[], None);
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "text/plain");
    assert_eq!(got.headers()["x-spaces-meta-runtime"], dir);
    assert_eq!(body(got), text.as_bytes());
    assert_eq!(sha256(&body(s.call("GET", &big, &[], None))), sha256(&large));
    let part = s.call("GET", &big, &[("range", "bytes=100-199")], None);
    assert_eq!(part.status(), 206);
    assert_eq!(body(part), &large[100..200]);
    let head = s.call("HEAD", &big, &[], None);
    assert_eq!((head.status().as_u16(), head.headers()["content-length"].to_str().unwrap()), (200, "12000000"));

    let page = json(s.call("GET", &format!("/v1/objects?prefix={dir}/&limit=1"), &[], None));
    assert_eq!(page["objects"][0]["key"], format!("{dir}/large.bin"));
    assert!(page["next_cursor"].is_string(), "{page}");

    let presign = format!(r#"{{"key": "{dir}/note.txt", "expires": 60}}"#);
    let url = json(s.call("POST", "/v1/presign", &[("content-type", "application/json")], Some(presign.as_bytes())));
    let (status, fetched) = curl("GET", url["url"].as_str().unwrap(), None, &[]);
    assert_eq!((status, fetched), (200, text.as_bytes().to_vec()), "a presigned URL works without credentials");
    let public = json(s.call("GET", &format!("/v1/url/{dir}/note.txt"), &[], None));
    assert!(public["url"].as_str().unwrap().ends_with(&format!("/{}/{dir}/note.txt", bucket.name)), "{public}");

    let missing = s.call("GET", &format!("/v1/objects/{dir}/missing"), &[], None);
    assert_eq!(missing.status(), 404);
    assert_eq!(json(missing)["type"], "urn:spaces:problem:not-found");
    assert_eq!(s.call("GET", "/v1/objects/a/../b", &[], None).status(), 400);
    assert_eq!(s.call("POST", &note, &[], None).status(), 405);

    assert_eq!(s.call("DELETE", &note, &[], None).status(), 204);
    assert_eq!(s.call("GET", &note, &[], None).status(), 404);
    for k in ["b1", "b2"] {
        assert_eq!(s.call("PUT", &format!("/v1/objects/{dir}/{k}"), &[], Some(b"batch")).status(), 200);
    }
    let batch = format!(r#"{{"keys": ["{dir}/b1", "{dir}/b2", "{dir}/never-stored"]}}"#);
    let deleted = json(s.call("POST", "/v1/objects/delete", &[], Some(batch.as_bytes())));
    assert_eq!(deleted, serde_json::json!({"deleted": 3, "failed": []}), "missing keys count as deleted");
    assert_eq!(s.call("HEAD", &format!("/v1/objects/{dir}/b1"), &[], None).status(), 404);
    assert_eq!(s.call("POST", "/v1/objects/delete", &[], Some(br#"{"keys": ["a/../b"]}"#)).status(), 400);

    // What RGW holds, as any S3 client sees it.
    let fetched = bucket.path("fetched.bin");
    bucket.s3cmd_ok(&["get", "--force", &format!("s3://{}/{dir}/large.bin", bucket.name), fetched.to_str().unwrap()]);
    assert_eq!(sha256(&std::fs::read(fetched).unwrap()), sha256(&large));
    let log = s.log();
    assert!(log.contains(r#""event":"operation""#) && log.contains(r#""operation":"upload-part""#), "{log}");
    assert!(!log.contains(&bucket.rgw.secret_key) && !log.contains(TOKEN), "a secret in the log:\n{log}");
}

#[test]
fn the_edge_component_serves_the_object_routes_in_our_host() {
    let bucket = Bucket::new("edge-ours");
    let s = Service::edge(bucket.spaces(), TOKEN);
    exercise(&s, &bucket, "spaces-edge");
    assert!(s.terminate(std::time::Duration::from_secs(10)).success());
}

#[test]
fn the_same_edge_component_serves_them_in_jco_on_node() {
    let bucket = Bucket::new("edge-jco");
    let s = Service::jco_serve(&bucket, TOKEN);
    exercise(&s, &bucket, "jco-serve");
    s.terminate(std::time::Duration::from_secs(10));
}

#[test]
fn spaces_edge_refuses_a_component_that_is_not_a_proxy() {
    let bucket = Bucket::new("edge-refuse");
    let mut command = bucket.spaces();
    command.args(["edge", "--listen", "127.0.0.1:0", "--component"]).arg(spaces_tests::component_path());
    let out = spaces_tests::run(&mut command);
    assert_eq!(out.status.code(), Some(2), "{}", spaces_tests::describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a wasi:http/proxy component"), "{stderr}");
}

#[test]
fn without_a_token_the_edge_component_refuses_every_v1_request() {
    let bucket = Bucket::new("edge-no-token");
    let s = Service::edge(bucket.spaces(), "");
    assert!(s.log().contains("SPACES_TOKEN is not set"), "{}", s.log());
    assert_eq!(s.raw("GET", "/healthz", &[], None).status(), 200);
    for (method, path) in [("GET", "/v1/objects"), ("PUT", "/v1/objects/k"), ("POST", "/v1/presign")] {
        let refused = s.raw(method, path, &[("authorization", "Bearer anything")], Some(b"{}"));
        assert_eq!(refused.status(), 503, "{method} {path}");
        assert_eq!(json(refused)["type"], "urn:spaces:problem:no-token");
    }
    s.terminate(std::time::Duration::from_secs(10));
    assert!(bucket.s3cmd_ok(&["ls", &format!("s3://{}", bucket.name)]).trim().is_empty(), "nothing was stored");
}
