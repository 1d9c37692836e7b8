//! `spaces serve` end to end: every route through a plain HTTP client against RGW and against the embedded
//! store, the token check, a 200 MB upload in flat memory, 200 concurrent requests, backpressure, the circuit
//! breaker through an outage and back, shutdown in the middle of an upload, and the OpenAPI document.

use spaces_tests::fault_proxy::{Fault, FaultProxy};
use spaces_tests::service::{embedded_command, Answer, Service};
use spaces_tests::{pattern, sha256, Bucket};
use std::io::Read;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "test-token-0123456789abcdef";

fn on_rgw(b: &Bucket, args: &[&str]) -> Service {
    let s = Service::start(b.spaces(), TOKEN, args);
    s.wait_ready(Duration::from_secs(30));
    s
}

fn text(mut r: Answer) -> String {
    r.body_mut().with_config().limit(u64::MAX).read_to_string().expect("body")
}

fn bytes(mut r: Answer) -> Vec<u8> {
    r.body_mut().with_config().limit(u64::MAX).read_to_vec().expect("body")
}

fn json(r: Answer) -> serde_json::Value {
    let t = text(r);
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}

fn header(r: &Answer, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// A problem document with this status and type suffix.
fn problem(r: Answer, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(r.status(), status, "{}", header(&r, "content-type").unwrap_or_default());
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/problem+json"));
    let p = json(r);
    assert_eq!(p["status"], status);
    assert!(p["type"].as_str().unwrap().ends_with(kind), "{p}");
    p
}

/// Every route and its edge cases; the same checks for RGW and for the embedded store.
fn exercise_routes(s: &Service) {
    let body = pattern(100_000, 1);
    let put = s.call(
        "PUT",
        "/v1/objects/docs/caf%C3%A9%201.bin",
        &[("content-type", "application/x-test"), ("cache-control", "max-age=60"), ("x-spaces-meta-owner", "alice")],
        Some(&body),
    );
    assert_eq!(put.status(), 200);
    let stored = json(put);
    assert_eq!(stored["key"], "docs/café 1.bin");
    assert_eq!(stored["size"], 100_000);
    let etag = stored["etag"].as_str().unwrap().to_string();
    let quoted = format!("\"{etag}\"");
    let path = "/v1/objects/docs/caf%C3%A9%201.bin";

    let got = s.call("GET", path, &[], None);
    assert_eq!(got.status(), 200);
    assert_eq!(header(&got, "etag").as_deref(), Some(quoted.as_str()));
    assert_eq!(header(&got, "content-type").as_deref(), Some("application/x-test"));
    assert_eq!(header(&got, "cache-control").as_deref(), Some("max-age=60"));
    assert_eq!(header(&got, "x-spaces-meta-owner").as_deref(), Some("alice"));
    assert_eq!(bytes(got), body);

    for (range, first, last) in
        [("bytes=10-19", 10, 19), ("bytes=99990-", 99_990, 99_999), ("bytes=-7", 99_993, 99_999)]
    {
        let r = s.call("GET", path, &[("range", range)], None);
        assert_eq!(r.status(), 206, "{range}");
        assert_eq!(header(&r, "content-range").unwrap(), format!("bytes {first}-{last}/*"), "{range}");
        assert_eq!(bytes(r), &body[first..=last], "{range}");
    }
    problem(s.call("GET", path, &[("range", "bytes=5-2")], None), 416, "range-not-satisfiable");
    problem(s.call("GET", path, &[("range", "bytes=200000-")], None), 416, "range-not-satisfiable");

    let r = s.call("GET", path, &[("if-none-match", &quoted)], None);
    assert_eq!(r.status(), 304);
    assert!(bytes(r).is_empty());
    assert_eq!(s.call("GET", path, &[("if-none-match", "\"other\"")], None).status(), 200);
    problem(s.call("GET", path, &[("if-match", "\"other\"")], None), 412, "precondition-failed");
    let r = s.call("GET", path, &[("if-match", &quoted)], None);
    assert_eq!(r.status(), 200);
    assert_eq!(bytes(r).len(), 100_000);

    let h = s.call("HEAD", path, &[], None);
    assert_eq!(h.status(), 200);
    assert_eq!(header(&h, "content-length").as_deref(), Some("100000"));
    assert_eq!(header(&h, "x-spaces-meta-owner").as_deref(), Some("alice"));
    assert_eq!(s.call("HEAD", path, &[("if-none-match", &quoted)], None).status(), 304);
    assert_eq!(s.call("HEAD", path, &[("if-match", "\"other\"")], None).status(), 412);
    assert_eq!(s.call("HEAD", "/v1/objects/docs/missing", &[], None).status(), 404);

    // A key named like the batch route stays an object key for the object methods.
    assert_eq!(s.call("PUT", "/v1/objects/delete", &[], Some(b"d")).status(), 200);
    assert_eq!(bytes(s.call("GET", "/v1/objects/delete", &[], None)), b"d");

    for i in 0..5 {
        assert_eq!(s.call("PUT", &format!("/v1/objects/list/{i}.txt"), &[], Some(b"x")).status(), 200);
    }
    assert_eq!(s.call("PUT", "/v1/objects/list/sub/deep.txt", &[], Some(b"y")).status(), 200);
    let mut keys = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = json(s.call("GET", &format!("/v1/objects?prefix=list/&limit=2{cursor}"), &[], None));
        pages += 1;
        keys.extend(page["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={}", encode(c)),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(keys, ["list/0.txt", "list/1.txt", "list/2.txt", "list/3.txt", "list/4.txt", "list/sub/deep.txt"]);
    let grouped = json(s.call("GET", "/v1/objects?prefix=list/&delimiter=/", &[], None));
    assert_eq!(grouped["prefixes"], serde_json::json!(["list/sub/"]));
    assert_eq!(grouped["objects"].as_array().unwrap().len(), 5);
    problem(s.call("GET", "/v1/objects?limit=0", &[], None), 400, "invalid-argument");

    let deleted = json(s.call(
        "POST",
        "/v1/objects/delete",
        &[("content-type", "application/json")],
        Some(br#"{"keys": ["list/0.txt", "list/1.txt", "list/never-existed"]}"#),
    ));
    assert_eq!(deleted, serde_json::json!({"deleted": 3, "failed": []}));
    let left = json(s.call("GET", "/v1/objects?prefix=list/", &[], None));
    assert_eq!(left["objects"].as_array().unwrap().len(), 4);
    problem(
        s.call("POST", "/v1/objects/delete", &[("content-type", "application/json")], Some(b"{\"keys\": 3}")),
        400,
        "invalid-argument",
    );

    let signed = json(s.call(
        "POST",
        "/v1/presign",
        &[("content-type", "application/json")],
        Some(br#"{"key": "docs/caf\u00e9 1.bin", "expires": 300}"#),
    ));
    let url = signed["url"].as_str().unwrap();
    assert!(signed["expires_at"].as_u64().unwrap() > 0);
    let (status, fetched) = spaces_tests::curl("GET", url, None, &[]);
    assert_eq!((status, sha256(&fetched)), (200, sha256(&body)), "the presigned URL works without the token");
    let put_url = json(s.call(
        "POST",
        "/v1/presign",
        &[("content-type", "application/json")],
        Some(br#"{"key": "presigned-put", "method": "put"}"#),
    ));
    let file = std::env::temp_dir().join(format!("spaces-serve-presign-{}", std::process::id()));
    std::fs::write(&file, b"via presigned put").unwrap();
    let (status, _) = spaces_tests::curl("PUT", put_url["url"].as_str().unwrap(), Some(&file), &[]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(status, 200);
    assert_eq!(bytes(s.call("GET", "/v1/objects/presigned-put", &[], None)), b"via presigned put");
    problem(
        s.call("POST", "/v1/presign", &[("content-type", "application/json")], Some(br#"{"key": "k", "expires": 0}"#)),
        400,
        "invalid-argument",
    );

    let public = json(s.call("GET", "/v1/url/docs/caf%C3%A9%201.bin", &[], None));
    assert!(public["url"].as_str().unwrap().ends_with("/docs/caf%C3%A9%201.bin"), "{public}");
    let cdn = json(s.call("GET", "/v1/url/a.png?cdn=true", &[], None));
    assert!(cdn["url"].as_str().unwrap().contains(".cdn.digitaloceanspaces.com/a.png"), "{cdn}");

    for bad in ["/v1/objects/a/%2E%2E/b", "/v1/objects/a//b", "/v1/objects/a%00b", "/v1/objects/%2Fetc"] {
        problem(s.call("PUT", bad, &[], Some(b"x")), 400, "invalid-argument");
        problem(s.call("GET", bad, &[], None), 400, "invalid-argument");
    }
    problem(s.call("PUT", "/v1/objects/k", &[("x-spaces-acl", "world-writable")], Some(b"x")), 400, "invalid-argument");
    problem(s.call("GET", "/v1/nothing-here", &[], None), 404, "no-route");

    assert_eq!(s.call("DELETE", path, &[], None).status(), 204);
    assert_eq!(s.call("DELETE", path, &[], None).status(), 204, "deleting a missing key succeeds");
    problem(s.call("GET", path, &[], None), 404, "not-found");

    let log = s.log();
    assert!(log.contains("op=\"put\"") || log.contains("op=put"), "audit lines: {log}");
    assert!(log.contains(&format!("caller={}", token_id(&s.token))), "{log}");
    assert!(!log.contains(&s.token), "the token never appears in the log");
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The audit log's caller id: the first 8 hex digits of SHA-256(token).
fn token_id(token: &str) -> String {
    sha256(token.as_bytes())[..8].to_string()
}

#[test]
fn every_route_against_rgw() {
    let b = Bucket::new("serveroutes");
    let s = on_rgw(&b, &[]);
    exercise_routes(&s);
    let metrics = text(s.raw("GET", "/metrics", &[], None));
    assert!(
        metrics.contains(
            "spaces_serve_request_duration_seconds_count{method=\"PUT\",route=\"/v1/objects/{*key}\",status=\"2xx\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("spaces_operations_total{operation=\"put-object\",status=\"2xx\"}"), "{metrics}");
    assert!(s.terminate(Duration::from_secs(20)).success());
}

#[test]
fn every_route_against_the_embedded_store_with_a_generated_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Service::start(embedded_command(dir.path()), "", &[]);
    let mut printed = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(s.take_stdout().unwrap()), &mut printed).unwrap();
    let file = dir.path().join("config/spaces/token");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(printed.trim(), token, "the generated token is printed");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    s.token = token.clone();
    s.wait_ready(Duration::from_secs(30));
    exercise_routes(&s);
    assert!(s.terminate(Duration::from_secs(20)).success());
    assert!(dir.path().join("data/spaces/presigned-put").exists(), "objects live under the data directory");

    // Started again: the same token from the file, not printed a second time, and the data still there.
    let mut again = Service::start(embedded_command(dir.path()), "", &[]);
    again.token = token;
    again.wait_ready(Duration::from_secs(30));
    assert_eq!(bytes(again.call("GET", "/v1/objects/presigned-put", &[], None)), b"via presigned put");
    let stdout = again.take_stdout().unwrap();
    assert!(again.terminate(Duration::from_secs(20)).success());
    let mut rest = String::new();
    std::io::BufReader::new(stdout).read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "the token is shown only when generated");
}

#[test]
fn the_buckets_own_routes_round_trip_against_rgw_and_are_audited() {
    let b = Bucket::new("serve-settings");
    let s = on_rgw(&b, &[]);
    let ct = [("content-type", "application/json")];
    let buckets = json(s.call("GET", "/v1/buckets", &[], None));
    assert!(buckets["buckets"].as_array().unwrap().iter().any(|e| e["name"] == b.name.as_str()), "{buckets}");

    // ACL: private by default, public readable without credentials, private again not.
    assert_eq!(s.call("PUT", "/v1/objects/pub/doc.txt", &[], Some(b"open to all")).status(), 200);
    let url = json(s.call("GET", "/v1/url/pub/doc.txt", &[], None))["url"].as_str().unwrap().to_string();
    let acl = json(s.call("GET", "/v1/acl/pub/doc.txt", &[], None));
    assert_eq!((&acl["key"], &acl["acl"]), (&"pub/doc.txt".into(), &"private".into()), "{acl}");
    assert_eq!(spaces_tests::curl("GET", &url, None, &[]).0, 403);
    assert_eq!(s.call("PUT", "/v1/acl/pub/doc.txt", &ct, Some(br#"{"acl": "public"}"#)).status(), 204);
    assert_eq!(spaces_tests::curl("GET", &url, None, &[]), (200, b"open to all".to_vec()));
    let acl = json(s.call("GET", "/v1/acl/pub/doc.txt", &[], None));
    assert_eq!(acl["acl"], "public");
    assert!(acl["grants"].as_array().unwrap().iter().any(|g| g.as_str().unwrap().contains("AllUsers READ")), "{acl}");
    assert_eq!(s.call("PUT", "/v1/acl/pub/doc.txt", &ct, Some(br#"{"acl": "private"}"#)).status(), 204);
    assert_eq!(spaces_tests::curl("GET", &url, None, &[]).0, 403);
    problem(s.call("PUT", "/v1/acl/pub/doc.txt", &ct, Some(br#"{"acl": "everyone"}"#)), 400, "invalid-argument");
    problem(s.call("GET", "/v1/acl/pub/missing.txt", &[], None), 404, "not-found");

    // CORS: none, then rules in AWS's shape that a real preflight to RGW is answered by, then none again.
    assert_eq!(json(s.call("GET", "/v1/cors", &[], None)), serde_json::json!({"CORSRules": []}));
    let rules = serde_json::json!({"CORSRules": [{"AllowedOrigins": ["https://app.example"],
        "AllowedMethods": ["PUT", "POST"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 600}]});
    let set = s.call("PUT", "/v1/cors", &ct, Some(rules.to_string().as_bytes()));
    assert_eq!(set.status(), 204);
    assert_eq!(json(s.call("GET", "/v1/cors", &[], None)), rules);
    let object = format!("{}/{}/pub/doc.txt", b.rgw.endpoint, b.name);
    let preflight = |origin: &str| {
        let headers = [format!("Origin: {origin}"), "Access-Control-Request-Method: PUT".to_string()];
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        spaces_tests::curl("OPTIONS", &object, None, &headers).0
    };
    assert_eq!(preflight("https://app.example"), 200);
    assert_eq!(preflight("https://evil.example"), 403);
    let bad = serde_json::json!({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]});
    problem(s.call("PUT", "/v1/cors", &ct, Some(bad.to_string().as_bytes())), 400, "invalid-argument");
    assert_eq!(json(s.call("GET", "/v1/cors", &[], None)), rules, "a refused set changes nothing");
    // An empty list removes the rules (S3 keeps no empty configuration); removing none is no error.
    assert_eq!(s.call("PUT", "/v1/cors", &ct, Some(br#"{"CORSRules": []}"#)).status(), 204);
    assert_eq!(json(s.call("GET", "/v1/cors", &[], None)), serde_json::json!({"CORSRules": []}));
    assert_eq!(preflight("https://app.example"), 403);
    assert_eq!(s.call("DELETE", "/v1/cors", &[], None).status(), 204);

    // A browser upload form: a file posted with it is stored under the prefix; one too large is refused.
    let form = json(s.call("POST", "/v1/presign-post", &ct, Some(br#"{"key": "inbox/", "max_size": 100}"#)));
    assert_eq!(form["fields"]["key"], "inbox/${filename}");
    std::fs::write(b.path("hello.txt"), "posted").unwrap();
    std::fs::write(b.path("large.txt"), pattern(500, 2)).unwrap();
    let post = |file: &str| {
        let mut c = Command::new("curl");
        c.args(["-s", "-o", "/dev/null", "-w", "%{http_code}"]);
        for (name, value) in form["fields"].as_object().unwrap() {
            c.arg("--form-string").arg(format!("{name}={}", value.as_str().unwrap()));
        }
        c.arg("-F").arg(format!("file=@{}", b.path(file).display())).arg(form["url"].as_str().unwrap());
        String::from_utf8(spaces_tests::run(&mut c).stdout).unwrap()
    };
    assert_eq!(post("hello.txt"), "204");
    assert_eq!(post("large.txt"), "400");
    assert_eq!(bytes(s.call("GET", "/v1/objects/inbox/hello.txt", &[], None)), b"posted");
    assert_eq!(s.call("HEAD", "/v1/objects/inbox/large.txt", &[], None).status(), 404);
    problem(s.call("POST", "/v1/presign-post", &ct, Some(br#"{"key": "in/", "expires": 0}"#)), 400, "invalid-argument");
    for key in ["a/../b", "/", "/inbox/"] {
        let body = serde_json::json!({ "key": key }).to_string();
        problem(s.call("POST", "/v1/presign-post", &ct, Some(body.as_bytes())), 400, "invalid-argument");
    }

    let log = s.log();
    for op in ["acl-public", "acl-private", "cors-set", "cors-delete"] {
        assert!(log.contains(&format!("op=\"{op}\"")), "{op} audited: {log}");
    }
    assert!(s.terminate(Duration::from_secs(20)).success());
}

#[test]
fn missing_or_wrong_token_is_401_and_changes_nothing() {
    let b = Bucket::new("serveauth");
    let s = on_rgw(&b, &[]);
    assert_eq!(s.call("PUT", "/v1/objects/keep", &[], Some(b"original")).status(), 200);
    for auth in [None, Some("Bearer wrong-token"), Some("Basic dGVzdA=="), Some(&format!("Bearer {TOKEN}x")[..])] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let r = s.raw("PUT", "/v1/objects/keep", &headers, Some(b"overwritten"));
        assert_eq!(header(&r, "www-authenticate").as_deref(), Some("Bearer realm=\"spaces\""));
        assert_eq!(header(&r, "connection").as_deref(), Some("close"), "a refused upload's connection is not reused");
        problem(r, 401, "unauthorized");
        problem(s.raw("PUT", "/v1/objects/new", &headers, Some(b"x")), 401, "unauthorized");
        problem(s.raw("DELETE", "/v1/objects/keep", &headers, None), 401, "unauthorized");
        problem(s.raw("GET", "/v1/objects/keep", &headers, None), 401, "unauthorized");
        let batch = br#"{"keys": ["keep"]}"#;
        problem(s.raw("POST", "/v1/objects/delete", &headers, Some(batch)), 401, "unauthorized");
    }
    assert_eq!(bytes(s.call("GET", "/v1/objects/keep", &[], None)), b"original");
    assert_eq!(s.call("HEAD", "/v1/objects/new", &[], None).status(), 404);
    assert_eq!(s.raw("GET", "/healthz", &[], None).status(), 200, "health needs no token");
    assert!(s.log().contains("status=401"), "refused mutations are audited");
}

#[test]
fn refuses_a_public_address_without_a_configured_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = embedded_command(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("SPACES_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", spaces_tests::describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPACES_TOKEN"));
}

/// A body generated as it is sent, so the test holds no copy; hashes what it produced.
struct Generated {
    left: u64,
    state: u64,
    hash: sha2::Sha256,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = buf.len().min(self.left as usize).min(1 << 16);
        for b in &mut buf[..n] {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            *b = (self.state >> 24) as u8;
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_200_mb_upload_streams_through_in_flat_memory() {
    use sha2::Digest;
    const SIZE: u64 = 200_000_000;
    let b = Bucket::new("servelarge");
    let s = on_rgw(&b, &[]);
    let mut body = Generated { left: SIZE, state: 0x9e3779b97f4a7c15, hash: sha2::Sha256::new() };
    let req = ureq::http::Request::builder()
        .method("PUT")
        .uri(s.url("/v1/objects/large.bin"))
        .header("authorization", s.bearer())
        .header("content-length", SIZE.to_string())
        .body(ureq::SendBody::from_reader(&mut body))
        .unwrap();
    let r = s.agent.run(req).unwrap();
    assert_eq!(r.status(), 200);
    let stored = json(r);
    assert_eq!(stored["size"], SIZE);
    assert!(stored["parts"].as_u64().unwrap() >= 20, "{stored}");
    let sent: String = body.hash.finalize().iter().map(|b| format!("{b:02x}")).collect();

    let mut r = s.call("GET", "/v1/objects/large.bin", &[], None);
    assert_eq!(header(&r, "content-length").as_deref(), Some("200000000"));
    let mut reader = r.body_mut().with_config().limit(u64::MAX).reader();
    let mut hash = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        total += n as u64;
    }
    assert_eq!(total, SIZE);
    let got: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, sent);
    let peak = s.peak_rss();
    eprintln!("peak RSS of the service: {} MiB", peak >> 20);
    assert!(peak < 160 << 20, "peak RSS {} MiB for a 200 MB round trip", peak >> 20);
}

#[test]
fn two_hundred_concurrent_requests_all_succeed() {
    let b = Bucket::new("serveconc");
    let s = Arc::new(on_rgw(&b, &[]));
    let workers: Vec<_> = (0..200)
        .map(|i| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let data = pattern(16 << 10, i);
                let key = format!("/v1/objects/c/{i}");
                let put = s.call("PUT", &key, &[], Some(&data));
                assert_eq!(put.status(), 200, "PUT {i}: {}", text(put));
                let got = s.call("GET", &key, &[], None);
                assert_eq!(got.status(), 200, "GET {i}");
                assert_eq!(bytes(got), data, "GET {i}");
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let page = json(s.call("GET", "/v1/objects?prefix=c/", &[], None));
    assert_eq!(page["objects"].as_array().unwrap().len(), 200);
}

#[test]
fn beyond_its_limits_the_service_answers_503_not_memory() {
    let b = Bucket::new("serveload");
    let s = on_rgw(&b, &["--max-in-flight", "1", "--max-queued", "0", "--max-upload", "1000000"]);
    // Refused from Content-Length before the body is read (curl waits for 100-continue), and counted when the
    // body is chunked and has no length.
    let big = b.path("big");
    std::fs::write(&big, pattern(8 << 20, 3)).unwrap();
    let auth = format!("authorization: {}", s.bearer());
    let (status, body) = spaces_tests::curl("PUT", &s.url("/v1/objects/big"), Some(&big), &[&auth]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    // Just over the limit, so the client has sent it all when the answer comes (a large body would race the
    // 413 against the client's writes and end in a reset instead).
    let over = b.path("over");
    std::fs::write(&over, pattern(1_000_100, 4)).unwrap();
    let chunked = [auth.as_str(), "transfer-encoding: chunked"];
    let (status, body) = spaces_tests::curl("PUT", &s.url("/v1/objects/big"), Some(&over), &chunked);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert_eq!(s.call("HEAD", "/v1/objects/big", &[], None).status(), 404);
    drop(s);

    // A download whose client does not read holds the only slot: the object is far larger than what socket
    // buffers and the service's few queued chunks can hold, so it cannot have been sent in full.
    let s = on_rgw(&b, &["--max-in-flight", "1", "--max-queued", "0"]);
    let large = pattern(32 << 20, 5);
    assert_eq!(s.call("PUT", "/v1/objects/held", &[], Some(&large)).status(), 200);
    let held = s.call("GET", "/v1/objects/held", &[], None);
    assert_eq!(held.status(), 200);
    let refused = s.call("HEAD", "/v1/objects/held", &[], None);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("1"));
    assert_eq!(refused.status(), 503);
    problem(s.call("GET", "/v1/objects/held", &[], None), 503, "overloaded");
    assert_eq!(sha256(&bytes(held)), sha256(&large));
    assert_eq!(s.call("HEAD", "/v1/objects/held", &[], None).status(), 200, "the slot is free again");
    drop(s);

    // A client that stops reading is cut off after --client-stall, and its slot serves others again.
    let s = on_rgw(&b, &["--max-in-flight", "1", "--max-queued", "4", "--client-stall", "1"]);
    let mut stalled = s.call("GET", "/v1/objects/held", &[], None);
    let started = Instant::now();
    assert_eq!(s.call("HEAD", "/v1/objects/held", &[], None).status(), 200, "queued until the stall timed out");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(10), "{waited:?}");
    let mut rest = Vec::new();
    let cut = stalled.body_mut().with_config().limit(u64::MAX).reader().read_to_end(&mut rest);
    assert!(cut.is_err() || rest.len() < large.len(), "a stalled download must not look complete");
}

#[test]
fn the_breaker_opens_in_an_outage_and_the_service_recovers_by_itself() {
    let b = Bucket::new("servebreaker");
    let down = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&down);
    let upstream = b.rgw.endpoint.trim_start_matches("http://").to_string();
    let proxy =
        FaultProxy::start(&upstream, move |_, _| if flag.load(Ordering::Relaxed) { Fault::Reset } else { Fault::Pass });
    let mut cmd = b.spaces();
    cmd.env("SPACES_ENDPOINT", &proxy.endpoint);
    let s = Service::start(cmd, TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    assert_eq!(s.call("PUT", "/v1/objects/k", &[], Some(b"v")).status(), 200);

    down.store(true, Ordering::Relaxed);
    let outage = Instant::now();
    let mut statuses = Vec::new();
    loop {
        let r = s.call("GET", "/v1/objects/k", &[], None);
        let status = r.status().as_u16();
        statuses.push(status);
        if status == 503 {
            assert!(header(&r, "retry-after").is_some());
            problem(r, 503, "circuit-open");
            break;
        }
        assert!(outage.elapsed() < Duration::from_secs(60), "the circuit never opened: {statuses:?}");
    }
    let ready = s.raw("GET", "/readyz", &[], None);
    assert_eq!(ready.status(), 503);
    let ready = json(ready);
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["circuits"][0]["state"], "open", "{ready}");
    let metrics = text(s.raw("GET", "/metrics", &[], None));
    assert!(metrics.contains("spaces_circuit_state{authority=") && metrics.contains("} 2\n"), "{metrics}");

    down.store(false, Ordering::Relaxed);
    let back = Instant::now();
    s.wait_ready(Duration::from_secs(30));
    let recovery = back.elapsed();
    assert!(recovery < Duration::from_secs(30), "recovered in {recovery:?}");
    assert_eq!(bytes(s.call("GET", "/v1/objects/k", &[], None)), b"v");
    eprintln!("circuit opened after {statuses:?}; recovered {recovery:?} after the upstream returned");
}

#[test]
fn shutdown_in_the_middle_of_an_upload_leaves_no_object_and_no_parts() {
    let b = Bucket::new("serveshutdown");
    let s = on_rgw(&b, &["--shutdown-grace", "1"]);
    let url = s.url("/v1/objects/interrupted.bin");
    let bearer = s.bearer();
    let agent = s.agent.clone();
    let uploader = std::thread::spawn(move || {
        // 40 MB at about 4 MB/s: still going when the service is told to stop.
        struct Slow(Generated);
        impl Read for Slow {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::thread::sleep(Duration::from_millis(16));
                self.0.read(buf)
            }
        }
        use sha2::Digest;
        let mut body = Slow(Generated { left: 40_000_000, state: 7, hash: sha2::Sha256::new() });
        let req = ureq::http::Request::builder()
            .method("PUT")
            .uri(url)
            .header("authorization", bearer)
            .header("content-length", "40000000")
            .body(ureq::SendBody::from_reader(&mut body))
            .unwrap();
        agent.run(req).map(|r| r.status().as_u16()).ok()
    });
    std::thread::sleep(Duration::from_secs(3));
    let status = s.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let answered = uploader.join().unwrap();
    assert_ne!(answered, Some(200), "the upload cannot have finished");
    b.fails(&["head", "interrupted.bin"], 3);
    let uploads = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
    assert!(!uploads.contains("interrupted.bin"), "multipart upload left behind:\n{uploads}");
}

#[test]
fn the_openapi_document_is_valid_and_every_route_in_it_answers() {
    let b = Bucket::new("serveopenapi");
    let s = on_rgw(&b, &[]);
    let r = s.raw("GET", "/openapi.json", &[], None);
    assert_eq!(r.status(), 200);
    let doc = text(r);
    let file = b.path("openapi.json");
    std::fs::write(&file, &doc).unwrap();
    let python = std::env::var("SPACES_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python).args(["-m", "openapi_spec_validator"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "openapi-spec-validator ({python}): {}", spaces_tests::describe(&out));
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{key}", "openapi-probe")
                .replace("{id}", "19f06b6a-3ace-4315-b086-000000000000")
                .replace("{access_key}", "DOPROBEKEY")
                .replace("{upload_id}", "2~probe");
            let r = s.call(&method.to_uppercase(), &concrete, &[("content-type", "application/json")], Some(b"{}"));
            let status = r.status().as_u16();
            let body = text(r);
            assert!(
                status != 405 && !body.contains("no-route"),
                "{method} {path} is documented but not routed: {status}"
            );
            operations += 1;
        }
    }
    assert_eq!(operations, 33);
}
