//! Every CLI command against Ceph RGW through the real binary and the real component.

use spaces_tests::{pattern, sha256, Bucket};

#[test]
fn put_get_head_rm_exists_round_trip() {
    let b = Bucket::new("roundtrip");
    let data = pattern(100_000, 1);
    std::fs::write(b.path("in.bin"), &data).unwrap();
    let out = b.ok(&["put", "in.bin", "data/in.bin", "--cache-control", "max-age=60", "--meta", "owner=ops"]);
    assert!(out.contains("uploaded data/in.bin (100000 bytes"), "{out}");

    b.ok(&["get", "data/in.bin", "out.bin"]);
    assert_eq!(sha256(&std::fs::read(b.path("out.bin")).unwrap()), sha256(&data));
    b.ok(&["get", "data/in.bin"]);
    assert_eq!(std::fs::read(b.path("in.bin")).unwrap(), data, "default destination is the key's file name");
    b.ok(&["get", "data/in.bin", "fresh/"]);
    assert_eq!(std::fs::read(b.path("fresh/in.bin")).unwrap(), data, "a name ending in / is a directory, made");
    let stdout = b.spaces().args(["get", "data/in.bin", "-"]).output().unwrap();
    assert_eq!(sha256(&stdout.stdout), sha256(&data));

    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "data/in.bin"])).unwrap();
    assert_eq!(head["size"], 100_000);
    assert_eq!(head["cache_control"], "max-age=60");
    assert_eq!(head["metadata"]["owner"], "ops");
    assert_eq!(head["content_type"], "binary/octet-stream");

    assert_eq!(b.ok(&["exists", "data/in.bin"]).trim(), "true");
    b.ok(&["rm", "data/in.bin"]);
    b.fails(&["exists", "data/in.bin"], 3);
    b.ok(&["rm", "data/in.bin"]); // deleting what is gone succeeds, as in S3
}

/// A download replaces a regular file by renaming a finished partial file over it — but a FIFO (like /dev/null, a
/// file that is not a regular file) is written as it is, a symbolic link keeps pointing where it did, at the file
/// that now holds the object, and /dev/stdout is standard output. Renaming over them would put a regular file in
/// their place.
#[test]
fn downloads_leave_fifos_links_and_a_redirected_stdout_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let b = Bucket::new("special");
    let data = pattern(300_000, 7);
    std::fs::write(b.path("in.bin"), &data).unwrap();
    b.ok(&["put", "in.bin", "k"]);

    let fifo = b.path("pipe");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let reading = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(reading).unwrap());
    b.ok(&["get", "k", "pipe"]);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(sha256(&reader.join().unwrap()), sha256(&data), "the reader got the object");

    std::fs::write(b.path("target.bin"), b"old").unwrap();
    std::os::unix::fs::symlink("target.bin", b.path("link.bin")).unwrap();
    b.ok(&["get", "k", "link.bin"]);
    assert!(std::fs::symlink_metadata(b.path("link.bin")).unwrap().file_type().is_symlink(), "the link stays");
    assert_eq!(sha256(&std::fs::read(b.path("target.bin")).unwrap()), sha256(&data), "its target holds the object");

    // /dev/stdout when the shell sent standard output to a file: the object follows what was written before, in
    // the same file, as `get k -` would put it.
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let mut log = std::fs::File::create(b.path("log")).unwrap();
    log.write_all(b"before\n").unwrap();
    let inode = log.metadata().unwrap().ino();
    let out = b.spaces().args(["get", "k", "/dev/stdout"]).stdout(log).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(b.path("log")).unwrap().ino(), inode, "the file standard output went to stays");
    assert_eq!(sha256(&std::fs::read(b.path("log")).unwrap()), sha256(&[b"before\n".as_slice(), &data].concat()));

    let left: Vec<_> = std::fs::read_dir(b.path("")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().contains("spaces-partial")), "{left:?}");
}

#[test]
fn ranges_and_empty_objects() {
    let b = Bucket::new("ranges");
    std::fs::write(b.path("digits.txt"), b"0123456789").unwrap();
    b.ok(&["put", "digits.txt", "d"]);
    b.ok(&["get", "d", "part", "--range", "2-5"]);
    assert_eq!(std::fs::read(b.path("part")).unwrap(), b"2345");
    b.ok(&["get", "d", "tail", "--range", "7-"]);
    assert_eq!(std::fs::read(b.path("tail")).unwrap(), b"789");
    let err = b.fails(&["get", "d", "bad", "--range", "5-2"], 2);
    assert!(err.contains("ends before it starts"), "{err}");

    std::fs::write(b.path("empty"), b"").unwrap();
    b.ok(&["put", "empty", "zero"]);
    b.ok(&["get", "zero", "zero.out"]);
    assert_eq!(std::fs::read(b.path("zero.out")).unwrap(), b"");
}

#[test]
fn stdin_upload_and_multipart_boundaries() {
    let b = Bucket::new("multipart");
    let mib = 1 << 20;
    // Threshold and part size 5 MiB: sizes around the boundary and several parts, one not a multiple of the part,
    // with parts sent one at a time, two at a time, and more in flight than there are parts.
    let cases = [(0, "1"), (1, "1"), (5 * mib - 1, "4"), (5 * mib, "4"), (5 * mib + 1, "2"), (12 * mib + 12345, "1")];
    // Parts are hashed in SIMD lanes as they go out, as many at once as are in flight: one to four lanes, and
    // more parts in flight than lanes.
    let more = [(23 * mib + 7, "2"), (16 * mib - 3, "8"), (20 * mib + 65, "3"), (31 * mib - 64, "4")];
    for (i, (size, concurrency)) in cases.into_iter().chain(more).enumerate() {
        let data = pattern(size, i as u64);
        std::fs::write(b.path("f"), &data).unwrap();
        let key = format!("mp/{size}");
        let out =
            b.ok(&["put", "f", &key, "--multipart-threshold", "5242880", "--part-size", "5242880", "-j", concurrency]);
        let parts = size.div_ceil(5 * mib);
        if size > 5 * mib {
            assert!(out.contains(&format!("{parts} parts")), "{size}: {out}");
        } else {
            assert!(!out.contains("parts"), "{size}: {out}");
        }
        b.ok(&["get", &key, "g"]);
        assert_eq!(sha256(&std::fs::read(b.path("g")).unwrap()), sha256(&data), "size {size}");
        let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", &key])).unwrap();
        let etag = head["etag"].as_str().unwrap();
        assert!(out.contains(&format!("etag {etag})")), "the ETag computed from the parts is the server's: {out}");
    }
    // Unknown size from stdin, several parts.
    let data = pattern(11 * mib, 9);
    let mut child = b
        .spaces()
        .args(["put", "-", "mp/stdin", "--multipart-threshold", "5242880", "--part-size", "5242880"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &data).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(printed.contains("3 parts"), "{printed}");
    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "mp/stdin"])).unwrap();
    assert_eq!(head["size"], 11 * mib);
    let etag = head["etag"].as_str().unwrap();
    assert!(etag.ends_with("-3") && etag.len() == 34, "multipart ETag: {head}");
    assert!(
        printed.contains(&format!("etag {etag})")),
        "the ETag computed from the parts matches the server's: {printed}"
    );
    // Nothing left half-done.
    assert!(b.s3cmd_ok(&["multipart", &format!("s3://{}", b.name)]).lines().filter(|l| l.contains("mp/")).count() == 0);
}

#[test]
fn put_and_get_recursive_round_trip_a_tree_under_a_prefix() {
    let b = Bucket::new("tree");
    let root = b.path("tree");
    let files: [(&str, usize); 6] = [
        ("a.txt", 10),
        ("empty", 0),
        ("sub/b.json", 2000),
        ("sub/deep/c d.bin", 70_000),
        ("sub/ü.txt", 5),
        ("big", 6 << 20),
    ];
    for (i, (name, size)) in files.iter().enumerate() {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pattern(*size, 100 + i as u64)).unwrap();
    }
    let out = b
        .spaces()
        .args(["put", "-r", "tree", "backup", "-j", "3", "--multipart-threshold", "5242880"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("uploaded 6 of 6 files"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "no progress output when stderr is not a terminal: {}",
        spaces_tests::describe(&out)
    );

    let listing: serde_json::Value = serde_json::from_str(&b.ok(&["ls", "backup/", "--json"])).unwrap();
    let mut got: Vec<(String, u64)> = listing["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["key"].as_str().unwrap().to_string(), o["size"].as_u64().unwrap()))
        .collect();
    got.sort();
    let mut want: Vec<(String, u64)> = files.iter().map(|(n, s)| (format!("backup/{n}"), *s as u64)).collect();
    want.sort();
    assert_eq!(got, want);
    let out = b.ok(&["get", "-r", "backup", "restored", "-j", "2"]);
    assert!(out.contains("downloaded 6 of 6 files"), "{out}");
    for (i, (name, size)) in files.iter().enumerate() {
        let back = std::fs::read(b.path("restored").join(name)).unwrap();
        assert_eq!(sha256(&back), sha256(&pattern(*size, 100 + i as u64)), "{name}");
    }
    let leftovers = std::fs::read_dir(b.path("restored"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("spaces-partial"));
    assert_eq!(leftovers.count(), 0);
    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "backup/sub/b.json"])).unwrap();
    assert_eq!(head["content_type"], "application/json", "content type guessed per file");

    let err = b.fails(&["put", "-r", "tree/a.txt", "x"], 2);
    assert!(err.contains("is not a directory"), "{err}");
    let err = b.fails(&["put", "tree", "x"], 2);
    assert!(err.contains("is a directory; `put -r DIR PREFIX`"), "{err}");
    let err = b.fails(&["put", "-r", "tree", "x", "-j", "0"], 2);
    assert!(err.contains("0 is not in 1..=64"), "{err}");
}

#[test]
fn listing_pages_prefixes_and_json() {
    let b = Bucket::new("listing");
    std::fs::write(b.path("x"), b"x").unwrap();
    for key in ["a/1", "a/2", "a/b/3", "c", "d e+f"] {
        b.ok(&["put", "x", key]);
    }
    let all = b.ok(&["ls", "--page-size", "2"]);
    let keys: Vec<&str> = all.lines().map(|l| l.rsplit("  ").next().unwrap()).collect();
    assert_eq!(keys, ["a/1", "a/2", "a/b/3", "c", "d e+f"], "{all}");

    let grouped = b.ok(&["ls", "a/", "--delimiter", "/"]);
    assert!(grouped.contains("PRE  a/b/"), "{grouped}");
    assert_eq!(grouped.lines().count(), 3, "{grouped}");

    let json: serde_json::Value = serde_json::from_str(&b.ok(&["ls", "--json", "--delimiter", "/"])).unwrap();
    assert_eq!(json["prefixes"], serde_json::json!(["a/"]));
    assert_eq!(json["objects"].as_array().unwrap().len(), 2);
    assert_eq!(json["objects"][1]["key"], "d e+f");
    assert_eq!(b.ok(&["ls", "zzz"]), "");
    b.fails(&["ls", "--page-size", "0"], 2);
}

#[test]
fn copy_and_urls() {
    let b = Bucket::new("copyurl");
    std::fs::write(b.path("x.html"), b"<p>hi</p>").unwrap();
    b.ok(&["put", "x.html", "src/x.html"]);
    b.ok(&["cp", "src/x.html", "dst/y.html"]);
    b.ok(&["get", "dst/y.html", "y"]);
    assert_eq!(std::fs::read(b.path("y")).unwrap(), b"<p>hi</p>");
    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "dst/y.html"])).unwrap();
    assert_eq!(head["content_type"], "text/html; charset=utf-8", "type guessed at upload, kept by copy");
    let err = b.fails(&["cp", "missing", "z"], 3);
    assert!(err.contains("copy source"), "{err}");

    let url = b.ok(&["url", "a b/ü.png"]);
    assert_eq!(url.trim(), format!("{}/{}/a%20b/%C3%BC.png", b.rgw.endpoint, b.name));
    let cdn = b.ok(&["url", "a b/ü.png", "--cdn"]);
    assert_eq!(cdn.trim(), format!("https://{}.us-east-1.cdn.digitaloceanspaces.com/a%20b/%C3%BC.png", b.name));
    let cdn = b.ok(&["url", "k", "--cdn", "--cdn-host", "cdn.example.com"]);
    assert_eq!(cdn.trim(), "https://cdn.example.com/k");
}

#[test]
fn awkward_keys_and_unicode_metadata_round_trip() {
    let b = Bucket::new("awkward");
    std::fs::write(b.path("v"), b"value").unwrap();
    let keys = [
        "日本語/ファイル.txt",
        "sp ace",
        "plus+sign",
        "per%cent",
        "tilde~",
        "eq=amp&",
        "semi;colon",
        "a//double",
        "emoji 🚀",
        "quote'\"",
        "(parens)[brackets]",
    ];
    for key in keys {
        b.ok(&["put", "v", key, "--meta", "note=Grüße, 世界", "--meta", "Plain=ascii value"]);
        b.ok(&["get", key, "out"]);
        assert_eq!(std::fs::read(b.path("out")).unwrap(), b"value", "{key}");
        let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", key])).unwrap();
        assert_eq!(head["key"], key);
        assert_eq!(head["metadata"]["note"], "Grüße, 世界", "{key}");
        assert_eq!(head["metadata"]["plain"], "ascii value", "{key}");
    }
    let listed: serde_json::Value = serde_json::from_str(&b.ok(&["ls", "--json"])).unwrap();
    let mut got: Vec<&str> = listed["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    let mut want = keys.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn bad_input_gets_clear_errors_and_exit_codes() {
    let b = Bucket::new("badinput");
    let err = b.fails(&["get", "nope"], 3);
    assert!(err.contains("not found") && err.contains("nope"), "{err}");
    b.fails(&["head", "nope"], 3);
    assert!(!b.path("nope").exists(), "a failed download leaves no file");

    let long = "k".repeat(1025);
    let err = b.fails(&["head", &long], 2);
    assert!(err.contains("1024"), "{err}");
    let err = b.fails(&["presign", "k", "--expires", "604801"], 2);
    assert!(err.contains("604800"), "{err}");
    let err = b.fails(&["put", "no-such-file", "k"], 2);
    assert!(err.contains("no-such-file"), "{err}");
    let err = b.fails(&["put", "x", "k", "--meta", "novalue"], 2);
    assert!(err.contains("NAME=VALUE"), "{err}");

    let err = run_with(&b, &[("SPACES_SECRET_ACCESS_KEY", "wrong-secret")], &["ls"], 4);
    assert!(err.contains("SPACES_SECRET_ACCESS_KEY"), "{err}");
    assert!(!err.contains("wrong-secret") && !err.contains(&b.rgw.secret_key), "no secret in errors: {err}");
    let err = run_with(&b, &[("SPACES_ACCESS_KEY_ID", "UNKNOWNKEY")], &["ls"], 4);
    assert!(err.contains("SPACES_ACCESS_KEY_ID"), "{err}");
    let err = run_with(&b, &[("SPACES_BUCKET", "no-such-bucket-here")], &["ls"], 3);
    assert!(err.contains("no-such-bucket-here") && err.contains("SPACES_BUCKET"), "{err}");
    let err = run_with(&b, &[("SPACES_BUCKET", "Bad_Bucket")], &["ls"], 2);
    assert!(err.contains("bucket name"), "{err}");

    let mut c = b.spaces();
    c.env_remove("SPACES_SECRET_ACCESS_KEY").env_remove("SPACES_ACCESS_KEY_ID").args(["ls"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPACES_ACCESS_KEY_ID"));

    let mut c = b.spaces();
    c.env_remove("SPACES_BUCKET").args(["ls"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPACES_BUCKET"));

    let out = b.spaces().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn credentials_from_a_dotenv_file_and_metrics() {
    let b = Bucket::new("dotenv");
    std::fs::write(
        b.path(".env"),
        format!(
            "# test\nSPACES_ACCESS_KEY_ID={}\nexport SPACES_SECRET_ACCESS_KEY=\"{}\"\n",
            b.rgw.access_key, b.rgw.secret_key
        ),
    )
    .unwrap();
    let mut c = b.spaces();
    c.env_remove("SPACES_SECRET_ACCESS_KEY").env_remove("SPACES_ACCESS_KEY_ID").args(["ls", "--print-metrics"]);
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let metrics = String::from_utf8_lossy(&out.stderr);
    assert!(metrics.contains("spaces_operations_total{operation=\"list-objects\",status=\"2xx\"} 1"), "{metrics}");
    assert!(metrics.contains("spaces_http_connections_opened_total 1"), "{metrics}");
    assert!(!metrics.contains(&b.rgw.secret_key));
}

/// Runs with some environment overridden and expects `code`; returns stderr.
fn run_with(b: &Bucket, env: &[(&str, &str)], args: &[&str], code: i32) -> String {
    let mut c = b.spaces();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", spaces_tests::describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn recursive_delete_needs_confirmation_and_batches() {
    let b = Bucket::new("rmrecursive");
    std::fs::write(b.path("x"), b"x").unwrap();
    for key in ["logs/a", "logs/b&c", "logs/deep/ü", "logsbook", "keep/me"] {
        b.ok(&["put", "x", key]);
    }
    let err = b.fails(&["rm", "-r", "logs/"], 2);
    assert!(err.contains("would delete 3 objects") && err.contains("--yes"), "{err}");
    assert_eq!(b.ok(&["ls", "logs/"]).lines().count(), 3, "nothing deleted without --yes");

    let out = b.ok(&["rm", "-r", "logs/", "--yes"]);
    assert!(out.contains("deleted 3 of 3 objects"), "{out}");
    let left: Vec<String> = b.ok(&["ls"]).lines().map(|l| l.rsplit("  ").next().unwrap().to_string()).collect();
    assert_eq!(left, ["keep/me", "logsbook"]);
    assert!(b.ok(&["rm", "-r", "nothing/", "--yes"]).contains("deleted 0 of 0"));
    b.fails(&["rm", "k", "--yes"], 2);
}

#[test]
fn completion_scripts_name_every_command_for_each_shell() {
    for (shell, marker) in [("bash", "_spaces()"), ("zsh", "#compdef spaces"), ("fish", "complete -c spaces")] {
        let out =
            spaces_tests::run(std::process::Command::new(spaces_tests::spaces_bin()).args(["completions", shell]));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success() && script.contains(marker), "{shell}: {}", &script[..script.len().min(200)]);
        for command in ["presign-post", "buckets", "sync", "uploads"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    // A reader that stops early (`| head -1`) is no failure, and no panic.
    let out = reader_gone(std::process::Command::new(spaces_tests::spaces_bin()).args(["completions", "bash"]));
    assert!(out.status.success() && out.stderr.is_empty(), "{}", spaces_tests::describe(&out));
    let out = spaces_tests::run(std::process::Command::new(spaces_tests::spaces_bin()).args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Runs `cmd` with its stdout's reader closed before the first byte, as `| head` does to a long output.
fn reader_gone(cmd: &mut std::process::Command) -> std::process::Output {
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait")
}

/// `spaces ls | head -1`: a reader that goes away before the listing is printed ends the command quietly, as it
/// does for ripgrep, where it once panicked with "failed printing to stdout"; `spaces get KEY - | head -c 10` too,
/// where it once failed with "Broken pipe".
#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let b = Bucket::new("pipe");
    std::fs::write(b.path("a.txt"), "a").unwrap();
    for key in ["one.txt", "two.txt", "three.txt"] {
        b.ok(&["put", "a.txt", key]);
    }
    std::fs::write(b.path("big.bin"), pattern(1 << 20, 9)).unwrap();
    b.ok(&["put", "big.bin", "big.bin"]);
    let listings = [&["ls"][..], &["buckets"], &["presign", "one.txt", "two.txt"], &["head", "one.txt"]];
    for args in listings.into_iter().chain([&["get", "big.bin", "-"][..]]) {
        let out = reader_gone(b.spaces().args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.is_empty(), "{args:?}: {:?} {stderr}", out.status);
    }
}

#[test]
fn compiled_components_unused_for_a_month_are_removed_when_a_new_one_is_cached() {
    use std::time::{Duration, SystemTime};
    let b = Bucket::new("cacheprune");
    let cache = b.path("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let day = Duration::from_secs(24 * 60 * 60);
    let aged = |name: &str, age: Duration| {
        let f = std::fs::File::create(cache.join(name)).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    };
    aged("component-0123.cwasm", 40 * day);
    aged("component-0456.tmp99", 40 * day);
    aged("component-0789.cwasm", day);
    aged("notes.txt", 40 * day);
    let url = || {
        let out = b.spaces().env("SPACES_CACHE_DIR", &cache).args(["url", "k"]).output().unwrap();
        assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    };
    let names = || {
        let mut n: Vec<String> =
            std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        n.sort();
        n
    };
    // Nothing cached for this build: it compiles, caches, and prunes what no run loaded for 30 days.
    url();
    let left = names();
    assert!(!left.iter().any(|n| n.starts_with("component-0123") || n.starts_with("component-0456")), "{left:?}");
    assert!(left.contains(&"component-0789.cwasm".to_string()) && left.contains(&"notes.txt".to_string()), "{left:?}");
    let fresh: Vec<&String> = left.iter().filter(|n| n.ends_with(".cwasm") && *n != "component-0789.cwasm").collect();
    assert_eq!(fresh.len(), 1, "{left:?}");
    // An entry in use is kept young: loading it restarts its age.
    let entry = cache.join(fresh[0]);
    std::fs::File::options().write(true).open(&entry).unwrap().set_modified(SystemTime::now() - 40 * day).unwrap();
    url();
    let age = SystemTime::now().duration_since(std::fs::metadata(&entry).unwrap().modified().unwrap()).unwrap();
    assert!(age < day, "the entry just loaded is {age:?} old");
}
