//! `spaces sync`, resumable uploads, `spaces uploads` and `spaces mv`, through the real binary against RGW:
//! every direction of sync over a tree with unicode names, an empty file and a multipart file; a second run that
//! sends nothing (counted in `--print-metrics`); what `--checksum`, `--delete`, `--dry-run` and `--exclude` do;
//! an upload killed with SIGKILL and resumed with only its missing parts; and the service's uploads routes.

use spaces_tests::service::Service;
use spaces_tests::{curl, ops, pattern, run, sha256, wait_for_parts, Bucket};
use std::path::Path;
use std::process::Stdio;

/// Runs `spaces ARGS --print-metrics`, expecting exit `code`; returns (stdout, stderr).
fn metered(b: &Bucket, args: &[&str], code: i32) -> (String, String) {
    let out = run(b.spaces().args(args).arg("--print-metrics"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(code), "spaces {args:?}:\n{stdout}\n{stderr}");
    (stdout.into_owned(), stderr.into_owned())
}

/// Nothing was written by the run that printed `stderr`.
fn moved_nothing(stderr: &str) {
    for op in ["put-object", "upload-part", "get-object", "copy-object", "delete-objects"] {
        assert_eq!(ops(stderr, op), 0, "{op} in a run that should move nothing:\n{stderr}");
    }
}

/// A tree with a nested directory, unicode names, an empty file and one file large enough for multipart.
fn tree(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files = vec![
        ("a.txt", b"alpha\n".to_vec()),
        ("a/b.txt", b"beta\n".to_vec()),
        ("a/deep/c.bin", pattern(4096, 3)),
        ("empty", Vec::new()),
        ("unicodé/日本語 ファイル.txt", "こんにちは\n".as_bytes().to_vec()),
        ("big.bin", pattern(12 << 20, 7)),
    ];
    for (rel, data) in &files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    files
}

fn same_tree(files: &[(&str, Vec<u8>)], root: &Path) {
    for (rel, data) in files {
        let got = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(sha256(&got), sha256(data), "{rel}");
    }
}

#[test]
fn every_direction_moves_only_what_changed() {
    let b = Bucket::new("sync");
    let (src, down) = (b.path("src"), b.path("down"));
    let files = tree(&src);
    let remote = format!("spaces://{}/backup", b.name);

    let (out, err) = metered(&b, &["sync", "src", &remote], 0);
    assert!(out.contains("6 uploaded"), "{out}");
    assert_eq!(ops(&err, "upload-part"), 2, "the 12 MiB file goes multipart");
    let (out, err) = metered(&b, &["sync", "src", &remote], 0);
    assert!(out.contains("6 unchanged"), "{out}");
    moved_nothing(&err);
    assert_eq!(ops(&err, "head-object"), 0, "the listing says enough: no request per file");

    let (out, _) = metered(&b, &["sync", &remote, "down"], 0);
    assert!(out.contains("6 downloaded"), "{out}");
    same_tree(&files, &down);
    let (out, err) = metered(&b, &["sync", &remote, "down"], 0);
    assert!(out.contains("6 unchanged"), "downloads took the objects' times: {out}");
    moved_nothing(&err);

    let other = Bucket::new("sync-dst");
    let copy = format!("spaces://{}/copy/", other.name);
    let (out, err) = metered(&b, &["sync", &remote, &copy], 0);
    assert!(out.contains("6 copied"), "{out}");
    assert_eq!(ops(&err, "copy-object"), 6, "server-side, across buckets");
    let (_, err) = metered(&b, &["sync", &remote, &copy], 0);
    moved_nothing(&err);
    let listed = other.s3cmd_ok(&["ls", "-r", &format!("s3://{}/copy/", other.name)]);
    assert!(listed.contains("copy/unicodé/日本語 ファイル.txt"), "{listed}");

    // A change of content that keeps size and time is seen only by --checksum, which downloads nothing.
    let changed = src.join("a/b.txt");
    let when = std::fs::metadata(&changed).unwrap().modified().unwrap();
    std::fs::write(&changed, b"BETA\n").unwrap();
    std::fs::File::options().write(true).open(&changed).unwrap().set_modified(when).unwrap();
    let (out, _) = metered(&b, &["sync", "src", &remote], 0);
    assert!(out.contains("6 unchanged"), "size and time agree: {out}");
    let (out, err) = metered(&b, &["sync", "src", &remote, "--checksum"], 0);
    assert!(out.contains("1 uploaded") && out.contains("5 unchanged"), "{out}");
    assert_eq!(ops(&err, "get-object"), 0, "compared without downloading");
    assert_eq!(ops(&err, "head-object"), 1, "only the multipart object needs its part size");
    let (out, err) = metered(&b, &["sync", "src", &remote, "--checksum"], 0);
    assert!(out.contains("6 unchanged"), "the multipart ETag is recomputed locally: {out}");
    moved_nothing(&err);
    let got = b.ok(&["get", "backup/a/b.txt", "-"]);
    assert_eq!(got, "BETA\n");
}

/// Rewrites the file at `path` with `data` (of the same length) and gives it back its time: a change that only
/// `--checksum` sees.
fn change_unseen(path: &Path, data: &[u8]) {
    let when = std::fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), data.len() as u64);
    std::fs::write(path, data).unwrap();
    std::fs::File::options().write(true).open(path).unwrap().set_modified(when).unwrap();
}

#[test]
fn checksum_hashes_files_side_by_side_and_finds_every_change() {
    // Enough files, at few workers, that several are hashed in one call; sizes around the MD5 block (64 bytes),
    // the host's whole-file read (256 KiB) and the component's read (1 MiB), so lanes start and end unevenly.
    let b = Bucket::new("sync-checksum");
    let src = b.path("src");
    let sizes = [0usize, 1, 55, 56, 63, 64, 65, 127, 129, 1000, 4096, 65_537, 262_144, 262_145, 1_048_577, 3_000_000];
    let files: Vec<(String, Vec<u8>)> =
        (0..32).map(|i| (format!("d{}/f{i:02}", i % 3), pattern(sizes[i % sizes.len()], i as u64 + 1))).collect();
    for (rel, data) in &files {
        std::fs::create_dir_all(src.join(rel).parent().unwrap()).unwrap();
        std::fs::write(src.join(rel), data).unwrap();
    }
    let remote = format!("spaces://{}/c", b.name);
    b.ok(&["sync", "src", &remote]);
    // A file no one can read (see below) with an object of its listed size (0): the check must read it, and fail.
    std::os::unix::fs::symlink("/proc/self/mem", src.join("d0/unreadable")).unwrap();
    std::fs::write(b.path("empty"), "").unwrap();
    b.ok(&["put", "empty", "c/d0/unreadable"]);
    let changed = [1usize, 6, 13, 14, 15, 30];
    for &i in &changed {
        let mut data = files[i].1.clone();
        let at = data.len() - 1 - i % data.len();
        data[at] ^= 0x40;
        change_unseen(&src.join(&files[i].0), &data);
    }

    let (out, err) = metered(&b, &["sync", "src", &remote, "--checksum", "-j", "2"], 1);
    assert!(err.contains("unreadable"), "the unreadable file is named: {err}");
    let expected = format!(
        "{} uploaded, 0 downloaded, 0 copied, 0 deleted, {} unchanged, 1 failed",
        changed.len(),
        32 - changed.len()
    );
    assert!(out.contains(&expected), "{out}");
    assert_eq!(ops(&err, "get-object"), 0, "compared without downloading");

    std::fs::remove_file(src.join("d0/unreadable")).unwrap();
    let (out, err) = metered(&b, &["sync", "src", &remote, "--checksum", "-j", "2"], 0);
    assert!(out.contains("32 unchanged"), "{out}");
    moved_nothing(&err);
    b.ok(&["sync", &remote, "down"]);
    for (rel, _) in &files {
        let (sent, got) = (std::fs::read(src.join(rel)).unwrap(), std::fs::read(b.path("down").join(rel)).unwrap());
        assert_eq!(sha256(&got), sha256(&sent), "{rel}");
    }
}

#[test]
fn delete_dry_run_excludes_and_unreadable_files() {
    let b = Bucket::new("sync-delete");
    let src = b.path("src");
    tree(&src);
    let remote = format!("spaces://{}/t", b.name);
    b.ok(&["sync", "src", &remote, "--exclude", "*.bin"]);
    let listed = b.ok(&["ls", "t/"]);
    assert!(!listed.contains(".bin"), "excluded files are not uploaded: {listed}");
    b.ok(&["put", "src/a.txt", "t/only-remote.txt"]);
    b.ok(&["put", "src/a.txt", "t/kept.bin"]);

    let (out, err) = metered(&b, &["sync", "src", &remote, "--delete", "--dry-run", "--exclude", "*.bin"], 0);
    assert!(out.contains("delete only-remote.txt"), "{out}");
    assert!(!out.contains("kept.bin"), "an excluded path is not deleted either: {out}");
    moved_nothing(&err);
    assert!(b.ok(&["ls", "t/"]).contains("only-remote.txt"), "a dry run changes nothing");

    // One unreadable file is reported by name; the others still sync, and the run exits 1.
    // (A file that no one can read, root included: /proc/self/mem lists as a regular file and fails on read.)
    std::fs::write(src.join("new-1.txt"), "one").unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", src.join("secret.txt")).unwrap();
    std::fs::write(src.join("new-2.txt"), "two").unwrap();
    let (out, err) = metered(&b, &["sync", "src", &remote, "--delete", "--exclude", "*.bin"], 1);
    assert!(err.contains("secret.txt"), "{err}");
    assert!(out.contains("1 failed") && out.contains("1 deleted"), "{out}");
    let listed = b.ok(&["ls", "t/"]);
    assert!(listed.contains("new-1.txt") && listed.contains("new-2.txt"), "{listed}");
    assert!(!listed.contains("only-remote.txt") && listed.contains("kept.bin"), "{listed}");

    // A listing that fails stops the sync and deletes nothing: the other side's paths are not "missing from the
    // source", and a missing destination bucket is one error, not one per file.
    std::fs::write(b.path("keep.txt"), "mine").unwrap();
    let nowhere = format!("spaces://{}-missing/x", b.name);
    let err = b.fails(&["sync", &nowhere, ".", "--delete", "--exclude", ".*"], 1);
    assert!(err.contains("listing failed") && b.path("keep.txt").exists(), "{err}");
    let err = b.fails(&["sync", "src", &nowhere], 1);
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");

    // Keys that cannot be local paths are reported and skipped on download.
    b.s3cmd_ok(&["put", &b.path("src/a.txt").display().to_string(), &format!("s3://{}/t/x/../../evil", b.name)]);
    let (out, err) = metered(&b, &["sync", &remote, "down"], 1);
    assert!(err.contains("cannot be a local file name"), "{err}");
    assert!(b.path("down/new-1.txt").exists() && !b.path("evil").exists(), "{out}");
}

#[test]
fn an_upload_killed_midway_resumes_with_only_the_missing_parts() {
    let b = Bucket::new("resume");
    let data = pattern(96 << 20, 11);
    std::fs::write(b.path("big.bin"), &data).unwrap();
    // An upload killed (SIGKILL) once two of its parts are stored.
    let cut_short = || {
        let mut child =
            b.spaces().args(["put", "big.bin", "big.bin", "-j", "2"]).stderr(Stdio::null()).spawn().unwrap();
        wait_for_parts(&b, "big.bin", 2);
        child.kill().unwrap();
        child.wait().unwrap();
    };
    cut_short();
    let pending = b.ok(&["uploads", "ls"]);
    assert!(pending.contains("big.bin"), "SIGKILL leaves the upload: {pending}");

    let (out, err) = metered(&b, &["put", "big.bin", "big.bin"], 0);
    assert!(out.contains("12 parts"), "{out}");
    let sent = ops(&err, "upload-part");
    assert!(sent < 12 && ops(&err, "list-parts") == 1, "resumed, sending {sent} of 12 parts:\n{err}");
    assert_eq!(ops(&err, "create-multipart-upload"), 0, "{err}");
    b.ok(&["get", "big.bin", "back.bin"]);
    assert_eq!(sha256(&std::fs::read(b.path("back.bin")).unwrap()), sha256(&data));
    assert_eq!(b.ok(&["uploads", "ls"]), "", "nothing left behind");

    // A file that changed is not resumed onto the stale upload: that one is aborted and the upload starts afresh.
    cut_short();
    let mut changed = data.clone();
    changed[10] ^= 0xff;
    std::fs::write(b.path("big.bin"), &changed).unwrap();
    let (_, err) = metered(&b, &["put", "big.bin", "big.bin"], 0);
    assert_eq!(ops(&err, "abort-multipart-upload"), 1, "{err}");
    assert_eq!(ops(&err, "upload-part"), 12, "{err}");
    b.ok(&["get", "big.bin", "back.bin"]);
    assert_eq!(sha256(&std::fs::read(b.path("back.bin")).unwrap()), sha256(&changed));
    assert_eq!(b.ok(&["uploads", "ls"]), "");

    // A stored part whose bytes changed while the file kept its size and time is caught by its MD5 and sent
    // again; the stored parts that match are kept.
    cut_short();
    let mut edited = changed.clone();
    edited[20] ^= 0xff;
    change_unseen(&b.path("big.bin"), &edited);
    let (_, err) = metered(&b, &["put", "big.bin", "big.bin"], 0);
    let sent = ops(&err, "upload-part");
    assert_eq!((ops(&err, "list-parts"), ops(&err, "abort-multipart-upload")), (1, 0), "resumed:\n{err}");
    assert!(sent < 12, "the stored parts that match are kept: {sent} of 12 sent\n{err}");
    b.ok(&["get", "big.bin", "back.bin"]);
    assert_eq!(sha256(&std::fs::read(b.path("back.bin")).unwrap()), sha256(&edited), "the changed part was sent");
    assert_eq!(b.ok(&["uploads", "ls"]), "");
}

#[test]
fn uploads_can_be_listed_and_aborted_and_objects_moved() {
    let b = Bucket::new("uploads");
    // Large enough (8 parts sent one at a time) that it cannot finish between a part being seen and the kill.
    std::fs::write(b.path("f"), pattern(64 << 20, 5)).unwrap();
    let mut child = b.spaces().args(["put", "f", "dir/f", "-j", "1"]).stderr(Stdio::null()).spawn().unwrap();
    wait_for_parts(&b, "dir/f", 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let json: serde_json::Value = serde_json::from_str(&b.ok(&["uploads", "ls", "dir/", "--json"])).unwrap();
    assert_eq!(json["uploads"][0]["key"], "dir/f", "{json}");
    assert!(b.fails(&["uploads", "abort", "nothing-here"], 3).contains("no incomplete upload"));

    // The service lists and aborts them too.
    let service = Service::start(b.spaces(), "t0ken", &[]);
    let auth = "Authorization: Bearer t0ken";
    let (status, body) = curl("GET", &service.url("/v1/uploads?prefix=dir/"), None, &[auth]);
    let listed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, &listed["uploads"][0]["key"]), (200, &json["uploads"][0]["key"]), "{listed}");
    let id = listed["uploads"][0]["upload_id"].as_str().unwrap();
    let (status, _) = curl("DELETE", &service.url(&format!("/v1/uploads/{id}")), None, &[auth]);
    assert_eq!(status, 400, "the key is required");
    let (status, _) = curl("DELETE", &service.url(&format!("/v1/uploads/{id}?key=dir/f")), None, &[auth]);
    assert_eq!(status, 204);
    drop(service);
    let out = b.ok(&["uploads", "abort", "--all"]);
    assert!(out.contains("aborted 0 of 0"), "the service aborted it: {out}");
    let mut child = b.spaces().args(["put", "f", "dir/g", "-j", "1"]).stderr(Stdio::null()).spawn().unwrap();
    wait_for_parts(&b, "dir/g", 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = b.ok(&["uploads", "abort", "--all", "--older-than", "1d"]);
    assert!(out.contains("aborted 0 of 0"), "too young to abort: {out}");
    let out = b.ok(&["uploads", "abort", "dir/g"]);
    assert!(out.contains("aborted 1 of 1"), "{out}");
    assert_eq!(b.ok(&["uploads", "ls"]), "");

    b.ok(&["put", "f", "dir/a"]);
    b.ok(&["put", "f", "dir/sub/b"]);
    b.ok(&["mv", "dir/a", "moved/a"]);
    assert!(b.fails(&["mv", "dir/", "dir/sub/"], 2).contains("into itself"));
    let other = Bucket::new("uploads-mv");
    b.ok(&["mv", "dir/", &format!("spaces://{}/elsewhere/", other.name)]);
    assert_eq!(b.ok(&["ls", "dir/"]), "", "the sources are gone");
    let there = other.s3cmd_ok(&["ls", "-r", &format!("s3://{}", other.name)]);
    assert!(there.contains("elsewhere/sub/b") && !there.contains("elsewhere/a"), "{there}");
    assert!(b.ok(&["ls"]).contains("moved/a"));
}
