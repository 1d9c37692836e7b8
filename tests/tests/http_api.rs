//! One scenario suite for every face of the HTTP API: the same requests, with the same expected statuses, headers
//! and bodies, against `spaces serve` (on RGW), the edge component under `spaces edge`, and the same component
//! under `wasmtime serve` and under `jco serve` on Node.js. Whatever one face answers, the others must answer too: a user who tests with
//! `spaces serve` and deploys the edge build gets the same product.

use spaces_tests::fault_proxy::{Fault, FaultProxy};
use spaces_tests::service::{Answer, Service};
use spaces_tests::{curl, Bucket};
use std::io::Write;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "scenario-token-0123456789";

fn body(mut r: Answer) -> Vec<u8> {
    r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap()
}

fn json(r: Answer) -> serde_json::Value {
    let status = r.status();
    let bytes = body(r);
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

fn header(r: &Answer, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// A problem document with this status and kind, as `application/problem+json`.
fn problem(what: &str, r: Answer, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(r.status(), status, "{what}");
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/problem+json"), "{what}");
    let doc = json(r);
    assert_eq!(doc["type"], format!("urn:spaces:problem:{kind}"), "{what}: {doc}");
    assert_eq!(doc["status"], status, "{what}: {doc}");
    assert!(doc["title"].is_string() && doc["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {doc}");
    doc
}

/// A request written byte for byte (header values that are not ASCII, which HTTP clients refuse to send).
fn raw_status(s: &Service, request: &[u8]) -> u16 {
    let mut stream = s.connect();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(request).unwrap();
    spaces_tests::read_status(&stream).expect("a status line")
}

/// The scenarios, through `s`, storing under `dir/` in `bucket`.
fn scenarios(s: &Service, bucket: &Bucket, dir: &str) {
    let obj = |name: &str| format!("/v1/objects/{dir}/{name}");

    // Auth: the same refusal, header and text everywhere.
    let r = s.raw("PUT", &obj("note.txt"), &[], Some(b"x"));
    assert_eq!(header(&r, "www-authenticate").as_deref(), Some("Bearer realm=\"spaces\""));
    let doc = problem("no token", r, 401, "unauthorized");
    assert!(doc["detail"].as_str().unwrap().contains("Authorization: Bearer"), "{doc}");
    problem(
        "wrong token",
        s.raw("GET", &obj("note.txt"), &[("authorization", "Bearer nope")], None),
        401,
        "unauthorized",
    );
    problem(
        "lower-case scheme, wrong token",
        s.raw("GET", "/v1/objects", &[("authorization", "bearer nope")], None),
        401,
        "unauthorized",
    );
    assert_eq!(
        s.raw("GET", "/v1/objects?limit=1", &[("authorization", &format!("bearer {TOKEN}"))], None).status(),
        200
    );

    // An upload with its headers, read back with the same headers.
    let text = b"0123456789";
    let put = s.call(
        "PUT",
        &obj("note.txt"),
        &[("content-type", "text/plain"), ("cache-control", "max-age=60"), ("x-spaces-meta-owner", "alice")],
        Some(text),
    );
    assert_eq!(put.status(), 200);
    let stored = json(put);
    assert_eq!(
        (stored["key"].as_str(), stored["size"].as_u64(), stored["parts"].as_u64()),
        (Some(format!("{dir}/note.txt").as_str()), Some(10), Some(0)),
        "{stored}"
    );
    let etag = stored["etag"].as_str().unwrap().to_string();
    let got = s.call("GET", &obj("note.txt"), &[], None);
    assert_eq!(got.status(), 200);
    for (name, value) in [
        ("content-type", "text/plain"),
        ("cache-control", "max-age=60"),
        ("x-spaces-meta-owner", "alice"),
        ("accept-ranges", "bytes"),
        ("content-length", "10"),
    ] {
        assert_eq!(header(&got, name).as_deref(), Some(value), "GET {name}");
    }
    assert_eq!(header(&got, "etag"), Some(format!("\"{etag}\"")));
    assert_eq!(body(got), text);
    let head = s.call("HEAD", &obj("note.txt"), &[], None);
    assert_eq!((head.status().as_u16(), header(&head, "content-length").as_deref()), (200, Some("10")));
    assert_eq!(header(&head, "x-spaces-meta-owner").as_deref(), Some("alice"));

    // Divergence 2: no Content-Type sent, one is guessed from the key.
    assert_eq!(s.call("PUT", &obj("data.json"), &[], Some(b"{}")).status(), 200);
    let head = s.call("HEAD", &obj("data.json"), &[], None);
    assert_eq!(header(&head, "content-type").as_deref(), Some("application/json"), "guessed from the key");

    // Divergence 3: a bad ACL is refused, and nothing is stored.
    problem(
        "bad acl",
        s.call("PUT", &obj("acl.txt"), &[("x-spaces-acl", "public")], Some(b"x")),
        400,
        "invalid-argument",
    );
    assert_eq!(s.call("HEAD", &obj("acl.txt"), &[], None).status(), 404, "a refused upload stores nothing");

    // Divergence 4: metadata that is not ASCII is refused, not dropped.
    let request = format!(
        "PUT {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1\r\nConnection: \
            close\r\nx-spaces-meta-name: caf\u{e9}\r\n\r\nx",
        obj("meta.txt")
    );
    assert_eq!(raw_status(s, request.as_bytes()), 400, "non-ASCII metadata");
    assert_eq!(s.call("HEAD", &obj("meta.txt"), &[], None).status(), 404);

    // Ranges: 206 with Content-Range, the suffix form, and 416 for what cannot be satisfied.
    let part = s.call("GET", &obj("note.txt"), &[("range", "bytes=2-5")], None);
    assert_eq!(part.status(), 206);
    assert_eq!(header(&part, "content-range").as_deref(), Some("bytes 2-5/*"));
    assert_eq!(body(part), b"2345");
    let suffix = s.call("GET", &obj("note.txt"), &[("range", "bytes=-3")], None);
    assert_eq!(suffix.status(), 206);
    assert_eq!(body(suffix), b"789");
    let open = s.call("GET", &obj("note.txt"), &[("range", "bytes=7-")], None);
    assert_eq!(body(open), b"789");
    problem(
        "range past the end",
        s.call("GET", &obj("note.txt"), &[("range", "bytes=100-")], None),
        416,
        "range-not-satisfiable",
    );
    problem(
        "range backwards",
        s.call("GET", &obj("note.txt"), &[("range", "bytes=5-2")], None),
        416,
        "range-not-satisfiable",
    );

    // Conditions: 304 with no body, 412 with a problem (HEAD: status only).
    let quoted = format!("\"{etag}\"");
    let fresh = s.call("GET", &obj("note.txt"), &[("if-none-match", &quoted)], None);
    assert_eq!(fresh.status(), 304);
    assert!(body(fresh).is_empty());
    problem(
        "if-match",
        s.call("GET", &obj("note.txt"), &[("if-match", "\"other\"")], None),
        412,
        "precondition-failed",
    );
    assert_eq!(s.call("GET", &obj("note.txt"), &[("if-match", &quoted)], None).status(), 200);
    assert_eq!(s.call("HEAD", &obj("note.txt"), &[("if-match", "\"other\"")], None).status(), 412);
    let unchanged = s.call("HEAD", &obj("note.txt"), &[("if-none-match", "*")], None);
    assert_eq!((unchanged.status().as_u16(), header(&unchanged, "etag")), (304, Some(quoted.clone())));

    // Listing pages, prefixes, and a refused limit.
    let first = json(s.call("GET", &format!("/v1/objects?prefix={dir}/&limit=1"), &[], None));
    assert_eq!(first["objects"][0]["key"], format!("{dir}/data.json"), "{first}");
    assert_eq!(first["objects"][0]["size"], 2);
    let cursor = first["next_cursor"].as_str().expect("more follow").to_string();
    let encoded: String = cursor.bytes().map(|b| format!("%{b:02X}")).collect();
    let second = json(s.call("GET", &format!("/v1/objects?prefix={dir}/&limit=1&cursor={encoded}"), &[], None));
    assert_eq!(second["objects"][0]["key"], format!("{dir}/note.txt"), "{second}");
    let grouped = json(s.call("GET", "/v1/objects?delimiter=/", &[], None));
    assert!(grouped["prefixes"].as_array().unwrap().contains(&serde_json::json!(format!("{dir}/"))), "{grouped}");
    problem("limit 0", s.call("GET", "/v1/objects?limit=0", &[], None), 400, "invalid-argument");

    // Presign, in either case of method; the URL works without credentials.
    for method in ["get", "GET"] {
        let req = format!(r#"{{"key": "{dir}/note.txt", "method": "{method}", "expires": 60}}"#);
        let p = json(s.call("POST", "/v1/presign", &[("content-type", "application/json")], Some(req.as_bytes())));
        assert!(p["expires_at"].as_u64().is_some(), "{p}");
        assert_eq!(curl("GET", p["url"].as_str().unwrap(), None, &[]), (200, text.to_vec()));
    }
    let bad = format!(r#"{{"key": "{dir}/note.txt", "method": "post"}}"#);
    problem("presign post", s.call("POST", "/v1/presign", &[], Some(bad.as_bytes())), 400, "invalid-argument");
    problem(
        "presign traversal",
        s.call("POST", "/v1/presign", &[], Some(br#"{"key": "a/../b"}"#)),
        400,
        "invalid-argument",
    );
    let forever = format!(r#"{{"key": "{dir}/note.txt", "expires": 604801}}"#);
    problem("presign too long", s.call("POST", "/v1/presign", &[], Some(forever.as_bytes())), 400, "invalid-argument");

    // URLs.
    let url = json(s.call("GET", &format!("/v1/url/{dir}/note.txt"), &[], None));
    assert!(url["url"].as_str().unwrap().ends_with(&format!("/{}/{dir}/note.txt", bucket.name)), "{url}");
    problem("cdn=yes", s.call("GET", &format!("/v1/url/{dir}/note.txt?cdn=yes"), &[], None), 400, "invalid-argument");

    // Missing objects, bad keys, unknown routes and methods.
    problem("missing", s.call("GET", &obj("missing"), &[], None), 404, "not-found");
    assert_eq!(s.call("HEAD", &obj("missing"), &[], None).status(), 404);
    problem("traversal", s.call("GET", "/v1/objects/a/../b", &[], None), 400, "invalid-argument");
    problem("no route", s.call("GET", "/v2/anything", &[], None), 404, "no-route");
    let patch = s.call("PATCH", "/v1/objects", &[], None);
    assert_eq!(header(&patch, "allow").as_deref(), Some("GET"));
    problem("PATCH", patch, 405, "method-not-allowed");
    let post = s.call("POST", &obj("note.txt"), &[], None);
    assert_eq!(header(&post, "allow").as_deref(), Some("PUT, GET, HEAD, DELETE"));
    problem("POST on an object", post, 405, "method-not-allowed");

    // Batch delete: missing keys count as deleted; a bad key refuses the whole batch.
    let keys = format!(r#"{{"keys": ["{dir}/note.txt", "{dir}/data.json", "{dir}/never"]}}"#);
    problem(
        "batch traversal",
        s.call("POST", "/v1/objects/delete", &[], Some(br#"{"keys": ["ok", "a/../b"]}"#)),
        400,
        "invalid-argument",
    );
    problem("batch not JSON", s.call("POST", "/v1/objects/delete", &[], Some(b"keys")), 400, "invalid-argument");
    let deleted = json(s.call("POST", "/v1/objects/delete", &[], Some(keys.as_bytes())));
    assert_eq!(deleted, serde_json::json!({"deleted": 3, "failed": []}));
    assert_eq!(s.call("DELETE", &obj("note.txt"), &[], None).status(), 204, "deleting a missing key succeeds");
    let left = bucket.s3cmd_ok(&["ls", "-r", &format!("s3://{}/{dir}/", bucket.name)]);
    assert!(left.trim().is_empty(), "nothing left under {dir}/: {left}");

    // Health answers the same shape.
    assert_eq!(json(s.raw("GET", "/healthz", &[], None)), serde_json::json!({"status": "alive"}));
    assert_eq!(json(s.raw("GET", "/readyz", &[], None))["ready"], true);
}

/// An upstream that never answers: the request times out, and that is 504 `upstream-timeout` on every face that
/// runs it with a deadline (`--timeout 1`).
fn times_out(s: &Service) {
    let started = std::time::Instant::now();
    problem("stalled upstream", s.call("GET", "/v1/objects/k", &[], None), 504, "upstream-timeout");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

fn stalled(bucket: &Bucket) -> (FaultProxy, Command) {
    let proxy = FaultProxy::start(bucket.rgw.endpoint.trim_start_matches("http://"), |_, _| Fault::Stall);
    let mut command = bucket.spaces();
    command.env("SPACES_ENDPOINT", &proxy.endpoint).args(["--timeout", "1"]);
    (proxy, command)
}

#[test]
fn spaces_serve_answers_every_scenario() {
    let bucket = Bucket::new("api-serve");
    let s = Service::start(bucket.spaces(), TOKEN, &[]);
    scenarios(&s, &bucket, "serve");
    assert!(s.terminate(Duration::from_secs(30)).success());
    // Beside the request, the readiness probe fails against the stalled upstream too: two callers' failures,
    // which must not open the circuit (they would have, counted per attempt).
    let (_proxy, command) = stalled(&bucket);
    times_out(&Service::start(command, TOKEN, &[]));
}

#[test]
fn spaces_edge_answers_every_scenario() {
    let bucket = Bucket::new("api-edge");
    let s = Service::edge(bucket.spaces(), TOKEN);
    scenarios(&s, &bucket, "edge");
    assert!(s.terminate(Duration::from_secs(10)).success());
    let (_proxy, command) = stalled(&bucket);
    times_out(&Service::edge(command, TOKEN));
}

#[test]
fn jco_serve_answers_every_scenario() {
    let bucket = Bucket::new("api-jco");
    let s = Service::jco_serve(&bucket, TOKEN);
    scenarios(&s, &bucket, "jco");
    s.terminate(Duration::from_secs(10));
}

#[test]
fn wasmtime_serve_answers_every_scenario() {
    let bucket = Bucket::new("api-wasmtime");
    let s = Service::wasmtime_serve(&bucket, TOKEN);
    scenarios(&s, &bucket, "wasmtime");
    s.terminate(Duration::from_secs(10));
}
