//! `spaces mcp` end to end: the official MCP Python SDK (`tests/scripts/mcp_client.py`) starts the real binary
//! and talks to it over stdio as an assistant's client would, against RGW (and the DigitalOcean API fake for the
//! CDN and key tools). The client checks what the protocol shows; these tests then check the store itself with
//! s3cmd, so a tool that claims success without doing the work fails here.

use spaces_tests::fake_do::FakeDo;
use spaces_tests::fault_proxy::{Fault, FaultProxy};
use spaces_tests::{describe, run, spaces_bin, Bucket};
use std::process::Command;

const TOKEN: &str = "dop_v1_fake_token_mcp_0123456789";

/// What a scenario reported, and everything the client and server wrote on stderr.
struct Outcome {
    facts: serde_json::Value,
    stderr: String,
}

/// Runs one scenario of the Python client with `bucket`'s configuration plus `env`; it must pass.
fn scenario(bucket: &Bucket, name: &str, env: &[(&str, &str)]) -> Outcome {
    let python = std::env::var("SPACES_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = spaces_tests::manifest_dir().join("scripts/mcp_client.py");
    let mut cmd = Command::new(python);
    bucket.configure(&mut cmd).arg(script).arg(name).env("SPACES_BIN", spaces_bin()).env("SPACES_LOG", "debug");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "MCP scenario {name}: {}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let facts = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("scenario {name} printed no facts ({e}): {}", describe(&out)));
    Outcome { facts, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// The bucket's keys, as s3cmd lists them.
fn stored_keys(bucket: &Bucket) -> Vec<String> {
    let listing = bucket.s3cmd_ok(&["ls", "-r", &format!("s3://{}", bucket.name)]);
    let prefix = format!("s3://{}/", bucket.name);
    let mut keys: Vec<_> =
        listing.lines().filter_map(|l| l.split_once(&prefix).map(|(_, key)| key.to_string())).collect();
    keys.sort();
    keys
}

fn stored(bucket: &Bucket, key: &str) -> Vec<u8> {
    let dest = bucket.path("fetched");
    bucket.s3cmd_ok(&["get", "--force", &format!("s3://{}/{key}", bucket.name), dest.to_str().unwrap()]);
    std::fs::read(dest).unwrap()
}

#[test]
fn object_tools_do_what_they_say_for_new_and_old_clients() {
    let bucket = Bucket::new("mcp-objects");
    let out = scenario(&bucket, "objects", &[]);
    assert_eq!(out.facts["protocol"], "2026-07-28", "a current client negotiates the current revision");
    let legacy = out.facts["legacy_protocol"].as_str().unwrap();
    assert!(legacy < "2026-07-28", "the initialize handshake settles on an older revision, not {legacy}");
    assert_eq!(stored_keys(&bucket), ["data/all-bytes.bin", "img/dot.png", "notes/hello.txt"]);
    assert_eq!(stored(&bucket, "notes/hello.txt"), b"replaced");
    assert_eq!(stored(&bucket, "data/all-bytes.bin"), (0..=255).collect::<Vec<u8>>());
    let head = bucket.ok(&["head", "img/dot.png"]);
    assert!(head.contains("\"content_type\": \"image/png\""), "type guessed from the key: {head}");
}

#[test]
fn bucket_tools_list_buckets_set_acls_and_cors_and_sign_upload_forms() {
    let bucket = Bucket::new("mcp-settings");
    scenario(&bucket, "settings", &[]);
    // The store itself says what the tools claimed: the ACL, the rules, and only the form's allowed upload.
    let info = bucket.s3cmd_ok(&["info", &format!("s3://{}/pub/page.html", bucket.name)]);
    assert!(info.contains("*anon*: READ"), "{info}");
    let cors = bucket.s3cmd_ok(&["info", &format!("s3://{}", bucket.name)]);
    assert!(cors.contains("https://app.example"), "{cors}");
    assert_eq!(stored_keys(&bucket), ["inbox/a.txt", "pub/page.html"]);
    assert_eq!(stored(&bucket, "inbox/a.txt"), b"from a form");
}

#[test]
fn objects_are_resources_with_their_content_types() {
    let bucket = Bucket::new("mcp-resources");
    let out = scenario(&bucket, "resources", &[]);
    assert!(out.facts["uri"].as_str().unwrap().starts_with("spaces://mcp-resources-"));
    assert_eq!(stored(&bucket, "docs/café ü+1.md"), "# Résumé\n".as_bytes());
}

#[test]
fn bad_calls_are_tool_errors_and_change_nothing() {
    let bucket = Bucket::new("mcp-errors");
    let large = bucket.path("large.bin");
    std::fs::write(&large, spaces_tests::pattern(5000, 7)).unwrap();
    bucket.s3cmd_ok(&["put", large.to_str().unwrap(), &format!("s3://{}/large.bin", bucket.name)]);
    let out = scenario(&bucket, "errors", &[]);
    assert_eq!(stored_keys(&bucket), ["large.bin"], "no refused call stored anything");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn read_only_offers_and_runs_nothing_that_changes_the_bucket() {
    let bucket = Bucket::new("mcp-read-only");
    let kept = bucket.path("kept.txt");
    std::fs::write(&kept, "kept").unwrap();
    bucket.s3cmd_ok(&["put", kept.to_str().unwrap(), &format!("s3://{}/kept.txt", bucket.name)]);
    scenario(&bucket, "read-only", &[]);
    assert_eq!(stored_keys(&bucket), ["kept.txt"]);
}

#[test]
fn cdn_and_key_tools_use_the_api_and_keep_secrets_out_of_everything_else() {
    let bucket = Bucket::new("mcp-api");
    let api = FakeDo::start(TOKEN);
    let id = api.seed(&format!("{}.us-east-1.digitaloceanspaces.com", bucket.name), 3600);
    let out = scenario(&bucket, "api", &[("DIGITALOCEAN_API_URL", &api.url), ("DIGITALOCEAN_TOKEN", TOKEN)]);
    let st = api.state.lock().unwrap();
    let purged: Vec<usize> = st.purges.iter().map(|(_, files)| files.len()).collect();
    assert_eq!(purged, [50, 50, 20], "120 paths in batches of at most 50");
    assert!(st.requests.iter().any(|r| r == &format!("DELETE /v2/cdn/endpoints/{id}/cache")), "{:?}", st.requests);
    assert!(st.keys.is_empty(), "the key created was deleted: {:?}", st.keys);
    let secret = out.facts["secret"].as_str().unwrap();
    assert!(secret.len() >= 20);
    for (what, secret) in
        [("the new key's secret", secret), ("the API token", TOKEN), ("the storage secret", &bucket.rgw.secret_key)]
    {
        let leaks: Vec<_> =
            out.stderr.lines().filter(|l| l.contains(secret)).map(|l| l.replace(secret, "<SECRET>")).collect();
        assert!(leaks.is_empty(), "{what} is in the logs:\n{}", leaks.join("\n"));
    }
}

#[test]
fn without_an_api_token_the_api_tools_say_what_is_missing() {
    let bucket = Bucket::new("mcp-no-token");
    scenario(&bucket, "no-token", &[]);
}

#[test]
fn a_cancelled_upload_aborts_itself_and_leaves_nothing() {
    let bucket = Bucket::new("mcp-cancel");
    let upstream = bucket.rgw.endpoint.trim_start_matches("http://").to_string();
    // Parts crawl at 320 KB/s (a 5 MiB part takes 16 s), so the 12 MiB upload is well under way, its multipart
    // upload created, and still running when the client gives up after 6 s.
    let proxy = FaultProxy::start(&upstream, |seen, _| {
        if seen.line.starts_with("PUT ") && seen.line.contains("partNumber=") {
            Fault::SlowBody(200)
        } else {
            Fault::Pass
        }
    });
    scenario(&bucket, "cancel", &[("SPACES_ENDPOINT", &proxy.endpoint)]);
    let seen = proxy.seen();
    assert!(seen.iter().any(|s| s.line.starts_with("POST ") && s.line.contains("uploads")), "{seen:?}");
    let aborted = seen.iter().any(|s| s.line.starts_with("DELETE ") && s.line.contains("uploadId="));
    assert!(aborted, "the multipart upload was aborted: {seen:?}");
    let uploads = bucket.s3cmd_ok(&["multipart", &format!("s3://{}", bucket.name)]);
    assert!(!uploads.contains("cancelled.bin"), "no upload left: {uploads}");
    assert!(stored_keys(&bucket).is_empty());
}
