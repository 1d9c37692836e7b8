//! `spaces cdn` end to end: the real binary and component against the local fake of DigitalOcean's API v2 (the
//! published OpenAPI shapes; see tests/src/fake_do.rs): pagination, create/show/update/rm, purge batching and
//! pacing, finding the bucket's endpoint, a 429 waited out, and every check made before a request is sent.

use spaces_tests::fake_do::FakeDo;
use spaces_tests::service::Service;
use spaces_tests::{describe, exited, spaces_bin, succeeded};
use std::process::{Command, Output};
use std::time::Duration;

const TOKEN: &str = "dop_v1_fake_token_0123456789";
const ORIGIN: &str = "static-images.nyc3.digitaloceanspaces.com";

fn spaces(api: &FakeDo, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(spaces_bin())
        .current_dir(dir.path())
        .env("DIGITALOCEAN_API_URL", &api.url)
        .env("DIGITALOCEAN_TOKEN", TOKEN)
        .env("SPACES_BUCKET", "static-images")
        .env("SPACES_REGION", "nyc3")
        .env("SPACES_CACHE_DIR", std::env::temp_dir().join("spaces-test-cache"))
        .env_remove("SPACES_ENDPOINT")
        .args(args)
        .output()
        .unwrap()
}

fn ok(api: &FakeDo, args: &[&str]) -> String {
    succeeded(args, spaces(api, args))
}

fn fails(api: &FakeDo, args: &[&str], code: i32) -> String {
    String::from_utf8_lossy(&exited(args, spaces(api, args), code).stderr).into_owned()
}

#[test]
fn lists_every_page() {
    let api = FakeDo::start(TOKEN);
    for i in 0..450 {
        api.seed(&format!("space-{i}.nyc3.digitaloceanspaces.com"), 3600);
    }
    let listed: serde_json::Value = serde_json::from_str(&ok(&api, &["cdn", "ls", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 450);
    assert_eq!(listed[449]["origin"], "space-449.nyc3.digitaloceanspaces.com");
    assert_eq!(
        api.requests(),
        [1, 2, 3].map(|p| format!("GET /v2/cdn/endpoints?page={p}&per_page=200")),
        "three pages of at most 200"
    );
    let table = ok(&api, &["cdn", "ls"]);
    assert!(table.starts_with("ID") && table.contains("space-7.nyc3.cdn.digitaloceanspaces.com"), "{table}");
}

#[test]
fn create_show_update_delete() {
    let api = FakeDo::start(TOKEN);
    let made: serde_json::Value =
        serde_json::from_str(&ok(&api, &["cdn", "create", "--ttl", "600", "--json"])).unwrap();
    assert_eq!(made["origin"], ORIGIN, "the configured bucket's origin by default");
    assert_eq!(made["ttl"], 600);
    let id = made["id"].as_str().unwrap().to_string();
    let shown = ok(&api, &["cdn", "show", &id]);
    assert!(shown.contains("static-images.nyc3.cdn.digitaloceanspaces.com") && shown.contains("600 s"), "{shown}");
    let cert = "892071a0-bb95-49bc-8021-3afd67a210bf";
    let updated: serde_json::Value = serde_json::from_str(&ok(
        &api,
        &["cdn", "update", &id, "--ttl", "86400", "--domain", "static.example.com", "--certificate", cert, "--json"],
    ))
    .unwrap();
    assert_eq!((updated["ttl"].as_u64(), updated["custom_domain"].as_str()), (Some(86400), Some("static.example.com")));
    ok(&api, &["cdn", "rm", &id]);
    let gone = fails(&api, &["cdn", "show", &id], 3);
    assert!(gone.contains("could not be found"), "{gone}");
    fails(&api, &["cdn", "rm", &id], 3);
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let api = FakeDo::start(TOKEN);
    for (args, says) in [
        (&["cdn", "create", "--ttl", "61"][..], "ttl 61"),
        (&["cdn", "create", "--origin", "not a host"][..], "host name"),
        (&["cdn", "create", "--domain", "cdn.example.com", "--certificate", "nope"][..], "UUID"),
        (&["cdn", "show", "../../v2/account"][..], "UUID"),
        (&["cdn", "update", "19f06b6a-3ace-4315-b086-499a0e521b76"][..], "nothing to update"),
        (&["cdn", "purge", "--id", "19f06b6a-3ace-4315-b086-499a0e521b76", " "][..], "empty path"),
    ] {
        let err = fails(&api, args, 2);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(api.requests(), Vec::<String>::new());
}

#[test]
fn purges_in_paced_batches_of_fifty_for_the_buckets_endpoint() {
    let api = FakeDo::start(TOKEN);
    api.seed("other.nyc3.digitaloceanspaces.com", 3600);
    let id = api.seed(ORIGIN, 3600);
    let mut args = vec!["cdn".to_string(), "purge".into(), "--purge-window-ms".into(), "400".into()];
    args.extend((0..119).map(|i| format!("/img/{i}.png")));
    args.push("img/0.png".into());
    args.push("css/*".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = spaces(&api, &args);
    assert!(out.status.success(), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("purged 120 paths from CDN endpoint {id} in 3 requests")), "{said}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("purged 50 of 120") && progress.contains("purged 100 of 120"), "{progress}");
    let purges = api.state.lock().unwrap().purges.clone();
    let sizes: Vec<usize> = purges.iter().map(|(_, f)| f.len()).collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(purges[0].1[0], "img/0.png", "leading slashes dropped");
    assert!(purges[2].1.contains(&"css/*".to_string()));
    assert!(!purges[2].1.contains(&"img/0.png".to_string()), "duplicates dropped");
    // Batches start a window apart on the component's millisecond clock; arrival here may differ by a few ms.
    for pair in purges.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(390), "batches are paced: {gap:?}");
    }
    // `*` alone is one request however many other paths come with it.
    let said = ok(&api, &["cdn", "purge", "--id", &id, "a.png", "*", "b.png"]);
    assert!(said.contains("purged 1 path from") && said.contains("in 1 request"), "{said}");
    assert_eq!(api.state.lock().unwrap().purges.last().unwrap().1, ["*"]);
    // No endpoint for the bucket: a clear not-found.
    let other = FakeDo::start(TOKEN);
    let err = fails(&other, &["cdn", "purge", "x.png"], 3);
    assert!(err.contains(ORIGIN) && err.contains("cdn create"), "{err}");
}

#[test]
fn the_cdn_url_uses_the_endpoint_the_api_names() {
    let api = FakeDo::start(TOKEN);
    let plain = ok(&api, &["url", "--cdn", "img/a b.png"]);
    assert_eq!(plain.trim(), "https://static-images.nyc3.cdn.digitaloceanspaces.com/img/a%20b.png", "no endpoint yet");
    let cert = "892071a0-bb95-49bc-8021-3afd67a210bf";
    ok(&api, &["cdn", "create", "--domain", "static.example.com", "--certificate", cert]);
    let custom = ok(&api, &["url", "--cdn", "img/a b.png"]);
    assert_eq!(custom.trim(), "https://static.example.com/img/a%20b.png");
    let explicit = ok(&api, &["url", "--cdn", "--cdn-host", "cdn.mine.example", "x"]);
    assert_eq!(explicit.trim(), "https://cdn.mine.example/x", "an explicit host needs no lookup");
}

#[test]
fn a_rate_limited_request_waits_for_the_reset_and_succeeds() {
    let api = FakeDo::start(TOKEN);
    api.seed(ORIGIN, 3600);
    api.state.lock().unwrap().throttle = 1;
    let started = std::time::Instant::now();
    let listed = ok(&api, &["cdn", "ls", "--json"]);
    assert!(listed.contains(ORIGIN));
    assert_eq!(api.requests().len(), 2, "one 429, then the answer");
    assert!(started.elapsed() >= Duration::from_millis(500), "waited for ratelimit-reset");
}

#[test]
fn token_problems_name_digitalocean_token() {
    let api = FakeDo::start("another-token");
    let err = fails(&api, &["cdn", "ls"], 4);
    assert!(err.contains("DIGITALOCEAN_TOKEN") && err.contains("Unable to authenticate you"), "{err}");
    assert!(!err.contains(TOKEN), "the token never appears in errors");
    let out = Command::new(spaces_bin())
        .env("DIGITALOCEAN_API_URL", &api.url)
        .env_remove("DIGITALOCEAN_TOKEN")
        .current_dir(tempfile::tempdir().unwrap().path())
        .args(["cdn", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DIGITALOCEAN_TOKEN"));
    assert_eq!(api.requests().len(), 1, "no request without a token");
}

#[test]
fn the_service_manages_endpoints_and_purges_for_its_bucket() {
    let api = FakeDo::start(TOKEN);
    let served = api.seed("spaces.nyc3.digitaloceanspaces.com", 3600);
    api.state.lock().unwrap().endpoints[0]["custom_domain"] = serde_json::json!("files.example.com");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(spaces_bin());
    cmd.current_dir(dir.path())
        .env("DIGITALOCEAN_API_URL", &api.url)
        .env("DIGITALOCEAN_TOKEN", TOKEN)
        .env("SPACES_REGION", "nyc3")
        .env("SPACES_DATA_DIR", dir.path().join("data"))
        .env("SPACES_CACHE_DIR", std::env::temp_dir().join("spaces-test-cache"))
        .env_remove("SPACES_ENDPOINT")
        .env_remove("SPACES_BUCKET");
    let s = Service::start(cmd, "service-token-for-cdn", &[]);
    let json = |r: spaces_tests::service::Answer| -> serde_json::Value {
        let mut r = r;
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let url = json(s.call("GET", "/v1/url/a.png?cdn=true", &[], None));
    assert_eq!(url["url"], "https://files.example.com/a.png", "CDN URLs use the endpoint's custom domain");
    assert_eq!(s.call("DELETE", &format!("/v1/cdn/endpoints/{served}"), &[], None).status(), 204);
    let ct = [("content-type", "application/json")];
    let made = s.call("POST", "/v1/cdn/endpoints", &ct, Some(br#"{"ttl": 60}"#));
    assert_eq!(made.status(), 201);
    let made = json(made);
    assert_eq!(made["origin"], "spaces.nyc3.digitaloceanspaces.com", "the service's bucket by default");
    let id = made["id"].as_str().unwrap().to_string();
    let path = format!("/v1/cdn/endpoints/{id}");
    assert_eq!(json(s.call("GET", &path, &[], None))["ttl"], 60);
    assert_eq!(json(s.call("PUT", &path, &ct, Some(br#"{"ttl": 604800}"#)))["ttl"], 604800);
    assert_eq!(json(s.call("GET", "/v1/cdn/endpoints", &[], None)).as_array().unwrap().len(), 1);
    let bad = s.call("POST", "/v1/cdn/endpoints", &ct, Some(br#"{"ttl": 5}"#));
    assert_eq!(bad.status(), 400);
    let purged = json(s.call("POST", "/v1/cdn/purge", &ct, Some(br#"{"paths": ["/a.png", "b/*", "a.png"]}"#)));
    assert_eq!(purged, serde_json::json!({"id": id, "files": 2, "requests": 1}));
    assert_eq!(api.state.lock().unwrap().purges[0].1, ["a.png", "b/*"]);
    assert_eq!(s.call("DELETE", &path, &[], None).status(), 204);
    assert_eq!(s.call("GET", &path, &[], None).status(), 404);
    assert_eq!(s.raw("GET", "/v1/cdn/endpoints", &[], None).status(), 401, "the service token guards these too");
    assert!(s.log().contains("op=\"cdn-purge\""), "{}", s.log());
}

#[test]
fn put_with_purge_stores_the_object_then_purges_its_key_from_the_buckets_endpoint() {
    let api = FakeDo::start(TOKEN);
    let b = spaces_tests::Bucket::new("put-purge");
    let id = api.seed(&format!("{}.us-east-1.digitaloceanspaces.com", b.name), 3600);
    std::fs::write(b.path("logo.png"), "new logo").unwrap();
    let with_api = |args: &[&str]| {
        let mut c = b.spaces();
        c.env("DIGITALOCEAN_API_URL", &api.url).env("DIGITALOCEAN_TOKEN", TOKEN).args(args);
        spaces_tests::run(&mut c)
    };
    let out = with_api(&["put", "logo.png", "img/logo.png", "--purge"]);
    let said = succeeded(&["put"], out);
    assert!(said.contains(&format!("purged img/logo.png from CDN endpoint {id}")), "{said}");
    let purges: Vec<Vec<String>> = api.state.lock().unwrap().purges.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(purges, [["img/logo.png"]], "one purge, of the key");
    assert!(
        api.requests().iter().any(|r| r.contains(&format!("/v2/cdn/endpoints/{id}/cache"))),
        "{:?}",
        api.requests()
    );
    assert!(b.s3cmd_ok(&["ls", &format!("s3://{}/img/logo.png", b.name)]).contains("img/logo.png"), "stored");

    // Without a token the upload still happens, and the failed purge says so with exit 1.
    let mut c = b.spaces();
    c.env("DIGITALOCEAN_API_URL", &api.url).args(["put", "logo.png", "img/again.png", "--purge"]);
    let out = exited(&["put"], spaces_tests::run(&mut c), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stored img/again.png, but purging it from the CDN failed"), "{err}");
    assert_eq!(api.state.lock().unwrap().purges.len(), 1, "no purge without a token");
}

#[test]
fn sync_with_purge_purges_exactly_what_it_wrote_or_deleted() {
    let api = FakeDo::start(TOKEN);
    let b = spaces_tests::Bucket::new("sync-purge");
    let id = api.seed(&format!("{}.us-east-1.digitaloceanspaces.com", b.name), 3600);
    let site = b.path("site");
    std::fs::create_dir_all(site.join("css")).unwrap();
    for (path, text) in [("index.html", "home"), ("css/app.css", "body{}"), ("about.html", "about")] {
        std::fs::write(site.join(path), text).unwrap();
    }
    let dst = format!("spaces://{}/www/", b.name);
    let sync = |extra: &[&str]| {
        let mut c = b.spaces();
        c.env("DIGITALOCEAN_API_URL", &api.url).env("DIGITALOCEAN_TOKEN", TOKEN);
        c.args(["sync", "site", &dst, "--purge"]).args(extra);
        succeeded(&["sync"], spaces_tests::run(&mut c))
    };
    let purges = || -> Vec<Vec<String>> {
        let mut p: Vec<Vec<String>> = api.state.lock().unwrap().purges.iter().map(|(_, f)| f.clone()).collect();
        p.iter_mut().for_each(|files| files.sort());
        p
    };

    let said = sync(&[]);
    assert!(said.contains(&format!("purged 3 paths from CDN endpoint {id} in 1 request")), "{said}");
    assert_eq!(purges(), [["www/about.html", "www/css/app.css", "www/index.html"]]);
    // Nothing changed: nothing to purge, and no call to the API at all.
    let calls = api.requests().len();
    assert!(!sync(&[]).contains("purged"));
    assert_eq!(api.requests().len(), calls, "{:?}", api.requests());
    // One file changed and one gone with --delete: those two keys, once each.
    std::fs::write(site.join("index.html"), "home, rewritten").unwrap();
    std::fs::remove_file(site.join("about.html")).unwrap();
    let said = sync(&["--delete"]);
    assert!(said.contains("1 uploaded") && said.contains("1 deleted"), "{said}");
    assert_eq!(purges()[1], ["www/about.html", "www/index.html"]);

    // --purge has nothing to purge when the destination is a directory.
    let err = b.fails(&["sync", &dst, "copy", "--purge"], 2);
    assert!(err.contains("DST must be spaces://"), "{err}");
}
