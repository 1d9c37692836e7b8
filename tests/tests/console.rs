//! The web console in a real browser: Debian's chromium, driven through chromedriver by Selenium
//! (`tests/scripts/console_browser.py`), against `spaces serve` on the embedded store and on RGW. The script signs
//! in (a wrong token first), uploads, browses folders and pages, filters, downloads, shares, deletes, uploads 50 MB
//! and watches its bar reach the end; the listing's screenshot is left in the test's target directory.

use spaces_tests::service::{embedded_command, Service};
use spaces_tests::{describe, run, Bucket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "console-test-token-0123456789";
const HOSTILE: &str = "/v1/objects/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt";

/// Seeds what the script expects, runs it against `s`, and returns its facts; the screenshot goes to `shot`.
fn drive(s: &Service, shot: &Path) -> serde_json::Value {
    for (path, body) in [("/v1/objects/docs/inner/readme.txt", &b"inside"[..]), (HOSTILE, b"not a tag")] {
        assert_eq!(s.call("PUT", path, &[], Some(body)).status(), 200, "{path}");
    }
    // More than one page (200 entries) in one folder.
    for i in 0..205 {
        assert_eq!(s.call("PUT", &format!("/v1/objects/many/{i:03}.txt"), &[], Some(b"m")).status(), 200);
    }
    let work = tempfile::tempdir().unwrap();
    let python = std::env::var("SPACES_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = spaces_tests::manifest_dir().join("scripts/console_browser.py");
    let out = run(Command::new(python).arg(script).arg(s.url("")).arg(TOKEN).arg(work.path()).arg(shot));
    assert!(out.status.success(), "the browser run failed: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let facts: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no facts ({e}): {}", describe(&out)));
    eprintln!("console: {facts}");
    let png = std::fs::read(shot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    assert_eq!(facts["rows"], serde_json::json!(["<img src=x onerror=alert(1)>.txt", "docs/", "many/"]), "{facts}");
    facts
}

fn screenshot(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-{name}.png"))
}

#[test]
fn the_console_works_in_a_real_browser_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    let facts = drive(&s, &screenshot("embedded"));
    assert!(facts["browser"].as_str().is_some_and(|v| !v.is_empty()), "{facts}");
    assert!(s.terminate(Duration::from_secs(20)).success());
}

#[test]
fn the_console_works_in_a_real_browser_on_rgw() {
    let b = Bucket::new("console");
    let s = Service::start(b.spaces(), TOKEN, &[]);
    s.wait_ready(Duration::from_secs(30));
    drive(&s, &screenshot("rgw"));
    // What the browser did happened in the store: the batch delete left only the seeded objects.
    let listed = b.s3cmd_ok(&["ls", "-r", &format!("s3://{}", b.name)]);
    assert_eq!(listed.lines().count(), 2 + 205, "{listed}");
    assert!(s.terminate(Duration::from_secs(20)).success());
}

#[test]
fn the_console_is_served_with_a_policy_that_forbids_inline_script_and_other_origins() {
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(embedded_command(dir.path()), TOKEN, &[]);
    for (path, kind) in [("/", "text/html"), ("/console/app.js", "text/javascript"), ("/console/app.css", "text/css")] {
        let r = s.raw("GET", path, &[], None);
        assert_eq!(r.status(), 200, "{path} needs no token: it holds no data");
        let header = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(header("content-type").starts_with(kind), "{path}");
        let policy = header("content-security-policy");
        assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe") && !policy.contains("http"), "no inline code, no other origin: {policy}");
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
    let mut page = s.raw("GET", "/", &[], None);
    let page = page.body_mut().read_to_string().unwrap();
    assert!(!page.contains("<script>") && !page.contains("style="), "nothing inline");
    // The console's page adds no way around the token.
    assert_eq!(s.raw("GET", "/v1/objects", &[], None).status(), 401);
    assert!(s.terminate(Duration::from_secs(20)).success());
}
