//! Presigned URLs used by a plain HTTP client (curl), and the server's verdict on expired and tampered ones.

use spaces_tests::{curl, pattern, Bucket};

#[test]
fn presigned_get_put_delete_work_with_curl() {
    let b = Bucket::new("presign");
    let data = pattern(70_000, 3);
    std::fs::write(b.path("in"), &data).unwrap();

    let put = b.ok(&["presign", "up/ü x+y.bin", "--method", "put", "--expires", "300"]);
    let (status, body) = curl("PUT", put.trim(), Some(&b.path("in")), &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    let get = b.ok(&["presign", "up/ü x+y.bin"]);
    assert!(get.contains("X-Amz-Expires=3600"), "default expiry: {get}");
    let (status, body) = curl("GET", get.trim(), None, &[]);
    assert_eq!(status, 200);
    assert_eq!(body, data);

    let del = b.ok(&["presign", "up/ü x+y.bin", "--method", "delete", "--expires", "60"]);
    assert_eq!(curl("DELETE", del.trim(), None, &[]).0, 204);
    b.fails(&["exists", "up/ü x+y.bin"], 3);
}

#[test]
fn presigned_put_with_signed_content_type() {
    let b = Bucket::new("presignct");
    std::fs::write(b.path("in"), b"{}").unwrap();
    let url = b.ok(&["presign", "doc.json", "--method", "put", "--content-type", "application/json"]);
    assert_eq!(
        curl("PUT", url.trim(), Some(&b.path("in")), &["Content-Type: text/plain"]).0,
        403,
        "other type rejected"
    );
    assert_eq!(curl("PUT", url.trim(), Some(&b.path("in")), &["Content-Type: application/json"]).0, 200);
}

#[test]
fn expired_and_tampered_urls_are_rejected_by_the_server() {
    let b = Bucket::new("presignbad");
    std::fs::write(b.path("in"), b"secret data").unwrap();
    b.ok(&["put", "in", "k"]);

    let url = b.ok(&["presign", "k", "--expires", "1"]).trim().to_string();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (status, body) = curl("GET", &url, None, &[]);
    assert_eq!(status, 403, "expired: {}", String::from_utf8_lossy(&body));

    let url = b.ok(&["presign", "k"]).trim().to_string();
    assert_eq!(curl("GET", &url, None, &[]).0, 200);
    let sig_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = url.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'0' { b'1' } else { b'0' };
    let (status, body) = curl("GET", std::str::from_utf8(&tampered).unwrap(), None, &[]);
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"));
    assert_eq!(curl("GET", &url.replace("/k?", "/other?"), None, &[]).0, 403, "signature bound to the key");
    assert_eq!(curl("PUT", &url, Some(&b.path("in")), &[]).0, 403, "signature bound to the method");
}

#[test]
fn many_keys_are_presigned_in_one_call_each_url_on_its_line() {
    let b = Bucket::new("presignmany");
    for (i, key) in ["a.txt", "dir/b c.txt", "ü.bin"].iter().enumerate() {
        std::fs::write(b.path("f"), pattern(1000 + i, i as u64)).unwrap();
        b.ok(&["put", "f", key]);
    }
    let urls = b.ok(&["presign", "a.txt", "dir/b c.txt", "ü.bin"]);
    let urls: Vec<&str> = urls.lines().collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    for (i, url) in urls.iter().enumerate() {
        let (status, body) = curl("GET", url, None, &[]);
        assert_eq!(status, 200, "{url}");
        assert_eq!(body, pattern(1000 + i, i as u64), "URL {i} is for its own key, in order");
    }
    // A bad key fails alone, by name; the good ones still print.
    let out = b.spaces().args(["presign", "a.txt", "", "ü.bin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", spaces_tests::describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"\": invalid argument") && err.contains("1 of 3 keys"), "{err}");
}

/// POSTs `fields` (overridden by `overrides`) and then `file` as a browser's multipart form; status and body.
fn post_form(
    url: &str,
    fields: &serde_json::Value,
    overrides: &[(&str, &str)],
    file: &std::path::Path,
    mime: &str,
) -> (u16, String) {
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}"]);
    for (name, value) in fields.as_object().unwrap() {
        let value = overrides.iter().find(|(n, _)| n == name).map_or(value.as_str().unwrap(), |(_, v)| *v);
        cmd.arg("--form-string").arg(format!("{name}={value}"));
    }
    cmd.arg("-F").arg(format!("file=@{};type={mime}", file.display())).arg(url);
    let out = spaces_tests::run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_string())
}

#[test]
fn a_presigned_post_form_takes_a_browser_upload_within_its_limits_and_nothing_else() {
    let b = Bucket::new("post");
    let args = ["presign-post", "inbox/", "--max-size", "1000", "--content-type", "text/plain", "--expires", "300"];
    let form: serde_json::Value = serde_json::from_str(&b.ok(&args)).unwrap();
    let (url, fields) = (form["url"].as_str().unwrap(), &form["fields"]);
    assert_eq!(fields["key"], "inbox/${filename}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(form["expires_at"].as_u64().unwrap().abs_diff(now + 300) < 60, "{form}");

    std::fs::write(b.path("note.txt"), "posted from a form\n").unwrap();
    let (status, body) = post_form(url, fields, &[], &b.path("note.txt"), "text/plain");
    assert_eq!(status, 204, "{body}");
    let fetched = b.path("fetched.txt");
    b.s3cmd_ok(&["get", "--force", &format!("s3://{}/inbox/note.txt", b.name), fetched.to_str().unwrap()]);
    assert_eq!(std::fs::read(&fetched).unwrap(), b"posted from a form\n", "stored as PREFIX + the file's name");

    // What the policy does not allow is refused by the service, and nothing is stored.
    std::fs::write(b.path("big.txt"), pattern(2000, 1)).unwrap();
    let (status, body) = post_form(url, fields, &[], &b.path("big.txt"), "text/plain");
    assert_eq!(status, 400, "over --max-size: {body}");
    assert!(body.contains("EntityTooLarge"), "{body}");
    let refusals = [
        (&[("Content-Type", "text/html")][..], "another content type"),
        (&[("key", "elsewhere/${filename}")][..], "a key outside the prefix"),
        (
            &[("x-amz-signature", "0000000000000000000000000000000000000000000000000000000000000000")][..],
            "a forged signature",
        ),
    ];
    for (overrides, what) in refusals {
        let (status, body) = post_form(url, fields, overrides, &b.path("note.txt"), "text/plain");
        assert_eq!(status, 403, "{what}: {body}");
    }
    let listed = b.s3cmd_ok(&["ls", "-r", &format!("s3://{}", b.name)]);
    assert_eq!(listed.lines().count(), 1, "only the allowed upload is stored: {listed}");

    assert!(b.fails(&["presign-post", "k", "--expires", "0"], 2).contains("expiry"));
    assert!(b.fails(&["presign-post", "k", "--max-size", "6000000000"], 2).contains("one POST"));
}
