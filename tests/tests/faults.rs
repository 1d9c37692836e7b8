//! Transient faults between the component and RGW, injected by a loopback proxy: retries with backoff, resumed
//! downloads, clear errors when the budget runs out, and no multipart upload left behind after a failure.

use spaces_tests::fault_proxy::{Fault, FaultProxy, Seen};
use spaces_tests::{interrupt, pattern, sha256, Bucket};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

fn via(b: &Bucket, proxy: &FaultProxy, args: &[&str]) -> Output {
    b.spaces().env("SPACES_ENDPOINT", &proxy.endpoint).args(args).output().unwrap()
}

fn upstream(b: &Bucket) -> String {
    b.rgw.endpoint.trim_start_matches("http://").to_string()
}

#[test]
fn upload_survives_slowdown_and_a_reset() {
    let b = Bucket::new("faultput");
    let data = pattern(200_000, 11);
    std::fs::write(b.path("f"), &data).unwrap();
    let proxy = FaultProxy::start(&upstream(&b), |_, i| match i {
        0 => Fault::SlowDown,
        1 => Fault::Reset,
        _ => Fault::Pass,
    });
    let out = via(&b, &proxy, &["put", "f", "k", "--print-metrics"]);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let metrics = String::from_utf8_lossy(&out.stderr);
    assert!(metrics.contains("spaces_operation_retries_total{operation=\"put-object\",status=\"2xx\"} 2"), "{metrics}");
    assert_eq!(proxy.seen().len(), 3);
    b.ok(&["get", "k", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data));
}

#[test]
fn download_resumes_after_a_truncated_body() {
    let b = Bucket::new("faultget");
    let data = pattern(3 << 20, 12);
    std::fs::write(b.path("f"), &data).unwrap();
    b.ok(&["put", "f", "big"]);
    let proxy = FaultProxy::start(&upstream(&b), |_, i| if i == 0 { Fault::Truncate(1 << 20) } else { Fault::Pass });
    let out = via(&b, &proxy, &["get", "big", "out", "--print-metrics"]);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert_eq!(sha256(&std::fs::read(b.path("out")).unwrap()), sha256(&data));
    let metrics = String::from_utf8_lossy(&out.stderr);
    assert!(metrics.contains(&format!("spaces_transferred_bytes_total {}\n", 3 << 20)), "{metrics}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].header("range"), Some(format!("bytes=1048576-{}", (3 << 20) - 1).as_str()));
    assert!(seen[1].header("if-match").is_some(), "a resume is pinned to the ETag");
}

#[test]
fn a_download_that_keeps_breaking_fails_and_leaves_no_file() {
    let b = Bucket::new("faultgetfail");
    std::fs::write(b.path("f"), pattern(100_000, 13)).unwrap();
    b.ok(&["put", "f", "obj"]);
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::Truncate(10));
    let out = via(&b, &proxy, &["get", "obj", "out"]);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("integrity") && err.contains("broke off"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(b.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("out")), "{leftovers:?}");
}

#[test]
fn persistent_slowdown_exhausts_the_retry_budget() {
    let b = Bucket::new("faultbudget");
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::SlowDown);
    let out = via(&b, &proxy, &["ls", "--print-metrics"]);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("throttled"), "{}", spaces_tests::describe(&out));
    assert_eq!(proxy.seen().len(), 5, "five attempts in all");
    let authority = proxy.endpoint.trim_start_matches("http://");
    assert!(
        err.contains(&format!("spaces_circuit_state{{authority=\"{authority}\"}} 0")),
        "throttling is not an outage: the circuit stays closed: {err}"
    );
}

#[test]
fn client_errors_are_not_retried() {
    let b = Bucket::new("faultnoretry");
    std::fs::write(b.path("f"), b"abc").unwrap();
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::BadDigest);
    let out = via(&b, &proxy, &["put", "f", "k"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("integrity"), "{}", spaces_tests::describe(&out));
    assert_eq!(proxy.seen().len(), 1);
}

#[test]
fn a_part_reset_midway_and_then_throttled_is_retried_and_the_upload_completes() {
    let b = Bucket::new("faultpart");
    let data = pattern((12 << 20) + 777, 19);
    std::fs::write(b.path("f"), &data).unwrap();
    let part2 = std::sync::atomic::AtomicUsize::new(0);
    let proxy = FaultProxy::start(&upstream(&b), move |seen, _| {
        if !seen.line.contains("partNumber=2&") {
            return Fault::Pass;
        }
        match part2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => Fault::ResetMidBody,
            1 => Fault::SlowDown,
            _ => Fault::Pass,
        }
    });
    let args = ["put", "f", "mp", "--multipart-threshold", FIVE_MIB, "--part-size", FIVE_MIB, "-j", "2"];
    let out = via(&b, &proxy, &[&args[..], &["--print-metrics"]].concat());
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 parts"), "{}", spaces_tests::describe(&out));
    let metrics = String::from_utf8_lossy(&out.stderr);
    assert!(
        metrics.contains("spaces_operation_retries_total{operation=\"upload-part\",status=\"2xx\"} 2"),
        "{metrics}"
    );
    let size = data.len();
    assert!(
        metrics.contains(&format!("spaces_transferred_bytes_total {size}\n")),
        "retried bytes counted once: {metrics}"
    );
    let part2_attempts = proxy.seen().iter().filter(|s| s.line.contains("partNumber=2&")).count();
    assert_eq!(part2_attempts, 3);
    b.ok(&["get", "mp", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data));
    let uploads = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
    assert!(!uploads.contains("mp"), "no upload left: {uploads}");
}

#[test]
fn a_failed_multipart_upload_is_aborted() {
    let b = Bucket::new("faultabort");
    std::fs::write(b.path("f"), pattern(11 << 20, 14)).unwrap();
    // The second part is rejected for good; everything else goes through.
    let proxy = FaultProxy::start(&upstream(&b), |seen, _| {
        if seen.line.contains("partNumber=2&") {
            Fault::BadDigest
        } else {
            Fault::Pass
        }
    });
    let out = via(&b, &proxy, &["put", "f", "mp", "--multipart-threshold", "5242880", "--part-size", "5242880"]);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let seen = proxy.seen();
    let abort = seen.iter().find(|s| s.line.starts_with("DELETE ") && s.line.contains("uploadId=")).is_some();
    assert!(abort, "abort was sent: {seen:?}");
    let uploads = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
    assert!(!uploads.contains("mp"), "no upload left: {uploads}");
    b.fails(&["exists", "mp"], 3);
}

#[test]
fn a_failing_destination_is_not_mistaken_for_a_broken_connection() {
    let b = Bucket::new("faultsink");
    std::fs::write(b.path("f"), pattern(2 << 20, 15)).unwrap();
    b.ok(&["put", "f", "obj"]);
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::Pass);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out =
        b.spaces().env("SPACES_ENDPOINT", &proxy.endpoint).args(["get", "obj", "-"]).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writing the download"), "{}", spaces_tests::describe(&out));
    assert_eq!(proxy.seen().len(), 1, "no resume when the sink is what failed");
}

fn spawn_via(b: &Bucket, proxy: &FaultProxy, args: &[&str]) -> Child {
    b.spaces()
        .env("SPACES_ENDPOINT", &proxy.endpoint)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to 20 s for the proxy to see a request `matches` accepts.
fn wait_for_request(proxy: &FaultProxy, matches: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !proxy.seen().iter().any(&matches) {
        assert!(Instant::now() < deadline, "the request never came: {:?}", proxy.seen());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_aborted(b: &Bucket, proxy: &FaultProxy, key: &str) {
    let seen = proxy.seen();
    assert!(seen.iter().any(|s| s.line.starts_with("DELETE ") && s.line.contains("uploadId=")), "abort sent: {seen:?}");
    let uploads = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
    assert!(!uploads.contains(key), "no upload left: {uploads}");
    b.fails(&["exists", key], 3);
}

const FIVE_MIB: &str = "5242880";

#[test]
fn ctrl_c_aborts_a_multipart_upload_with_parts_in_flight() {
    let b = Bucket::new("faultintr");
    std::fs::write(b.path("f"), pattern(16 << 20, 16)).unwrap();
    let proxy =
        FaultProxy::start(
            &upstream(&b),
            |seen, _| {
                if seen.line.contains("partNumber=") {
                    Fault::Stall
                } else {
                    Fault::Pass
                }
            },
        );
    let child = spawn_via(&b, &proxy, &["put", "f", "mp", "--multipart-threshold", FIVE_MIB, "--part-size", FIVE_MIB]);
    wait_for_request(&proxy, |s| s.line.contains("partNumber="));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(130), "{}", spaces_tests::describe(&out));
    assert_aborted(&b, &proxy, "mp");
}

#[test]
fn ctrl_c_while_waiting_for_stdin_aborts_the_upload() {
    let b = Bucket::new("faultintrstdin");
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::Pass);
    let mut child =
        spawn_via(&b, &proxy, &["put", "-", "mp", "--multipart-threshold", FIVE_MIB, "--part-size", FIVE_MIB]);
    // More than the threshold, so the upload is multipart, then the pipe stays open and silent.
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &pattern(6 << 20, 17)).unwrap();
    wait_for_request(&proxy, |s| s.line.contains("partNumber=1&"));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(130), "{}", spaces_tests::describe(&out));
    assert_aborted(&b, &proxy, "mp");
}

#[test]
fn a_file_that_shrinks_during_upload_is_reported_and_aborted() {
    let b = Bucket::new("faultshrink");
    std::fs::write(b.path("f"), pattern(30 << 20, 18)).unwrap();
    // The first part is answered late, giving the test time to truncate the file behind the reader.
    let proxy = FaultProxy::start(&upstream(&b), |seen, _| {
        if seen.line.contains("partNumber=1&") {
            Fault::Delay(1500)
        } else {
            Fault::Pass
        }
    });
    let child = spawn_via(
        &b,
        &proxy,
        &["put", "f", "mp", "--multipart-threshold", FIVE_MIB, "--part-size", FIVE_MIB, "-j", "1"],
    );
    wait_for_request(&proxy, |s| s.line.contains("partNumber=1&"));
    std::fs::OpenOptions::new().write(true).open(b.path("f")).unwrap().set_len(6 << 20).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("integrity") && err.contains("of 31457280 declared bytes"), "{err}");
    assert_aborted(&b, &proxy, "mp");
}

#[test]
fn put_recursive_reports_the_files_that_failed_and_uploads_the_rest() {
    let b = Bucket::new("faulttree");
    std::fs::create_dir_all(b.path("t/sub")).unwrap();
    for name in ["a", "b", "sub/c"] {
        std::fs::write(b.path(&format!("t/{name}")), name).unwrap();
    }
    let proxy = FaultProxy::start(&upstream(&b), |seen, _| {
        if seen.line.starts_with("PUT ") && seen.line.contains("/p/b") {
            Fault::BadDigest
        } else {
            Fault::Pass
        }
    });
    let out = via(&b, &proxy, &["put", "-r", "t", "p"]);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("t/b: integrity") && err.contains("1 of 3 files failed"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("uploaded 2 of 3 files"), "{}", spaces_tests::describe(&out));
    assert_eq!(b.ok(&["exists", "p/sub/c"]).trim(), "true");
    b.fails(&["exists", "p/b"], 3);
}

#[test]
fn the_circuit_opens_after_consecutive_failures_and_later_files_fail_fast() {
    let b = Bucket::new("faultbreaker");
    std::fs::create_dir_all(b.path("t")).unwrap();
    for i in 0..12 {
        std::fs::write(b.path(&format!("t/f{i:02}")), [i as u8]).unwrap();
    }
    // A port nobody listens on: every connection is refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let endpoint = format!("http://{dead}");
    let out = b
        .spaces()
        .env("SPACES_ENDPOINT", &endpoint)
        .args(["put", "-r", "t", "p", "-j", "1", "--print-metrics"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("12 of 12 files failed"), "{err}");
    // Each of the first four files spends its retry budget (5 refused connections, counted once: one call's
    // retries are one caller's bad luck). The fifth file's first refusal makes five different calls failed in a
    // row, an outage: the circuit opens, its retry and the seven files after it never reach the network.
    for f in ["f00", "f01", "f02", "f03"] {
        assert!(err.contains(&format!("t/{f}: connection failed")), "{err}");
    }
    assert_eq!(err.matches(": circuit open").count(), 8, "{err}");
    assert!(err.contains("5 different requests failed in a row"), "{err}");
    assert!(err.contains(&format!("spaces_circuit_state{{authority=\"{dead}\"}} 2")), "{err}");
    assert!(err.contains(&format!("spaces_circuit_rejected_total{{authority=\"{dead}\"}} 8")), "{err}");
}

#[test]
fn a_slow_upload_is_not_cut_off_by_the_answer_timeout() {
    let b = Bucket::new("faultslow");
    let data = pattern(24 << 20, 20);
    std::fs::write(b.path("f"), &data).unwrap();
    // One 24 MiB PUT read by the server at 64 KiB per 10 ms: it takes about 4 s to arrive, longer than the 3 s
    // allowed for the answer. The limit must start when the body has gone out (socket buffers hold part of it,
    // so the answer still comes well within 3 s after that), not when the request starts.
    let proxy =
        FaultProxy::start(
            &upstream(&b),
            |seen, _| {
                if seen.line.starts_with("PUT ") {
                    Fault::SlowBody(10)
                } else {
                    Fault::Pass
                }
            },
        );
    let out = via(&b, &proxy, &["put", "f", "slow", "--timeout", "3", "--multipart-threshold", "33554432"]);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert_eq!(proxy.seen().iter().filter(|s| s.line.starts_with("PUT ")).count(), 1, "no retry was needed");
    b.ok(&["get", "slow", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data));
}

#[test]
fn a_server_that_never_answers_times_out_after_the_body_is_sent() {
    let b = Bucket::new("faultanswer");
    std::fs::write(b.path("f"), b"abc").unwrap();
    let proxy = FaultProxy::start(&upstream(&b), |_, _| Fault::Stall);
    let started = Instant::now();
    let out = via(&b, &proxy, &["put", "f", "k", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("timed out"), "{}", spaces_tests::describe(&out));
    assert_eq!(proxy.seen().len(), 5, "each attempt timed out and was retried");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

/// `put` of the 12 MiB file `f` in three parts, all in flight at once.
const THREE_PARTS: [&str; 9] =
    ["put", "f", "mp", "--multipart-threshold", FIVE_MIB, "--part-size", FIVE_MIB, "-j", "3"];

/// Runs [`THREE_PARTS`] through `proxy`, which must make it fail with exit code 1; returns its stderr.
fn put_three_parts_fails(b: &Bucket, proxy: &FaultProxy) -> String {
    let out = via(b, proxy, &THREE_PARTS);
    assert_eq!(out.status.code(), Some(1), "{}", spaces_tests::describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parts go out before their MD5 is known, unsigned, over loopback (and HTTPS); the server's ETag for each must be
/// the MD5 computed while it was on the wire. A part altered on the way is stored as altered: the ETag check must
/// fail the upload, which is then aborted, and no object appears.
#[test]
fn a_part_altered_on_the_way_fails_the_upload_and_nothing_is_left() {
    let b = Bucket::new("faultcorrupt");
    std::fs::write(b.path("f"), pattern((12 << 20) + 5, 23)).unwrap();
    let proxy = FaultProxy::start(&upstream(&b), |seen, _| {
        if seen.line.contains("partNumber=2&") {
            Fault::Corrupt
        } else {
            Fault::Pass
        }
    });
    let err = put_three_parts_fails(&b, &proxy);
    assert!(err.contains("integrity") && err.contains("is not the MD5 of the bytes sent"), "{err}");
    let parts: Vec<_> = proxy.seen().into_iter().filter(|s| s.line.contains("partNumber=")).collect();
    assert_eq!(parts.len(), 3, "each part sent once: {parts:?}");
    for p in &parts {
        assert_eq!(p.header("content-md5"), None, "over loopback a part is sent before it is hashed");
        assert_eq!(p.header("x-amz-content-sha256"), Some("UNSIGNED-PAYLOAD"));
    }
    assert!(proxy.seen().iter().any(|s| s.line.starts_with("DELETE ") && s.line.contains("uploadId=")), "aborted");
    let uploads = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
    assert!(!uploads.contains("mp"), "no upload left: {uploads}");
    b.fails(&["head", "mp"], 3);
}

/// Over plain HTTP beyond loopback anyone on the path could alter a body, so every part is hashed first and
/// carries a signed Content-MD5, which the server checks: an altered part is refused, not stored.
#[test]
fn beyond_loopback_over_http_every_part_carries_a_signed_content_md5() {
    // The machine's own non-loopback address (the one its default route would use); no packet is sent.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    probe.connect("192.0.2.1:9").expect("a machine with a non-loopback IPv4 address");
    let ip = probe.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    let b = Bucket::new("faultmd5");
    let data = pattern((12 << 20) + 5, 29);
    std::fs::write(b.path("f"), &data).unwrap();
    let corrupt = std::sync::atomic::AtomicBool::new(false);
    let proxy = FaultProxy::start_on(ip, &upstream(&b), move |seen, _| {
        let second = seen.line.contains("partNumber=2&");
        if second && !corrupt.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Fault::Corrupt
        } else {
            Fault::Pass
        }
    });
    let err = put_three_parts_fails(&b, &proxy);
    assert!(err.contains("Content-MD5 mismatch"), "RGW refused the altered part: {err}");
    // Unaltered, the same upload goes through, each part with its MD5 signed.
    let out = via(&b, &proxy, &THREE_PARTS);
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let parts: Vec<_> = proxy.seen().into_iter().filter(|s| s.line.contains("partNumber=")).collect();
    assert_eq!(parts.len(), 6, "{parts:?}");
    for p in &parts {
        assert!(p.header("content-md5").is_some_and(|v| v.len() == 24), "{p:?}");
        let auth = p.header("authorization").unwrap_or_default();
        assert!(auth.contains("SignedHeaders=") && auth.contains("content-md5"), "{auth}");
    }
    b.ok(&["get", "mp", "back"]);
    assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data));
}
