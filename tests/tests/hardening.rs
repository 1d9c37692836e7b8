//! Defects found by probing the product from outside, each with the probe that found it: one request must not take
//! the service down, a fault must not leave parts behind, a slow or idle client must not hold resources, hostile
//! keys and odd files must not stop a batch, and no log may carry a signature.

use spaces_tests::service::{embedded_command, Answer, Service};
use std::time::Duration;

const TOKEN: &str = "hardening-token-0123456789";

fn json(mut r: Answer) -> serde_json::Value {
    serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
}

/// s3s-fs panics on a multi-byte delimiter and cannot store a key segment longer than a file name: each was
/// retried until the breaker opened, and then every route answered 503 for 10 s. Now the embedded store refuses
/// both with a 400, and what one caller's request does never opens the circuit for the others.
#[test]
fn one_request_does_not_take_the_service_down() {
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    assert_eq!(s.call("PUT", "/v1/objects/dir/%C3%AC.txt", &[], Some(b"x")).status(), 200);
    let long = format!("/v1/objects/dir/{}", "a".repeat(300));
    for _ in 0..3 {
        let listed = s.call("GET", "/v1/objects?delimiter=%C3%AC", &[], None);
        assert_eq!(listed.status(), 400, "a delimiter the embedded store cannot take");
        assert_eq!(json(listed)["type"], "urn:spaces:problem:invalid-argument");
        let stored = s.call("PUT", &long, &[], Some(b"x"));
        assert_eq!(stored.status(), 400, "a segment longer than a file name");
        assert!(json(stored)["detail"].as_str().unwrap().contains("300 bytes"));
    }
    let ready = s.raw("GET", "/readyz", &[], None);
    assert_eq!(ready.status(), 200, "still ready");
    assert_eq!(json(ready)["circuits"], serde_json::json!([]));
    assert_eq!(s.call("GET", "/v1/objects?delimiter=/", &[], None).status(), 200, "and serving");
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// Does the server close `stream` (EOF, or a reset) before `within` runs out?
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// A PUT that declares 1000 bytes, sends 10 and stops held its slot for ever; with one slot, every other request
/// then waited 30 s and got 503. Now the body has the same stall limit as a download: 408, and the slot is free.
#[test]
fn a_stalled_upload_body_is_cut_off_and_frees_its_slot() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &["--client-stall", "2", "--max-in-flight", "1"]);
    let mut stalled = s.connect();
    stalled.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "PUT /v1/objects/stalled HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).unwrap();
    stalled.write_all(b"0123456789").unwrap();
    assert_eq!(spaces_tests::read_status(&stalled), Some(408), "the stalled upload is answered");
    let other = s.call("PUT", "/v1/objects/other", &[], Some(b"fine"));
    assert_eq!(other.status(), 200, "the slot is free again");
    assert_eq!(s.call("HEAD", "/v1/objects/stalled", &[], None).status(), 404, "nothing was stored");
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// axum::serve set no timer: a connection that sends half a request head, or sits idle after a request, stayed
/// open for ever (130 s and counting), and there was no cap on connections. Now both are closed after
/// --header-timeout, and at most --max-connections are open at once.
#[test]
fn slow_and_idle_connections_are_closed_and_capped() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let args = ["--header-timeout", "2", "--max-connections", "2"];
    let s = Service::start(embedded_command(dir.path()), TOKEN, &args);
    let mut slowloris = s.connect();
    slowloris.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut idle = s.connect();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(spaces_tests::read_status(&idle), Some(200));
    // Both slots are taken: a third client waits in the backlog until the server closes the other two.
    let third = std::thread::spawn({
        let base = s.base.clone();
        move || ureq::get(format!("{base}/healthz")).call().map(|r| r.status().as_u16())
    });
    assert!(closed_within(&mut slowloris, Duration::from_secs(15)), "a half-sent head is cut off");
    assert!(closed_within(&mut idle, Duration::from_secs(15)), "an idle kept-alive connection is closed");
    assert_eq!(third.join().unwrap().unwrap(), 200, "the waiting client is served once a slot frees");
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// The embedded store's s3s logged each request's Authorization header at debug and trace; a logged signature
/// replays its request for 15 minutes. No log line carries one, at any level.
#[test]
fn no_log_carries_a_signature_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = embedded_command(dir.path());
    command.env("SPACES_LOG", "trace");
    let s = Service::start(command, TOKEN, &[]);
    assert_eq!(s.call("PUT", "/v1/objects/k", &[], Some(b"v")).status(), 200);
    assert_eq!(s.call("GET", "/v1/objects/k", &[], None).status(), 200);
    let log = s.log();
    assert!(log.lines().count() > 10, "trace logging is on: {log}");
    for secret in ["Signature=", "AWS4-HMAC-SHA256 Credential", TOKEN] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// With `../etc/passwd` in the bucket, `get -r` refused the whole listing and wrote nothing. Now the hostile key
/// is reported and skipped, every other object downloads, and the exit code says something failed.
#[test]
fn one_hostile_key_does_not_stop_get_recursive() {
    let b = spaces_tests::Bucket::new("hostile");
    std::fs::write(b.path("hi.txt"), b"hello").unwrap();
    let local = b.path("hi.txt");
    let local = local.to_str().unwrap();
    for key in ["../etc/passwd", "docs/a.txt", "docs/b.txt"] {
        b.s3cmd_ok(&["put", local, &format!("s3://{}/{key}", b.name)]);
    }
    let err = b.fails(&["get", "-r", "", "out"], 1);
    assert!(err.contains("\"../etc/passwd\"") && err.contains("cannot be a local file name"), "{err}");
    assert!(err.contains("1 of 3 files failed"), "{err}");
    for name in ["a.txt", "b.txt"] {
        assert_eq!(std::fs::read(b.path(&format!("out/docs/{name}"))).unwrap(), b"hello");
    }
    assert!(!b.path("etc").exists() && !b.dir.path().parent().unwrap().join("etc/passwd").exists());
}

/// A FIFO was uploaded with the size `stat` gives it (0), and failed with "the body ended after 9 of 0 declared
/// bytes". A file that is not a regular file is a stream of unknown length, like stdin.
#[test]
fn a_fifo_uploads_as_a_stream() {
    let b = spaces_tests::Bucket::new("fifo");
    let fifo = b.path("p");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::write(fifo, b"fifo data").unwrap()
    });
    let out = b.ok(&["put", "p", "from-fifo"]);
    writer.join().unwrap();
    assert!(out.contains("uploaded from-fifo (9 bytes"), "{out}");
    let got = b.path("got");
    b.s3cmd_ok(&["get", &format!("s3://{}/from-fifo", b.name), got.to_str().unwrap()]);
    assert_eq!(std::fs::read(got).unwrap(), b"fifo data");
}

/// A client that read only the headers of a GET and left made the service log "integrity check failed … gave
/// up after 5 resumes" and send five more ranged GETs upstream: a departed client looked like a broken upstream.
#[test]
fn a_client_that_leaves_mid_download_is_not_a_broken_upstream() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &[]);
    let big = spaces_tests::pattern(24 << 20, 7);
    assert_eq!(s.call("PUT", "/v1/objects/big", &[], Some(&big)).status(), 200);
    let gets = |s: &Service| {
        let metrics = s.raw("GET", "/metrics", &[], None).into_body().read_to_string().unwrap();
        let line = metrics.lines().find(|l| l.starts_with("spaces_operations_total{operation=\"get-object\""));
        line.map(|l| l.rsplit(' ').next().unwrap().to_string())
    };
    let mut leaver = s.connect();
    let head = format!("GET /v1/objects/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    leaver.write_all(head.as_bytes()).unwrap();
    assert_eq!(spaces_tests::read_status(&leaver), Some(200));
    drop(leaver);
    std::thread::sleep(Duration::from_secs(3));
    let log = s.log();
    assert!(!log.contains("integrity") && !log.contains("resumes"), "{log}");
    assert_eq!(gets(&s).as_deref(), Some("1"), "one GET upstream, no resumes");
    assert_eq!(s.call("GET", "/v1/objects/big", &[("range", "bytes=18446744073709551615-")], None).status(), 416);
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// Runs Schemathesis against the service `s` with `selection` (which operations), and returns its report; it
/// must find nothing.
fn schemathesis(s: &Service, selection: &[&str]) -> String {
    let examples = std::env::var("SPACES_FUZZ_EXAMPLES").unwrap_or_else(|_| "40".into());
    let python = std::path::PathBuf::from(std::env::var("SPACES_TEST_PYTHON").expect("SPACES_TEST_PYTHON"));
    let schemathesis = python.with_file_name("schemathesis");
    let out = std::process::Command::new(schemathesis)
        .arg("run")
        .arg(s.url("/openapi.json"))
        .args(["-H", &format!("Authorization: {}", s.bearer())])
        .args(["--checks", "not_a_server_error,status_code_conformance"])
        .args(["--max-examples", &examples, "--generation-deterministic", "--request-timeout", "30"])
        .args(selection)
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis (installed by tests/scripts/setup.sh)");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = report.lines().filter(|l| l.contains("generated") || l.contains("passed")).collect::<Vec<_>>();
    eprintln!("schemathesis: {summary:?}");
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    report
}

/// Schemathesis generates requests from the served OpenAPI document (every operation, its parameters, bodies
/// and their edge cases, then stateful sequences) and fails on any 5xx and on any status the document does not
/// list. Bounded: a fixed number of examples per operation, deterministic, a few minutes at most in CI;
/// `SPACES_FUZZ_EXAMPLES=N` (default 40) runs a deeper probe on demand. The embedded store (s3s-fs) has no
/// multipart listing, ACLs or CORS rules, so those routes answer 501 there by design; they are probed against RGW.
#[test]
fn schemathesis_finds_no_server_error_and_no_undocumented_status() {
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &[]);
    let report = schemathesis(&s, &["--exclude-path-regex", "^/v1/(uploads|acl|cors)"]);
    assert!(report.contains("25 selected / 32 total"), "every other operation was tested: {report}");
    assert!(s.terminate(Duration::from_secs(30)).success());

    let b = spaces_tests::Bucket::new("fuzz");
    let s = Service::start(b.spaces(), TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    // Those, and the listing, whose prefix RGW echoes: a NUL in it once made the uploads listing unreadable.
    let report = schemathesis(&s, &["--include-path-regex", "^/v1/(uploads|acl|cors|objects$)"]);
    assert!(report.contains("8 selected / 32 total"), "the store's own routes, on RGW: {report}");
    assert!(s.terminate(Duration::from_secs(30)).success());
}

/// The MCP SDK's transport said nothing to a line that is not JSON, and answered `"arguments": [1]` with
/// "method not found". Clients are owed a parse error (-32700) and invalid params (-32602); the server carries on.
#[test]
fn mcp_answers_malformed_lines_with_json_rpc_errors() {
    use std::io::{BufRead, Write};
    let b = spaces_tests::Bucket::new("mcpframing");
    let mut child = b
        .spaces()
        .arg("mcp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut exchange = |line: &str| {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        serde_json::from_str::<serde_json::Value>(&answer).unwrap()
    };
    let parse = exchange("this is not json");
    assert_eq!((parse["error"]["code"].as_i64(), parse["id"].is_null()), (Some(-32700), true), "{parse}");
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"head_object","arguments":[1]}}"#;
    let invalid = exchange(call);
    assert_eq!((invalid["error"]["code"].as_i64(), invalid["id"].as_i64()), (Some(-32602), Some(5)), "{invalid}");
    let init = concat!(
        r#"{"jsonrpc":"2.0","id":6,"method":"initialize","params":{"protocolVersion":"2025-06-18","#,
        r#""capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#
    );
    let ready = exchange(init);
    assert_eq!(ready["id"], 6, "the server still answers: {ready}");
    assert!(ready["result"]["serverInfo"].is_object(), "{ready}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// `--endpoint ftp://…` or a port past 65535 said "exit 1", as if something had broken; it is the user's input to
/// correct: exit 2, with the reason. And a key rotation without a DigitalOcean token answered 502 with its reason
/// said twice, where every sibling key route answers 403.
#[test]
fn bad_input_is_the_users_to_correct_and_says_so_once() {
    let b = spaces_tests::Bucket::new("badinput");
    for endpoint in ["ftp://example.com", "http://127.0.0.1:99999"] {
        let out = b.spaces().env("SPACES_ENDPOINT", endpoint).args(["ls"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {}", spaces_tests::describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("endpoint"), "{}", spaces_tests::describe(&out));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut command = embedded_command(dir.path());
    command.env_remove("DIGITALOCEAN_TOKEN");
    let s = Service::start(command, TOKEN, &[]);
    for (method, path) in [("POST", "/v1/keys/DO1234567890ABCDEFGH/rotate"), ("GET", "/v1/keys/DO1234567890ABCDEFGH")] {
        let r = s.call(method, path, &[], None);
        assert_eq!(r.status(), 403, "{method} {path}");
        let detail = json(r)["detail"].as_str().unwrap().to_string();
        assert_eq!(detail.matches("DigitalOcean API token").count(), 1, "said once: {detail}");
    }
    assert!(s.terminate(Duration::from_secs(30)).success());
}
