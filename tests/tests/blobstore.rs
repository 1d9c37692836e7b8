//! The blobstore face from the outside: a consumer that knows only `wasi:blobstore`, composed with the spaces
//! blobstore component by `wac plug` into one component that imports standard WASI alone, run under `wasmtime
//! run` against RGW. Every call of the interfaces is used; what is stored is checked with s3cmd, a client that
//! shares no code with ours. Values are staged in the directory the host grants, and that directory is empty
//! again after each command; a host that grants none gets a clear error, not a trap.

use spaces_tests::blobstore::composition;
use spaces_tests::{pattern, sha256, Bucket};
use std::process::Output;

/// The consumer's stdout after a successful command.
fn ok(out: Output, what: &str) -> Vec<u8> {
    assert!(out.status.success(), "{what}: {}", spaces_tests::describe(&out));
    out.stdout
}

fn text(out: Output, what: &str) -> String {
    String::from_utf8(ok(out, what)).expect("utf-8")
}

/// The consumer's stderr after a failed command, which must not be a trap.
fn refused(out: Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} should fail: {}", spaces_tests::describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.contains("blobstore-consumer: "), "{what}: the consumer reports the error itself: {stderr}");
    assert!(!stderr.contains("wasm trap") && !stderr.contains("wasm backtrace"), "{what} trapped: {stderr}");
    stderr
}

fn staging_is_empty(dir: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "staging files left behind: {left:?}");
}

#[test]
fn the_composition_imports_standard_wasi_only() {
    let out = spaces_tests::run(
        std::process::Command::new(spaces_tests::tool("wasm-tools"))
            .args(["component", "wit"])
            .arg(&composition().component),
    );
    let wit = String::from_utf8(ok(out, "wasm-tools component wit")).unwrap();
    let imports: Vec<&str> =
        wit.lines().filter_map(|l| l.trim().strip_prefix("import ")).map(|i| i.trim_end_matches(';')).collect();
    assert!(imports.iter().all(|i| i.starts_with("wasi:")), "{imports:?}");
    for needed in
        ["wasi:cli/environment@0.2.12", "wasi:filesystem/preopens@0.2.12", "wasi:http/outgoing-handler@0.2.12"]
    {
        assert!(imports.iter().any(|i| i.starts_with(needed)), "{needed} in {imports:?}");
    }
    assert!(!imports.iter().any(|i| i.starts_with("wasi:blobstore")), "the plug satisfied blobstore: {imports:?}");
    println!("composed imports: {imports:?}");
}

#[test]
fn a_blobstore_consumer_stores_reads_lists_copies_moves_and_deletes_through_spaces() {
    let peer = Bucket::new("blob-peer");
    let rgw = spaces_tests::rgw();
    let staging = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &[u8]| composition().run(&rgw, Some(staging.path()), &[], args, stdin);
    let c = format!("blob-{}", std::process::id());

    assert_eq!(text(run(&["exists", &c], b""), "exists"), "false\n");
    ok(run(&["create", &c], b""), "create");
    assert_eq!(text(run(&["exists", &c], b""), "exists"), "true\n");
    assert!(peer.s3cmd_ok(&["ls"]).contains(&format!("s3://{c}")), "s3cmd sees the new bucket");
    let info = text(run(&["info", &c], b""), "info");
    let (name, created) = info.trim().split_once(' ').unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(name == c && created.parse::<u64>().unwrap().abs_diff(now) < 3600, "{info}");
    assert!(refused(run(&["create", &c], b""), "create again").contains("creating container"));

    // Writes in both orders the interface allows, one of them multipart (over the 8 MiB threshold).
    let small = b"hello, blobstore\n".to_vec();
    let large = pattern(20 << 20, 7);
    ok(run(&["put", &c, "docs/small.txt"], &small), "put small");
    ok(run(&["put-named-first", &c, "docs/large.bin"], &large), "put large, named first");
    ok(run(&["put", &c, "empty"], b""), "put empty");
    staging_is_empty(staging.path());
    let fetched = peer.path("large.bin");
    peer.s3cmd_ok(&["get", "--force", &format!("s3://{c}/docs/large.bin"), fetched.to_str().unwrap()]);
    assert_eq!(sha256(&std::fs::read(&fetched).unwrap()), sha256(&large), "s3cmd reads what the consumer wrote");
    assert!(peer.s3cmd_ok(&["info", &format!("s3://{c}/docs/large.bin")]).contains("-3"), "stored in 3 parts");

    // Reads: whole, as a stream and in one piece, and ranges with inclusive ends.
    assert_eq!(ok(run(&["get", &c, "docs/large.bin"], b""), "get"), large);
    assert_eq!(ok(run(&["get-sync", &c, "docs/small.txt"], b""), "get-sync"), small);
    assert_eq!(ok(run(&["get", &c, "docs/large.bin", "1000", "1999"], b""), "range"), &large[1000..2000]);
    assert_eq!(ok(run(&["get", &c, "docs/small.txt", "7", "18446744073709551615"], b""), "tail"), &small[7..]);
    assert_eq!(ok(run(&["get", &c, "empty"], b""), "get empty"), b"");
    staging_is_empty(staging.path());
    assert!(refused(run(&["get", &c, "docs/small.txt", "100", "200"], b""), "past the end").contains("range"));
    assert!(refused(run(&["get", &c, "missing"], b""), "missing").contains("not found"));

    // Listing, read a few names at a time and after skipping some; metadata; presence.
    let listed = text(run(&["list", &c, "2"], b""), "list");
    assert_eq!(listed, "docs/large.bin\ndocs/small.txt\nempty\nend\n");
    assert_eq!(text(run(&["list-after", &c, "2"], b""), "list-after"), "empty\nend\n");
    let stat = text(run(&["stat", &c, "docs/small.txt"], b""), "stat");
    let fields: Vec<&str> = stat.split_whitespace().collect();
    assert_eq!(fields[..3], [c.as_str(), "docs/small.txt", "17"], "{stat}");
    assert!(fields[3].parse::<u64>().unwrap().abs_diff(now) < 3600, "{stat}");
    assert_eq!(text(run(&["has", &c, "empty"], b""), "has"), "true\n");
    assert_eq!(text(run(&["has", &c, "nope"], b""), "has"), "false\n");

    // Server-side copy and move to another bucket, checked there by s3cmd.
    ok(run(&["copy", &c, "docs/small.txt", &peer.name, "copied.txt"], b""), "copy");
    ok(run(&["move", &c, "docs/large.bin", &peer.name, "moved.bin"], b""), "move");
    assert_eq!(text(run(&["has", &c, "docs/large.bin"], b""), "has"), "false\n", "the move removed its source");
    let copied = peer.path("copied.txt");
    peer.s3cmd_ok(&["get", "--force", &format!("s3://{}/copied.txt", peer.name), copied.to_str().unwrap()]);
    assert_eq!(std::fs::read(&copied).unwrap(), small);
    let moved = peer.s3cmd_ok(&["ls", &format!("s3://{}/moved.bin", peer.name)]);
    assert!(moved.contains(&(20u64 << 20).to_string()), "{moved}");
    let bad = refused(run(&["copy", &c, "docs/small.txt", "no-such-container-here", "x"], b""), "copy nowhere");
    assert!(bad.contains("does not exist") || bad.contains("not found"), "{bad}");

    // Deleting one, several (a missing one is no error, as S3 has it), everything, and the container itself.
    ok(run(&["delete", &c, "nope"], b""), "delete missing");
    ok(run(&["delete", &c, "empty"], b""), "delete");
    for i in 0..5 {
        ok(run(&["put", &c, &format!("batch/{i}")], format!("{i}").as_bytes()), "put batch");
    }
    ok(run(&["delete-many", &c, "batch/0", "batch/1", "nope"], b""), "delete-many");
    assert_eq!(text(run(&["list", &c, "10"], b""), "list"), "batch/2\nbatch/3\nbatch/4\ndocs/small.txt\nend\n");
    ok(run(&["clear", &c], b""), "clear");
    assert_eq!(text(run(&["list", &c, "10"], b""), "list"), "end\n");
    ok(run(&["put", &c, "left"], b"x"), "put");
    ok(run(&["delete-container", &c], b""), "delete a container that holds objects");
    assert_eq!(text(run(&["exists", &c], b""), "exists"), "false\n");
    assert!(!peer.s3cmd_ok(&["ls"]).contains(&format!("s3://{c}\n")), "the bucket is gone");
    staging_is_empty(staging.path());
}

#[test]
fn without_a_granted_directory_writes_fail_clearly_and_reads_in_one_piece_still_work() {
    let b = Bucket::new("blob-nodir");
    let rgw = spaces_tests::rgw();
    std::fs::write(b.path("seed.txt"), "seeded by s3cmd\n").unwrap();
    b.s3cmd_ok(&["put", b.path("seed.txt").to_str().unwrap(), &format!("s3://{}/seed.txt", b.name)]);
    let run = |args: &[&str], stdin: &[u8]| composition().run(&rgw, None, &[], args, stdin);

    let why = refused(run(&["put", &b.name, "new.txt"], b"data"), "put without a directory");
    assert!(why.contains("no directory to stage values in") && why.contains("--dir"), "{why}");
    let why = refused(run(&["put-named-first", &b.name, "new.txt"], b"data"), "put, named first");
    assert!(why.contains("no directory to stage values in"), "{why}");
    assert!(b.s3cmd_ok(&["ls", &format!("s3://{}/new.txt", b.name)]).trim().is_empty(), "nothing half-written");
    let why = refused(run(&["get", &b.name, "seed.txt"], b""), "streamed read without a directory");
    assert!(why.contains("incoming-value-consume-sync needs none"), "{why}");
    assert_eq!(ok(run(&["get-sync", &b.name, "seed.txt"], b""), "get-sync"), b"seeded by s3cmd\n");

    // A directory named in the settings must be one the host granted.
    let staging = tempfile::tempdir().unwrap();
    let named = composition().run(
        &rgw,
        Some(staging.path()),
        &[("SPACES_STAGING_DIR", "/elsewhere")],
        &["put", &b.name, "n"],
        b"x",
    );
    assert!(refused(named, "unknown staging dir").contains("\"/elsewhere\" is not one the host granted (/staging)"));
}

#[test]
fn wrong_credentials_and_missing_settings_are_errors_a_person_can_act_on() {
    let b = Bucket::new("blob-creds");
    let rgw = spaces_tests::rgw();
    let staging = tempfile::tempdir().unwrap();
    let wrong = [("SPACES_SECRET_ACCESS_KEY", "not-the-secret")];
    let out = composition().run(&rgw, Some(staging.path()), &wrong, &["put", &b.name, "k"], b"data");
    let why = refused(out, "wrong secret");
    assert!(why.contains("SPACES_SECRET_ACCESS_KEY") && !why.contains(&rgw.secret_key), "{why}");
    staging_is_empty(staging.path());
    let out = composition().run(&rgw, Some(staging.path()), &[("SPACES_ACCESS_KEY_ID", "")], &["exists", &b.name], b"");
    let why = refused(out, "no key");
    assert!(why.contains("SPACES_ACCESS_KEY_ID is not set in the component's environment"), "{why}");
}
