//! Buckets and object ACLs through the real binary against RGW, checked with s3cmd and anonymous curl: `mb`,
//! `buckets`, `rb` (refusing a bucket that holds anything unless `--force`, which empties it, incomplete
//! multipart uploads included), and `acl` showing and setting who may read an object.

use spaces_tests::{curl, pattern, run, Bucket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// s3cmd's `multipart` listing of `bucket`: one line per incomplete upload.
fn incomplete_uploads(b: &Bucket, bucket: &str) -> String {
    b.s3cmd_ok(&["multipart", &format!("s3://{bucket}")])
}

#[test]
fn buckets_are_made_listed_and_removed_and_one_that_holds_anything_only_with_force() {
    let b = Bucket::new("buckets-home");
    let name = format!("made-{}", std::process::id());
    assert_eq!(b.ok(&["mb", &name]).trim(), format!("made bucket {name}"));
    assert!(b.s3cmd_ok(&["ls"]).contains(&format!("s3://{name}")), "s3cmd sees it");
    let listed: serde_json::Value = serde_json::from_str(&b.ok(&["buckets", "--json"])).unwrap();
    let entry = listed["buckets"].as_array().unwrap().iter().find(|e| e["name"] == name.as_str()).expect("listed");
    assert!(entry["created"].as_str().unwrap().starts_with("20"), "{entry}");
    assert!(b.ok(&["buckets"]).lines().any(|l| l.ends_with(&format!("  {name}"))), "the table lists it too");
    // Listing needs no bucket of its own.
    let out = run(b.spaces().env_remove("SPACES_BUCKET").arg("buckets"));
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&name), "{out:?}");

    assert!(b.fails(&["mb", &name], 1).contains("already exists"), "a taken name is refused");
    assert!(b.fails(&["mb", "Not_A_Bucket"], 2).contains("bucket name \"Not_A_Bucket\" is invalid"));
    assert!(b.fails(&["mb", &format!("spaces://{name}/key")], 2).contains("give the bucket alone"));

    // Fill it: objects, and an upload left incomplete by a SIGKILL.
    let other = |args: &[&str]| {
        let out = run(b.spaces().args(["--bucket", &name]).args(args));
        assert!(out.status.success(), "{args:?}: {}", spaces_tests::describe(&out));
    };
    std::fs::write(b.path("a.txt"), "a").unwrap();
    for key in ["a.txt", "dir/b.txt", "dir/c.txt"] {
        other(&["put", "a.txt", key]);
    }
    std::fs::write(b.path("big.bin"), pattern(48 << 20, 3)).unwrap();
    let mut child = b
        .spaces()
        .args(["--bucket", &name, "put", "big.bin", "big.bin", "-j", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !incomplete_uploads(&b, &name).contains("big.bin") {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let refused = b.fails(&["rb", &name], 1);
    assert!(refused.contains("--force"), "{refused}");
    assert!(b.s3cmd_ok(&["ls"]).contains(&format!("s3://{name}")), "still there");
    let out = b.ok(&["rb", &format!("spaces://{name}"), "--force"]);
    assert!(out.contains("deleted 3 objects") && out.contains(&format!("removed bucket {name}")), "{out}");
    assert!(!b.s3cmd_ok(&["ls"]).contains(&format!("s3://{name}\n")), "gone");
    assert!(b.fails(&["rb", &name], 3).contains("does not exist"), "removing it again: not found");
}

#[test]
fn an_objects_acl_is_shown_and_set_and_anonymous_readers_see_the_difference() {
    let b = Bucket::new("acl");
    std::fs::write(b.path("doc.txt"), "who may read this?\n").unwrap();
    b.ok(&["put", "doc.txt", "doc.txt"]);
    let url = b.ok(&["url", "doc.txt"]).trim().to_string();
    let anonymous = || curl("GET", &url, None, &[]).0;

    assert!(b.ok(&["acl", "doc.txt"]).starts_with("doc.txt: private (owner "), "private by default");
    assert_eq!(anonymous(), 403);
    assert_eq!(b.ok(&["acl", "doc.txt", "public"]).trim(), "doc.txt is now public");
    assert_eq!(anonymous(), 200);
    let shown: serde_json::Value = serde_json::from_str(&b.ok(&["acl", "doc.txt", "--json"])).unwrap();
    assert_eq!(shown["acl"], "public");
    let grants: Vec<&str> = shown["grants"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(grants.contains(&"http://acs.amazonaws.com/groups/global/AllUsers READ"), "{grants:?}");
    b.ok(&["acl", "doc.txt", "private"]);
    assert_eq!(anonymous(), 403);
    let info = b.s3cmd_ok(&["info", &format!("s3://{}/doc.txt", b.name)]);
    assert!(!info.contains("anon"), "s3cmd sees no anonymous grant: {info}");

    assert!(b.fails(&["acl", "missing.txt"], 3).contains("not found"));
    let err = run(Command::new(spaces_tests::spaces_bin()).args(["acl", "doc.txt", "everyone"]));
    assert_eq!(err.status.code(), Some(2), "an unknown ACL is a usage error");
}
