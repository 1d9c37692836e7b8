//! Buckets, their settings and object ACLs through the real binary against RGW, checked with s3cmd and curl:
//! `mb`, `buckets`, `rb` (refusing a bucket that holds anything unless `--force`, which empties it, incomplete
//! multipart uploads included), `acl` showing and setting who may read an object, `cors` answered in a real
//! preflight, and `lifecycle` rules round-tripped through AWS's JSON shape.

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

/// A CORS preflight for `method` from `origin`, sent by curl to RGW: status and response head.
fn preflight(url: &str, origin: &str, method: &str) -> (u16, String) {
    let out = run(Command::new("curl").args(["-s", "-i", "-X", "OPTIONS", url]).args([
        "-H",
        &format!("Origin: {origin}"),
        "-H",
        &format!("Access-Control-Request-Method: {method}"),
    ]));
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head)
}

#[test]
fn cors_rules_are_set_shown_and_answered_in_a_preflight_then_removed() {
    let b = Bucket::new("cors");
    assert_eq!(b.ok(&["cors", "show"]).trim(), "no CORS rules");
    let set = [
        "cors",
        "set",
        "--allow-origin",
        "https://app.example",
        "--allow-method",
        "put",
        "--allow-method",
        "GET",
        "--allow-header",
        "*",
        "--expose-header",
        "ETag",
        "--max-age",
        "600",
    ];
    assert_eq!(b.ok(&set).trim(), "set 1 CORS rule");
    let shown: serde_json::Value = serde_json::from_str(&b.ok(&["cors", "show", "--json"])).unwrap();
    let rule = &shown["CORSRules"][0];
    let mut methods: Vec<&str> =
        rule["AllowedMethods"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "PUT"], "upper-cased, in the service's order: {shown}");
    assert_eq!(
        (rule["AllowedOrigins"][0].as_str(), rule["MaxAgeSeconds"].as_u64()),
        (Some("https://app.example"), Some(600))
    );
    // What `show --json` prints, `set --file` reads back unchanged.
    std::fs::write(b.path("rules.json"), shown.to_string()).unwrap();
    b.ok(&["cors", "set", "--file", "rules.json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&b.ok(&["cors", "show", "--json"])).unwrap(), shown);
    let text = b.ok(&["cors", "show"]);
    assert!(text.contains("rule 1: ") && text.contains(" from https://app.example"), "{text}");

    let url = format!("{}/{}/upload.bin", b.rgw.endpoint, b.name);
    let (status, head) = preflight(&url, "https://app.example", "PUT");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("access-control-allow-origin: https://app.example"), "{head}");
    assert!(head.contains("access-control-max-age: 600"), "{head}");
    assert_eq!(preflight(&url, "https://evil.example", "PUT").0, 403, "another origin is refused");

    let refused = b.fails(&["cors", "set", "--allow-origin", "*", "--allow-method", "PATCH"], 2);
    assert!(refused.contains("\"PATCH\" is not one of GET, PUT, POST, DELETE, HEAD"), "{refused}");
    std::fs::write(b.path("bad.json"), r#"{"CORSRules": [{"AllowedOrigin": ["*"]}]}"#).unwrap();
    assert!(b.fails(&["cors", "set", "--file", "bad.json"], 2).contains("not a CORS rules file"));
    assert_eq!(preflight(&url, "https://app.example", "PUT").0, 200, "a refused change leaves the rules as they were");

    assert_eq!(b.ok(&["cors", "rm"]).trim(), "removed the CORS configuration");
    assert_eq!(b.ok(&["cors", "show"]).trim(), "no CORS rules");
    assert_eq!(preflight(&url, "https://app.example", "PUT").0, 403, "no rules, no cross-origin access");
    let out = run(b.spaces().args(["--bucket", &format!("{}-missing", b.name), "cors", "show"]));
    assert_eq!(out.status.code(), Some(3), "a missing bucket is not an empty configuration");
}

#[test]
fn lifecycle_rules_are_set_shown_round_tripped_and_removed() {
    let b = Bucket::new("lifecycle");
    assert_eq!(b.ok(&["lifecycle", "show"]).trim(), "no lifecycle rules");
    let set = [
        "lifecycle",
        "set",
        "--expire-days",
        "30",
        "--prefix",
        "logs/",
        "--abort-incomplete-days",
        "2",
        "--id",
        "logs",
    ];
    let out = b.ok(&set);
    assert_eq!(
        out.trim(),
        "set logs: keys under \"logs/\": delete objects after 30 days, abort incomplete uploads after 2 days"
    );
    let shown: serde_json::Value = serde_json::from_str(&b.ok(&["lifecycle", "show", "--json"])).unwrap();
    let rule = &shown["Rules"][0];
    assert_eq!((rule["ID"].as_str(), rule["Filter"]["Prefix"].as_str()), (Some("logs"), Some("logs/")), "{shown}");
    assert_eq!((rule["Expiration"]["Days"].as_u64(), rule["Status"].as_str()), (Some(30), Some("Enabled")));
    assert_eq!(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_u64(), Some(2));
    let peer = b.s3cmd_ok(&["getlifecycle", &format!("s3://{}", b.name)]);
    assert!(peer.contains("<Days>30</Days>") && peer.contains("logs/"), "s3cmd reads the same rule: {peer}");

    // Two rules from a file in AWS's shape, one disabled; what `show --json` prints reads back unchanged.
    let rules = r#"{"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "uploads", "Prefix": "", "Status": "Disabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    ]}"#;
    std::fs::write(b.path("rules.json"), rules).unwrap();
    b.ok(&["lifecycle", "set", "--file", "rules.json"]);
    let text = b.ok(&["lifecycle", "show"]);
    assert!(text.contains("tmp: keys under \"tmp/\": delete objects after 1 day"), "{text}");
    assert!(text.contains("uploads: every key: abort incomplete uploads after 7 days (disabled)"), "{text}");
    let shown = b.ok(&["lifecycle", "show", "--json"]);
    std::fs::write(b.path("again.json"), &shown).unwrap();
    b.ok(&["lifecycle", "set", "--file", "again.json"]);
    assert_eq!(b.ok(&["lifecycle", "show", "--json"]), shown);

    assert!(b.fails(&["lifecycle", "set", "--expire-days", "0"], 2).contains("at least 1"));
    std::fs::write(b.path("nothing.json"), r#"{"Rules": [{"ID": "x", "Status": "Enabled"}]}"#).unwrap();
    assert!(b.fails(&["lifecycle", "set", "--file", "nothing.json"], 2).contains("does nothing"));
    let transition =
        r#"{"Rules": [{"ID": "x", "Status": "Enabled", "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}]}"#;
    std::fs::write(b.path("transition.json"), transition).unwrap();
    let refused = b.fails(&["lifecycle", "set", "--file", "transition.json"], 2);
    assert!(refused.contains("unknown field `Transitions`"), "a kind Spaces lacks is refused, not dropped: {refused}");
    assert_eq!(b.ok(&["lifecycle", "rm"]).trim(), "removed the lifecycle configuration");
    assert_eq!(b.ok(&["lifecycle", "show"]).trim(), "no lifecycle rules");
}

#[test]
fn a_versioned_bucket_keeps_what_overwrites_and_deletes_replace_and_rb_force_clears_every_version() {
    let b = Bucket::new("versions");
    assert_eq!(b.ok(&["versioning", "show"]).trim(), "unversioned");
    assert_eq!(b.ok(&["versioning", "on"]).trim(), "versioning enabled");
    assert_eq!(b.ok(&["versioning", "show"]).trim(), "enabled");
    for text in ["first", "second"] {
        std::fs::write(b.path("doc.txt"), text).unwrap();
        b.ok(&["put", "doc.txt", "doc.txt"]);
    }
    let versions = |b: &Bucket| -> Vec<serde_json::Value> {
        let listed: serde_json::Value = serde_json::from_str(&b.ok(&["ls", "--versions", "--json"])).unwrap();
        listed["versions"].as_array().unwrap().clone()
    };
    let listed = versions(&b);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!((listed[0]["is_latest"].as_bool(), listed[0]["size"].as_u64()), (Some(true), Some(6)), "newest first");
    let first_id = listed[1]["version_id"].as_str().unwrap().to_string();
    assert_eq!(
        b.ok(&["get", "doc.txt", "-", "--version-id", &first_id]),
        "first",
        "the overwritten version reads back"
    );
    assert_eq!(b.ok(&["get", "doc.txt", "-"]), "second");
    assert!(b.ok(&["ls", "--versions"]).lines().any(|l| l.contains(&first_id) && l.ends_with("doc.txt")));

    // A delete leaves a marker; deleting the marker brings the object back.
    b.ok(&["rm", "doc.txt"]);
    let listed = versions(&b);
    assert_eq!((listed.len(), listed[0]["delete_marker"].as_bool()), (3, Some(true)), "{listed:?}");
    b.fails(&["exists", "doc.txt"], 3);
    let marker = listed[0]["version_id"].as_str().unwrap().to_string();
    assert_eq!(
        b.ok(&["rm", "doc.txt", "--version-id", &marker]).trim(),
        format!("deleted version {marker} of doc.txt")
    );
    assert_eq!(b.ok(&["get", "doc.txt", "-"]), "second");
    assert!(b.fails(&["get", "doc.txt", "-", "--version-id", "no such version"], 2).contains("not a version id"));

    assert_eq!(b.ok(&["versioning", "suspend"]).trim(), "versioning suspended");
    assert_eq!(b.ok(&["versioning", "show"]).trim(), "suspended");
    // Every version is what keeps a bucket from being removed; --force removes them all.
    let out = b.ok(&["rb", &b.name, "--force"]);
    assert!(out.contains(&format!("removed bucket {}", b.name)), "{out}");
    assert!(!b.s3cmd_ok(&["ls"]).contains(&format!("s3://{}\n", b.name)), "gone, versions and all");
}

#[test]
fn cp_copies_across_buckets_server_side_and_keeps_metadata_and_content_type() {
    let a = Bucket::new("cp-from");
    let b = Bucket::new("cp-to");
    std::fs::write(a.path("report.txt"), "quarterly\n").unwrap();
    a.ok(&["put", "report.txt", "docs/report.txt", "--content-type", "text/plain", "--meta", "owner=ada"]);
    let out = a.ok(&["cp", "docs/report.txt", &format!("spaces://{}/copies/report.txt", b.name)]);
    assert!(
        out.starts_with(&format!("copied docs/report.txt to spaces://{}/copies/report.txt (etag ", b.name)),
        "{out}"
    );
    let head: serde_json::Value = serde_json::from_str(&b.ok(&["head", "copies/report.txt"])).unwrap();
    assert_eq!(head["content_type"], "text/plain", "{head}");
    assert_eq!(head["metadata"]["owner"], "ada", "{head}");
    assert_eq!(b.ok(&["get", "copies/report.txt", "-"]), "quarterly\n");
    // From another bucket into the configured one, and a missing source named as such.
    b.ok(&["cp", &format!("s3://{}/docs/report.txt", a.name), "back.txt"]);
    assert_eq!(b.ok(&["get", "back.txt", "-"]), "quarterly\n");
    let err = b.fails(&["cp", &format!("spaces://{}/nope.txt", a.name), "x.txt"], 3);
    assert!(err.contains("copy source"), "{err}");
}

#[test]
fn every_object_command_takes_spaces_uris_for_any_bucket_without_a_configured_one() {
    let home = Bucket::new("addr-home");
    let other = Bucket::new("addr-other");
    let at = |key: &str| format!("spaces://{}/{key}", other.name);
    // No configured bucket at all: the URI alone says where.
    let bare = |args: &[&str]| {
        let out = run(home.spaces().env_remove("SPACES_BUCKET").args(args));
        assert!(out.status.success(), "{args:?}: {}", spaces_tests::describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    std::fs::write(home.path("note.txt"), "elsewhere\n").unwrap();
    assert!(bare(&["put", "note.txt", &at("dir/note.txt")]).starts_with("uploaded dir/note.txt"));
    assert_eq!(other.ok(&["get", "dir/note.txt", "-"]), "elsewhere\n", "stored in the named bucket");
    assert!(home.fails(&["exists", "dir/note.txt"], 3).contains("does not exist"), "not in the configured one");
    assert_eq!(bare(&["get", &at("dir/note.txt"), "-"]), "elsewhere\n");
    assert_eq!(bare(&["get", &format!("s3://{}/dir/note.txt", other.name), "-"]), "elsewhere\n", "s3:// too");
    let head: serde_json::Value = serde_json::from_str(&bare(&["head", &at("dir/note.txt")])).unwrap();
    assert_eq!(head["size"], 10);
    assert_eq!(bare(&["exists", &at("dir/note.txt")]).trim(), "true");
    assert!(bare(&["ls", &at("dir/")]).contains("dir/note.txt"));
    assert!(bare(&["acl", &at("dir/note.txt")]).starts_with("dir/note.txt: private"));
    assert!(bare(&["url", &at("dir/note.txt")]).contains(&format!("/{}/dir/note.txt", other.name)));
    let signed = bare(&["presign", &at("dir/note.txt")]);
    assert_eq!(curl("GET", signed.trim(), None, &[]), (200, b"elsewhere\n".to_vec()));
    assert!(bare(&["rm", &at("dir/note.txt")]).starts_with("deleted dir/note.txt"));
    assert!(other.fails(&["exists", "dir/note.txt"], 3).contains("does not exist"));

    // Keys of two buckets in one command, and a key with no bucket anywhere, are refused before any request.
    let two = home.fails(&["presign", &at("a"), &format!("spaces://{}/b", home.name)], 2);
    assert!(two.contains("one bucket"), "{two}");
    let out = run(home.spaces().env_remove("SPACES_BUCKET").args(["get", "a.txt", "-"]));
    let nowhere = spaces_tests::exited(&["get"], out, 2);
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("spaces://BUCKET/a.txt"), "{nowhere:?}");
}

#[test]
fn mb_of_a_name_another_account_owns_says_it_is_taken_not_access_denied() {
    let b = Bucket::new("mb-taken");
    // A second RGW user, as another DigitalOcean account would be.
    let conf = format!("{}/ceph.conf", std::env::var("RGW_DIR").expect("RGW_DIR is set by tests/run.sh"));
    let uid = format!("other-{}", std::process::id());
    let (key, secret) = (format!("OTHER{}KEY", std::process::id()), "otherSecret0000000000000000000000000000000");
    let made = run(Command::new("radosgw-admin").args(["-c", &conf, "user", "create", "--uid", &uid]).args([
        "--display-name",
        &uid,
        "--access-key",
        &key,
        "--secret",
        secret,
    ]));
    assert!(made.status.success(), "{}", spaces_tests::describe(&made));
    let name = format!("theirs-{}", std::process::id());
    let theirs =
        run(b.spaces().env("SPACES_ACCESS_KEY_ID", &key).env("SPACES_SECRET_ACCESS_KEY", secret).args(["mb", &name]));
    assert!(theirs.status.success(), "{}", spaces_tests::describe(&theirs));

    let refused = b.fails(&["mb", &name], 1);
    assert!(refused.contains("BucketAlreadyExists") && !refused.contains("denied"), "{refused}");
}
