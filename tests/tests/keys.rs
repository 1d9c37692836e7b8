//! `spaces keys` end to end against the fake DigitalOcean API: create with grants (secret shown once), list with
//! filters over pages, show, rename, rm, checks made before any request, and rotate — proven against the real
//! RGW (the fake mirrors its keys into RGW with radosgw-admin) — with each way it can fail midway.

use spaces_tests::fake_do::FakeDo;
use spaces_tests::service::Service;
use spaces_tests::{describe, exited, rgw, spaces_bin, succeeded, Bucket};
use std::process::{Command, Output};

const TOKEN: &str = "dop_v1_fake_token_for_keys";

fn spaces(api: &FakeDo, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let r = rgw();
    Command::new(spaces_bin())
        .current_dir(dir.path())
        .env("DIGITALOCEAN_API_URL", &api.url)
        .env("DIGITALOCEAN_TOKEN", TOKEN)
        .env("SPACES_ENDPOINT", &r.endpoint)
        .env("SPACES_REGION", "us-east-1")
        .env("SPACES_CACHE_DIR", std::env::temp_dir().join("spaces-test-cache"))
        .env_remove("SPACES_BUCKET")
        .args(args)
        .output()
        .unwrap()
}

fn ok(api: &FakeDo, args: &[&str]) -> String {
    succeeded(args, spaces(api, args))
}

fn fails(api: &FakeDo, args: &[&str], code: i32) -> Output {
    exited(args, spaces(api, args), code)
}

/// A fake whose keys also exist in the test RGW.
fn mirrored() -> FakeDo {
    let dir = std::env::var("RGW_DIR").expect("RGW_DIR is set by tests/run.sh");
    FakeDo::start(TOKEN).with_rgw(&format!("{dir}/ceph.conf"))
}

fn created(api: &FakeDo, name: &str, grants: &[&str]) -> serde_json::Value {
    let mut args = vec!["keys", "create", "--name", name, "--json"];
    for g in grants {
        args.extend(["--grant", g]);
    }
    serde_json::from_str(&ok(api, &args)).unwrap()
}

fn names(api: &FakeDo) -> Vec<String> {
    api.state.lock().unwrap().keys.iter().map(|k| k["access_key"].as_str().unwrap().to_string()).collect()
}

#[test]
fn create_list_show_rename_delete() {
    let api = FakeDo::start(TOKEN);
    let out = ok(&api, &["keys", "create", "--name", "ci", "--grant", "assets:readwrite", "--grant", "logs:read"]);
    assert!(out.contains("secret key: fakeSecret") && out.contains("shown this once"), "{out}");
    let access = names(&api)[0].clone();
    {
        let mut st = api.state.lock().unwrap();
        for i in 0..250 {
            let k = serde_json::json!({"name": format!("bulk-{i}"), "access_key": format!("DOBULK{i:014}"),
                "grants": [{"bucket": "", "permission": "fullaccess"}], "created_at": "2026-11-28T12:00:00Z"});
            st.keys.push(k);
        }
    }
    let all: serde_json::Value = serde_json::from_str(&ok(&api, &["keys", "ls", "--json"])).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 251, "two pages of at most 200");
    let by_bucket: serde_json::Value =
        serde_json::from_str(&ok(&api, &["keys", "ls", "--bucket", "logs", "--json"])).unwrap();
    assert_eq!(by_bucket.as_array().unwrap().len(), 1);
    assert_eq!(by_bucket[0]["grants"][1], serde_json::json!({"bucket": "logs", "permission": "read"}));
    let full = ok(&api, &["keys", "ls", "--permission", "fullaccess"]);
    assert_eq!(full.lines().count(), 251, "header and 250 keys: {}", full.lines().next().unwrap_or_default());
    assert!(api.requests().iter().any(|r| r.contains("permission=fullaccess")), "filters go to the API");
    let shown = ok(&api, &["keys", "show", &access]);
    assert!(shown.contains("assets:readwrite,logs:read") && !shown.contains("fakeSecret"), "{shown}");
    let renamed: serde_json::Value =
        serde_json::from_str(&ok(&api, &["keys", "rename", &access, "--name", "ci-2", "--json"])).unwrap();
    assert_eq!(renamed["name"], "ci-2");
    ok(&api, &["keys", "rm", &access]);
    fails(&api, &["keys", "show", &access], 3);
}

#[test]
fn bad_keys_are_refused_before_any_request() {
    let api = FakeDo::start(TOKEN);
    for (args, says) in [
        (
            &["keys", "create", "--name", "x", "--grant", "fullaccess", "--grant", "bucket-one:read"][..],
            "cannot be mixed",
        ),
        (&["keys", "create", "--name", "x", "--grant", "Bad_Bucket:read"][..], "Bad_Bucket"),
        (
            &["keys", "create", "--name", "x", "--grant", "bucket-one:read", "--grant", "bucket-one:readwrite"][..],
            "more than once",
        ),
        (&["keys", "create", "--name", " "][..], "key name"),
        (&["keys", "show", "../account"][..], "access key id"),
    ] {
        let out = fails(&api, args, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = fails(&api, &["keys", "create", "--name", "x", "--grant", "bucket-one:write"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("write"));
    assert_eq!(api.requests(), Vec::<String>::new());
}

#[test]
fn rotate_proves_the_new_key_against_rgw_then_deletes_the_old() {
    let api = mirrored();
    let old = created(&api, "deploy", &["assets:readwrite"]);
    let old_key = old["access_key"].as_str().unwrap().to_string();
    let out = spaces(&api, &["keys", "rotate", &old_key, "--json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let new: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_key = new["access_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert!(new["secret_key"].as_str().is_some_and(|s| !s.is_empty()), "the new secret is shown once");
    assert_eq!((&new["name"], &new["grants"]), (&old["name"], &old["grants"]), "same name and grants");
    assert_eq!(names(&api), std::slice::from_ref(&new_key), "the old key is gone");
    assert!(api.requests().iter().filter(|r| r.starts_with("DELETE")).count() == 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{new_key} replaces {old_key}")), "{err}");
    // Clean up the RGW user the fake made.
    ok(&api, &["keys", "rm", &new_key]);
}

#[test]
fn a_rotate_whose_new_key_does_not_work_keeps_the_old_one() {
    // Not mirrored: RGW has never heard of the new key, so the proof fails.
    let api = FakeDo::start(TOKEN);
    let old = created(&api, "deploy", &["assets:read"]);
    let old_key = old["access_key"].as_str().unwrap().to_string();
    let out = fails(&api, &["keys", "rotate", &old_key], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not work") && err.contains("was deleted") && err.contains(&old_key), "{err}");
    assert_eq!(names(&api), [old_key], "the new key was removed, the old one kept");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("fakeSecret"), "no secret for a key that is gone");
}

#[test]
fn a_rotate_that_cannot_create_leaves_everything_as_it_was() {
    let api = FakeDo::start(TOKEN);
    let old_key = created(&api, "deploy", &[])["access_key"].as_str().unwrap().to_string();
    api.state.lock().unwrap().refuse_create = true;
    let out = fails(&api, &["keys", "rotate", &old_key], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not create the replacement key") && err.contains("unchanged"), "{err}");
    assert_eq!(names(&api), [old_key]);
}

#[test]
fn a_rotate_that_cannot_delete_the_old_key_says_both_work() {
    let api = mirrored();
    let old_key = created(&api, "deploy", &["assets:read"])["access_key"].as_str().unwrap().to_string();
    api.state.lock().unwrap().refuse_delete = Some(old_key.clone());
    let out = fails(&api, &["keys", "rotate", &old_key], 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("works") && err.contains("both work") && err.contains(&old_key), "{err}");
    let keys = names(&api);
    assert_eq!(keys.len(), 2);
    assert!(String::from_utf8_lossy(&out.stdout).contains("secret key: fakeSecret"), "the working new key's secret");
    api.state.lock().unwrap().refuse_delete = None;
    for k in keys {
        ok(&api, &["keys", "rm", &k]);
    }
}

#[test]
fn the_service_creates_and_rotates_keys_without_logging_secrets() {
    let api = mirrored();
    let b = Bucket::new("keysserve");
    let mut cmd = b.spaces();
    cmd.env("DIGITALOCEAN_API_URL", &api.url).env("DIGITALOCEAN_TOKEN", TOKEN);
    let s = Service::start(cmd, "service-token-for-keys", &[]);
    let read = |r: spaces_tests::service::Answer| -> serde_json::Value {
        let mut r = r;
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let ct = [("content-type", "application/json")];
    let made = s.call(
        "POST",
        "/v1/keys",
        &ct,
        Some(br#"{"name": "app", "grants": [{"bucket": "assets", "permission": "read"}]}"#),
    );
    assert_eq!(made.status(), 201);
    let made = read(made);
    let (old, old_secret) =
        (made["access_key"].as_str().unwrap().to_string(), made["secret_key"].as_str().unwrap().to_string());
    let mixed = s.call(
        "POST",
        "/v1/keys",
        &ct,
        Some(
            concat!(
                r#"{"name": "x", "grants": [{"bucket": "", "permission": "#,
                r#""fullaccess"}, {"bucket": "assets", "permission": "read"}]}"#,
            )
            .as_bytes(),
        ),
    );
    assert_eq!(mixed.status(), 400);
    assert_eq!(read(s.call("GET", &format!("/v1/keys/{old}"), &[], None))["name"], "app");
    assert_eq!(read(s.call("GET", "/v1/keys", &[], None)).as_array().unwrap().len(), 1);
    let rotated = read(s.call("POST", &format!("/v1/keys/{old}/rotate"), &[], None));
    assert_eq!(rotated["old_deleted"], true, "{rotated}");
    let new = rotated["access_key"].as_str().unwrap().to_string();
    let new_secret = rotated["secret_key"].as_str().unwrap().to_string();
    assert_eq!(names(&api), std::slice::from_ref(&new));
    let log = s.log();
    assert!(log.contains("op=\"keys-rotate\""), "{log}");
    assert!(!log.contains(&old_secret) && !log.contains(&new_secret), "secrets never reach the log");
    assert_eq!(s.call("DELETE", &format!("/v1/keys/{new}"), &[], None).status(), 204);
}
