//! Client-side encryption in the age format, through the real binary against RGW, checked against Debian's `age`
//! both ways: what `spaces put --encrypt-to` stores, `age -d` reads; what `age` encrypts, `spaces get --identity`
//! reads; ranges open only the chunks that cover them; altered ciphertext and the wrong key fail without leaving
//! plaintext behind.

use spaces_tests::{describe, interrupt, ops, pattern, run, sha256, wait_for_parts, Bucket};
use std::path::Path;
use std::process::Command;

const CHUNK: usize = 64 * 1024;

/// A new identity made by `spaces keygen` in FILE; returns its recipient.
fn keygen(b: &Bucket, file: &str) -> String {
    let out = run(b.spaces().args(["keygen", "-o", file]));
    assert!(out.status.success(), "{}", describe(&out));
    let text = std::fs::read_to_string(b.path(file)).unwrap();
    let recipient = text.lines().find_map(|l| l.strip_prefix("# public key: ")).expect("public key line").to_string();
    assert!(String::from_utf8_lossy(&out.stderr).contains(&recipient));
    assert!(text.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(b.path(file)).unwrap().permissions().mode() & 0o777, 0o600);
    recipient
}

fn age(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = run(Command::new("age").current_dir(dir).args(args));
    assert!(out.status.success(), "age {args:?}: {}", describe(&out));
    out.stdout
}

/// The metric `name{operation="OP",status="2xx"}` from `--print-metrics` output.
fn metric(stderr: &str, name: &str, op: &str) -> u64 {
    let prefix = format!("{name}{{operation=\"{op}\",status=\"2xx\"}} ");
    stderr.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |v| v.trim().parse().unwrap())
}

#[test]
fn every_size_round_trips_and_age_reads_what_spaces_stored() {
    let b = Bucket::new("enc-sizes");
    let recipient = keygen(&b, "me.key");
    let multipart = ["--multipart-threshold", "5242880", "--part-size", "5242880"];
    for (i, len) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, (12 << 20) + 3].into_iter().enumerate() {
        let data = pattern(len, i as u64 + 1);
        let name = format!("f{len}.bin");
        std::fs::write(b.path(&name), &data).unwrap();
        let key = format!("secret/{name}");
        let mut args = vec!["put", name.as_str(), key.as_str(), "--encrypt-to", recipient.as_str()];
        args.extend(multipart);
        let said = b.ok(&args);
        if len > 5 << 20 {
            assert!(said.contains("3 parts"), "{said}");
        }
        // Stored: ciphertext, marked as such, of the size age's format gives.
        let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", &key])).unwrap();
        assert_eq!(head["metadata"]["spaces-encryption"], "age", "{head}");
        assert_eq!(head["content_type"], "application/octet-stream");
        let chunks = len.div_ceil(CHUNK).max(1);
        let header_len = head["size"].as_u64().unwrap() - (16 + len + 16 * chunks) as u64;
        assert!((150..200).contains(&header_len), "one X25519 stanza: header of {header_len} bytes");

        b.ok(&["get", &key, "back", "--identity", "me.key"]);
        assert_eq!(sha256(&std::fs::read(b.path("back")).unwrap()), sha256(&data), "{len} bytes");
        // Without a key it is refused, with its own exit code, and no file is made; --raw fetches the ciphertext,
        // which the age CLI alone decrypts.
        let err = b.fails(&["get", &key, "plain-try"], 5);
        assert!(err.contains("--identity"), "{err}");
        assert!(!b.path("plain-try").exists());
        b.ok(&["get", &key, "raw.age", "--raw"]);
        let via_age = age(&["-d", "-i", "me.key", "raw.age"], b.dir.path());
        assert_eq!(sha256(&via_age), sha256(&data), "age -d of {len} bytes");
    }
    assert_eq!(b.ok(&["uploads", "ls"]).trim(), "", "no multipart upload left behind");
}

#[test]
fn what_age_encrypted_opens_and_ranges_fetch_only_their_chunks() {
    let b = Bucket::new("enc-ranges");
    let recipient = keygen(&b, "me.key");
    let data = pattern(2 << 20, 9);
    std::fs::write(b.path("plain"), &data).unwrap();
    // Encrypted by the age CLI and stored by s3cmd: no metadata says what it is; the age header does.
    age(&["-r", &recipient, "-o", "by-age.age", "plain"], b.dir.path());
    b.s3cmd_ok(&["put", b.path("by-age.age").to_str().unwrap(), &format!("s3://{}/by-age", b.name)]);
    let out = run(b.spaces().args(["get", "by-age", "-", "-i", "me.key"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(sha256(&out.stdout), sha256(&data));
    // An object that is not encrypted comes as it is, identity or not.
    b.s3cmd_ok(&["put", b.path("plain").to_str().unwrap(), &format!("s3://{}/clear", b.name)]);
    let out = run(b.spaces().args(["get", "clear", "-", "-i", "me.key"]));
    assert_eq!(sha256(&out.stdout), sha256(&data), "{}", describe(&out));

    for (first, last) in [(0, Some(0)), (CHUNK - 1, Some(CHUNK)), (CHUNK - 6, Some(3 * CHUNK + 5)), (5 * CHUNK, None)] {
        let range = format!("{first}-{}", last.map(|l: usize| l.to_string()).unwrap_or_default());
        let out = run(b.spaces().args(["--print-metrics", "get", "by-age", "-", "-i", "me.key", "--range", &range]));
        assert!(out.status.success(), "{}", describe(&out));
        let end = last.map_or(data.len(), |l| l + 1);
        assert_eq!(sha256(&out.stdout), sha256(&data[first..end]), "range {range}");
        // The first 128 KiB (the header), then only the 64 KiB chunks (each with its 16-byte tag) that hold the
        // range.
        let received = metric(&String::from_utf8_lossy(&out.stderr), "spaces_bytes_received_total", "get-object");
        let chunks = (end - 1) / CHUNK - first / CHUNK + 1;
        assert!(received <= (128 << 10) + (chunks * (CHUNK + 16)) as u64, "range {range}: {received} bytes received");
    }
    let err = b.fails(&["get", "by-age", "-", "-i", "me.key", "--range", "3000000-"], 2);
    assert!(err.contains("plaintext is 2097152 bytes"), "{err}");
}

#[test]
fn altered_ciphertext_or_the_wrong_key_fails_and_leaves_no_plaintext() {
    let b = Bucket::new("enc-tamper");
    let recipient = keygen(&b, "me.key");
    let data = pattern(10 * CHUNK, 3);
    std::fs::write(b.path("doc"), &data).unwrap();
    b.ok(&["put", "doc", "doc", "--encrypt-to", &recipient]);
    b.ok(&["get", "doc", "stored.age", "--raw"]);
    let mut sealed = std::fs::read(b.path("stored.age")).unwrap();
    let middle = sealed.len() - 4 * CHUNK;
    sealed[middle] ^= 0x20;
    std::fs::write(b.path("altered.age"), &sealed).unwrap();
    // The altered bytes go back with a plain PUT, as anyone with write access could.
    b.s3cmd_ok(&["put", b.path("altered.age").to_str().unwrap(), &format!("s3://{}/doc", b.name)]);
    let err = b.fails(&["get", "doc", "out/doc", "-i", "me.key"], 1);
    assert!(err.contains("integrity") && err.contains("authentication"), "{err}");
    let left: Vec<_> = std::fs::read_dir(b.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!b.path("out/doc").exists() && !left.iter().any(|n| n.to_string_lossy().contains("partial")), "{left:?}");

    // Someone else's identity, and an identity file others can read.
    b.ok(&["put", "doc", "doc", "--encrypt-to", &recipient]);
    let other = run(Command::new("age-keygen").args(["-o", b.path("other.key").to_str().unwrap()]));
    assert!(other.status.success(), "{}", describe(&other));
    let err = b.fails(&["get", "doc", "nope", "-i", "other.key"], 5);
    assert!(err.contains("none of the identities"), "{err}");
    assert!(!b.path("nope").exists());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.path("other.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = b.fails(&["get", "doc", "nope", "-i", "other.key"], 2);
    assert!(err.contains("chmod 600"), "{err}");
    assert!(!err.contains("AGE-SECRET-KEY"), "no secret in errors: {err}");
}

#[test]
fn a_passphrase_encrypts_and_decrypts_and_trees_encrypt_file_by_file() {
    let b = Bucket::new("enc-pass");
    let data = pattern(100_000, 4);
    std::fs::write(b.path("note"), &data).unwrap();
    let with = |pass: &str, args: &[&str]| run(b.spaces().env("SPACES_PASSPHRASE", pass).args(args));
    let out = with("correct horse", &["put", "note", "note", "--passphrase"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = with("correct horse", &["get", "note", "-", "--passphrase"]);
    assert_eq!(sha256(&out.stdout), sha256(&data), "{}", describe(&out));
    let out = with("battery staple", &["get", "note", "-", "--passphrase"]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("passphrase is wrong"), "{}", describe(&out));
    assert!(out.stdout.is_empty());

    let recipient = keygen(&b, "me.key");
    std::fs::create_dir_all(b.path("tree/sub")).unwrap();
    std::fs::write(b.path("tree/a.txt"), b"alpha").unwrap();
    std::fs::write(b.path("tree/sub/b.bin"), &data).unwrap();
    std::fs::write(b.path("recipients"), format!("# the team\n{recipient}\n")).unwrap();
    b.ok(&["put", "-r", "tree", "t", "--encrypt-to", "recipients"]);
    b.fails(&["get", "-r", "t", "plain-tree"], 1);
    b.ok(&["get", "-r", "t", "back", "-i", "me.key"]);
    assert_eq!(std::fs::read(b.path("back/a.txt")).unwrap(), b"alpha");
    assert_eq!(sha256(&std::fs::read(b.path("back/sub/b.bin")).unwrap()), sha256(&data));
}

#[test]
fn the_service_encrypts_what_it_stores_and_decrypts_what_it_serves() {
    use spaces_tests::service::Service;
    let b = Bucket::new("enc-serve");
    let recipient = keygen(&b, "me.key");
    let key_file = b.path("me.key");
    let s = Service::start(
        b.spaces(),
        "enc-token",
        &["--encrypt-to", &recipient, "--identity", key_file.to_str().unwrap()],
    );
    let data = pattern(300_000, 8);
    let put = s.call("PUT", "/v1/objects/docs/report.pdf", &[("content-type", "application/pdf")], Some(&data));
    assert_eq!(put.status(), 200, "{}", s.log());
    // Stored as ciphertext that age alone opens, with the plaintext's type in the metadata.
    b.s3cmd_ok(&["get", &format!("s3://{}/docs/report.pdf", b.name), b.path("stored").to_str().unwrap()]);
    assert_eq!(sha256(&age(&["-d", "-i", "me.key", "stored"], b.dir.path())), sha256(&data));
    let mut got = s.call("GET", "/v1/objects/docs/report.pdf", &[], None);
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(sha256(&got.body_mut().read_to_vec().unwrap()), sha256(&data));
    let mut part = s.call("GET", "/v1/objects/docs/report.pdf", &[("range", "bytes=70000-70009")], None);
    assert_eq!(part.status(), 206);
    assert_eq!(part.body_mut().read_to_vec().unwrap(), &data[70_000..70_010]);
    assert!(!s.log().contains("AGE-SECRET-KEY"), "no secret in the log");
}

#[test]
fn sync_encrypts_up_and_decrypts_down_and_a_second_run_moves_nothing() {
    let b = Bucket::new("enc-sync");
    let recipient = keygen(&b, "me.key");
    std::fs::create_dir_all(b.path("docs/deep")).unwrap();
    std::fs::write(b.path("docs/a.txt"), b"alpha").unwrap();
    std::fs::write(b.path("docs/empty"), b"").unwrap();
    std::fs::write(b.path("docs/deep/b.bin"), pattern(200_000, 6)).unwrap();
    let remote = format!("spaces://{}/vault", b.name);
    let sync = |args: &[&str]| {
        let out = run(b.spaces().arg("--print-metrics").args(["sync"]).args(args));
        assert!(out.status.success(), "sync {args:?}: {}", describe(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(ops(&sync(&["docs", &remote, "--encrypt-to", &recipient]), "put-object"), 3);
    // Stored sizes are the ciphertext's, and the comparison knows what they would be: nothing moves again.
    let again = sync(&["docs", &remote, "--encrypt-to", &recipient]);
    assert_eq!(ops(&again, "put-object") + ops(&again, "upload-part"), 0, "{again}");
    std::fs::write(b.path("docs/a.txt"), b"alpha, edited").unwrap();
    assert_eq!(ops(&sync(&["docs", &remote, "--encrypt-to", &recipient]), "put-object"), 1);
    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "vault/deep/b.bin"])).unwrap();
    assert_eq!(head["metadata"]["spaces-encryption"], "age");

    assert_eq!(ops(&sync(&[&remote, "back", "-i", "me.key"]), "get-object"), 3 + 1, "the 200 KB file takes two");
    assert_eq!(std::fs::read(b.path("back/a.txt")).unwrap(), b"alpha, edited");
    assert_eq!(std::fs::read(b.path("back/deep/b.bin")).unwrap(), pattern(200_000, 6));
    assert_eq!(std::fs::read(b.path("back/empty")).unwrap(), b"");
    let again = sync(&[&remote, "back", "-i", "me.key"]);
    assert_eq!(ops(&again, "get-object"), 0, "{again}");
    let err = b.fails(&["sync", "docs", &remote, "-i", "me.key"], 2);
    assert!(err.contains("decrypts downloads"), "{err}");
}

#[test]
fn an_encrypted_upload_killed_midway_resumes_with_only_the_missing_parts() {
    let b = Bucket::new("enc-resume");
    let recipient = keygen(&b, "me.key");
    let data = pattern(96 << 20, 12);
    std::fs::write(b.path("big.bin"), &data).unwrap();
    let args = ["put", "big.bin", "big.bin", "-j", "2", "--encrypt-to", &recipient];
    let mut child = b.spaces().args(args).stderr(std::process::Stdio::null()).spawn().unwrap();
    wait_for_parts(&b, "big.bin", 2);
    child.kill().unwrap();
    child.wait().unwrap();
    // The journal keeps what makes the same ciphertext again, readable by its owner only.
    for entry in std::fs::read_dir(b.path(".state/uploads")).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(entry.unwrap().metadata().unwrap().permissions().mode() & 0o777, 0o600);
    }

    let out = run(b.spaces().args(args).arg("--print-metrics"));
    assert!(out.status.success(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let sent = ops(&err, "upload-part");
    // 96 MiB of plaintext is a little more of ciphertext: 13 parts of 8 MiB.
    assert!(sent < 13 && ops(&err, "create-multipart-upload") == 0, "resumed, sending {sent} of 13 parts:\n{err}");
    b.ok(&["get", "big.bin", "raw.age", "--raw"]);
    assert_eq!(sha256(&age(&["-d", "-i", "me.key", "raw.age"], b.dir.path())), sha256(&data));
    assert_eq!(b.ok(&["uploads", "ls"]), "", "nothing left behind");
    assert_eq!(std::fs::read_dir(b.path(".state/uploads")).unwrap().count(), 0, "and nothing of the key kept");

    // Ctrl-C aborts an encrypted upload as any other: nothing is left, not even the sealing in the journal.
    let child = b.spaces().args(args).stderr(std::process::Stdio::piped()).spawn().unwrap();
    wait_for_parts(&b, "big.bin", 1);
    b.ok(&["rm", "big.bin"]);
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert_eq!(b.ok(&["uploads", "ls"]), "", "aborted");
    assert_eq!(std::fs::read_dir(b.path(".state/uploads")).unwrap().count(), 0);
    b.fails(&["exists", "big.bin"], 3);

    // To another recipient it is another upload: the stale one is aborted, every part sent afresh.
    let other = keygen(&b, "other.key");
    let mut child = b.spaces().args(args).stderr(std::process::Stdio::null()).spawn().unwrap();
    wait_for_parts(&b, "big.bin", 2);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = run(b.spaces().args(["put", "big.bin", "big.bin", "--encrypt-to", &other, "--print-metrics"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!((ops(&err, "abort-multipart-upload"), ops(&err, "upload-part")), (1, 13), "{err}");
    let back = run(b.spaces().args(["get", "big.bin", "-", "-i", "other.key"]));
    assert_eq!(sha256(&back.stdout), sha256(&data), "{}", describe(&back));
}
