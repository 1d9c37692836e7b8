//! A real outage: the tests' own radosgw SIGKILLed (by its pid file) in the middle of a multipart upload, then
//! started again on the same cluster. Through the CLI and through the service: the upload fails clearly or
//! succeeds whole (SHA-256), no incomplete multipart upload is left behind, and the service is ready again within
//! 30 s of RGW's return. A test binary of its own, so nothing else runs while RGW is down.

use spaces_tests::fault_proxy::{Fault, FaultProxy};
use spaces_tests::service::Service;
use spaces_tests::{pattern, sha256, Bucket};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "restart-token-0123456789";
/// 40 MiB in 5 MiB parts: eight parts, two in flight.
const SIZE: usize = 40 << 20;

fn rgw(action: &str) {
    let script = spaces_tests::manifest_dir().join("scripts/rgw.sh");
    let out = Command::new(script).arg(action).output().expect("run rgw.sh");
    assert!(out.status.success(), "rgw.sh {action}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Parts go through a proxy that reads them slowly (3 MB/s), so the upload is still running when RGW dies.
fn slow_proxy(b: &Bucket) -> FaultProxy {
    let upstream = b.rgw.endpoint.trim_start_matches("http://").to_string();
    FaultProxy::start(
        &upstream,
        |seen, _| if seen.line.contains("partNumber=") { Fault::SlowBody(20) } else { Fault::Pass },
    )
}

/// Kills RGW two seconds into `upload` and starts it again twelve seconds later — longer than a request's
/// retries last, so the upload fails, but within the abort's patience (about half a minute), so its abort goes
/// through once RGW is back. Returns what `upload` returned and when RGW was back.
fn outage<T: Send + 'static>(upload: impl FnOnce() -> T + Send + 'static) -> (T, Instant) {
    let running = std::thread::spawn(upload);
    std::thread::sleep(Duration::from_secs(2));
    rgw("kill-gateway");
    std::thread::sleep(Duration::from_secs(12));
    rgw("start-gateway");
    let back = Instant::now();
    (running.join().expect("the upload thread"), back)
}

/// Waits (at most 60 s) until RGW lists no incomplete multipart upload in the bucket.
fn no_parts_left(b: &Bucket) {
    let started = Instant::now();
    loop {
        let listed = b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]);
        // A header line names the bucket; each upload is a line "INITIATED\tPATH\tID".
        let uploads: Vec<&str> = listed.lines().filter(|l| l.contains('\t') && l.contains("s3://")).collect();
        if uploads.is_empty() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "parts left behind: {uploads:?}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The object is absent, or whole.
fn absent_or_whole(b: &Bucket, key: &str, expected: &str) {
    let fetched = b.path("fetched");
    let out = Command::new("s3cmd")
        .arg("-c")
        .arg(b.path(".s3cfg"))
        .args(["get", "--force", &format!("s3://{}/{key}", b.name)])
        .arg(&fetched)
        .output()
        .unwrap();
    if out.status.success() {
        assert_eq!(sha256(&std::fs::read(&fetched).unwrap()), expected, "a stored object is whole");
    }
}

#[test]
fn rgw_killed_mid_upload_leaves_no_parts_behind() {
    let b = Bucket::new("restart");
    let data = pattern(SIZE, 41);
    let digest = sha256(&data);
    std::fs::write(b.path("big.bin"), &data).unwrap();
    b.s3cmd_ok(&["ls"]);

    // Through the CLI.
    let proxy = slow_proxy(&b);
    let mut put = b.spaces();
    put.env("SPACES_ENDPOINT", &proxy.endpoint).args([
        "put",
        "big.bin",
        "cli.bin",
        "--part-size",
        "5242880",
        "-j",
        "2",
    ]);
    let (out, _) = outage(move || put.output().unwrap());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the upload failed: {err}");
    assert!(err.contains("connection failed") && !err.contains("also failed"), "failed clearly, abort worked: {err}");
    absent_or_whole(&b, "cli.bin", &digest);
    no_parts_left(&b);
    eprintln!("CLI upload through the outage: {:?}; {}", out.status.code(), err.lines().last().unwrap_or(""));

    // Through the service.
    let mut serve = b.spaces();
    serve.env("SPACES_ENDPOINT", &proxy.endpoint).args(["--part-size", "5242880", "-j", "2"]);
    let s = Service::start(serve, TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    let (url, bearer) = (s.url("/v1/objects/service.bin"), s.bearer());
    let agent = s.agent.clone();
    let (status, back) = outage(move || {
        let r = agent.put(&url).header("authorization", &bearer).send(&data[..]);
        r.map(|r| r.status().as_u16()).unwrap_or(0)
    });
    s.wait_ready(Duration::from_secs(30));
    eprintln!("service upload through the outage: {status}; ready {:?} after RGW returned", back.elapsed());
    assert!(back.elapsed() < Duration::from_secs(30), "ready again within 30 s of RGW's return");
    // The service answers 502 and closes the connection; a client still sending its body may see only the close.
    assert!(status == 502 || status == 0, "{status}");
    let log = s.log();
    assert!(log.contains(r#"op="put" key="service.bin" status=502"#), "the upload failed as the upstream's: {log}");
    absent_or_whole(&b, "service.bin", &digest);
    no_parts_left(&b);
    assert!(s.terminate(Duration::from_secs(30)).success());
}
