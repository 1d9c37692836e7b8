//! DigitalOcean API v2 for CDN endpoints and Spaces keys, as its published OpenAPI description shapes it: the JSON
//! bodies, what an error answer means, the checks made before any request, and purge planning and pacing. Pure:
//! the pacing loop takes its clock and its sender from the caller, so tests run it without sleeping.

use crate::spaces::storage::types::{Error, ServiceError};
use serde::{Deserialize, Serialize};

pub(crate) const DEFAULT_BASE: &str = "https://api.digitalocean.com";
/// The only cache lifetimes the API accepts.
pub(crate) const TTLS: [u32; 5] = [60, 600, 3600, 86400, 604800];
/// Files per purge request and per pacing window (DigitalOcean: 50 files per 20 s).
pub(crate) const PURGE_BATCH: usize = 50;
pub(crate) const PURGE_WINDOW_MS: u64 = 20_000;
/// Largest page the API serves.
pub(crate) const PER_PAGE: u32 = 200;

#[derive(Debug, Deserialize)]
pub(crate) struct EndpointJson {
    pub id: String,
    pub origin: String,
    pub endpoint: String,
    /// The API defaults to 3600 when a request leaves it out.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    pub certificate_id: Option<String>,
    pub custom_domain: Option<String>,
    #[serde(default)]
    pub created_at: String,
}

fn default_ttl() -> u32 {
    3600
}

/// `{"endpoint": {...}}`
#[derive(Deserialize)]
pub(crate) struct OneEndpoint {
    pub endpoint: EndpointJson,
}

/// One page of `GET /v2/cdn/endpoints`.
#[derive(Deserialize)]
pub(crate) struct EndpointPage {
    pub endpoints: Vec<EndpointJson>,
    #[serde(default)]
    pub links: Links,
}

#[derive(Default, Deserialize)]
pub(crate) struct Links {
    pub pages: Option<Pages>,
}

#[derive(Default, Deserialize)]
pub(crate) struct Pages {
    pub next: Option<String>,
}

impl Links {
    /// The page number in the `next` link. Only the number is taken: the next request goes to the configured
    /// base, wherever the link points.
    pub(crate) fn next_page(&self) -> Option<u32> {
        let next = self.pages.as_ref()?.next.as_deref()?;
        let query = next.split_once('?')?.1;
        query.split('&').find_map(|kv| kv.strip_prefix("page=")?.parse().ok())
    }
}

/// Body of `POST /v2/cdn/endpoints` and `PUT /v2/cdn/endpoints/{id}` (`origin` only on create).
#[derive(Serialize)]
pub(crate) struct EndpointBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_domain: Option<&'a str>,
}

impl EndpointBody<'_> {
    /// Checks every field against the published schema before anything is sent.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(origin) = self.origin {
            check_hostname("origin", origin)?;
        }
        if let Some(ttl) = self.ttl {
            if !TTLS.contains(&ttl) {
                return Err(format!("ttl {ttl} is not one of 60, 600, 3600, 86400, 604800 seconds"));
            }
        }
        if let Some(id) = self.certificate_id {
            check_uuid("certificate id", id)?;
        }
        if let Some(domain) = self.custom_domain {
            check_hostname("custom domain", domain)?;
        }
        if self.custom_domain.is_some() != self.certificate_id.is_some() && self.origin.is_some() {
            return Err("a custom domain needs a certificate id, and a certificate id a custom domain".into());
        }
        Ok(())
    }
}

/// Body of `DELETE /v2/cdn/endpoints/{id}/cache`.
#[derive(Serialize)]
pub(crate) struct PurgeBody<'a> {
    pub files: &'a [String],
}

/// One grant as the API writes it: `permission` is `read`, `readwrite` or `fullaccess` (the description also
/// allows an empty string, read here as no access).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct GrantJson {
    pub bucket: String,
    pub permission: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct KeyJson {
    #[serde(default)]
    pub name: String,
    pub access_key: String,
    #[serde(default)]
    pub grants: Vec<GrantJson>,
    #[serde(default)]
    pub created_at: String,
    /// Only in the answer to a create.
    pub secret_key: Option<String>,
}

/// One page of `GET /v2/spaces/keys`.
#[derive(Deserialize)]
pub(crate) struct KeyPage {
    pub keys: Vec<KeyJson>,
    #[serde(default)]
    pub links: Links,
}

/// The answer to `GET/PUT /v2/spaces/keys/{access_key}` and `POST /v2/spaces/keys`. The published schema of the
/// GET answer says `keys` (an array) where its example and the create answer say `key`; both are accepted.
#[derive(Deserialize)]
pub(crate) struct KeyAnswer {
    key: Option<KeyJson>,
    keys: Option<Vec<KeyJson>>,
}

impl KeyAnswer {
    pub(crate) fn into_key(self) -> Option<KeyJson> {
        self.key.or_else(|| self.keys.and_then(|k| k.into_iter().next()))
    }
}

/// Body of `POST /v2/spaces/keys` (with grants) and `PUT /v2/spaces/keys/{access_key}` (name only).
#[derive(Serialize)]
pub(crate) struct KeyBody<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants: Option<&'a [GrantJson]>,
}

/// Checks a key's name and grants before anything is sent: full access is one grant with an empty bucket and
/// is not mixed with scoped grants (the API refuses that); scoped grants name valid buckets, each once.
pub(crate) fn check_key(name: &str, grants: &[GrantJson]) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(format!("key name {name:?} must be 1-255 printable characters"));
    }
    let full = grants.iter().filter(|g| g.permission == "fullaccess").count();
    if full > 0 && grants.len() > full {
        return Err("full access cannot be mixed with grants on single buckets: give one or the other".into());
    }
    for g in grants {
        match g.permission.as_str() {
            "fullaccess" if !g.bucket.is_empty() => {
                return Err(format!("full access covers every bucket; drop the bucket {:?}", g.bucket))
            }
            "fullaccess" => {}
            "read" | "readwrite" => {
                crate::s3::addressing::validate_bucket(&g.bucket)?;
                if grants.iter().filter(|o| o.bucket == g.bucket).count() > 1 {
                    return Err(format!("bucket {:?} is granted more than once", g.bucket));
                }
            }
            other => return Err(format!("permission {other:?} is not read, readwrite or fullaccess")),
        }
    }
    Ok(())
}

/// An access key id as a path segment: letters and digits only, so it cannot change the path.
pub(crate) fn check_access_key(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(format!("access key {id:?} is not an access key id (letters and digits)"))
    }
}

/// The API's error document.
#[derive(Deserialize)]
struct ApiError {
    id: String,
    message: String,
    request_id: Option<String>,
}

/// An id as the API issues them (a UUID), checked so that it cannot change the request path.
pub(crate) fn check_uuid(what: &str, id: &str) -> Result<(), String> {
    let groups: Vec<&str> = id.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups.iter().zip(shape).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} {id:?} is not a UUID like 19f06b6a-3ace-4315-b086-499a0e521b76"))
    }
}

fn check_hostname(what: &str, host: &str) -> Result<(), String> {
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    if host.len() <= 253 && host.contains('.') && labels_ok {
        Ok(())
    } else {
        Err(format!("{what} {host:?} is not a fully qualified host name"))
    }
}

/// The typed error for a non-2xx answer, and whether another attempt may help. `wait_s` is how long the rate
/// limit says to wait, for a 429.
pub(crate) fn refusal(status: u16, body: &[u8], wait_s: Option<u64>) -> (Error, bool) {
    let parsed: Option<ApiError> = serde_json::from_slice(body).ok();
    let (id, message, request_id) = match parsed {
        Some(e) => (e.id, e.message, e.request_id),
        None => (String::new(), format!("HTTP {status} without an error document"), None),
    };
    let rid = request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default();
    match status {
        401 => (
            Error::AccessDenied(format!(
                "the DigitalOcean API refused the token: {message}; check DIGITALOCEAN_TOKEN{rid}"
            )),
            false,
        ),
        403 => (
            Error::AccessDenied(format!(
                "the token may not do this: {message}; it needs the cdn read/create/update/delete scopes{rid}"
            )),
            false,
        ),
        404 => (Error::NotFound(format!("{message}{rid}")), false),
        400 | 422 => (Error::InvalidArgument(format!("{message}{rid}")), false),
        409 => (Error::Conflict(format!("{message}{rid}")), false),
        429 => (Error::Throttled(wait_s.map(|s| s.min(u64::from(u32::MAX)) as u32)), true),
        500..=599 => (Error::Unavailable(format!("the DigitalOcean API answered {status}: {message}{rid}")), true),
        _ => (Error::Service(ServiceError { status, code: id, message, request_id }), false),
    }
}

/// Milliseconds until `ratelimit-reset` (Unix seconds) when it lies ahead of `now_s`.
pub(crate) fn reset_wait_ms(reset: Option<&str>, now_s: u64) -> Option<u64> {
    let reset: u64 = reset?.trim().parse().ok()?;
    Some(reset.saturating_sub(now_s).min(3_600) * 1000)
}

/// Purge paths as the API wants them: trimmed, without a leading `/`, each once, in the order given. `*` alone
/// purges everything and makes every other path redundant.
pub(crate) fn normalise_paths(paths: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        let p = p.trim().trim_start_matches('/');
        if p.is_empty() {
            return Err("an empty path cannot be purged (use * to purge everything)".into());
        }
        if p.chars().any(char::is_control) {
            return Err(format!("purge path {p:?} contains a control character"));
        }
        if p == "*" {
            return Ok(vec!["*".into()]);
        }
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    if out.is_empty() {
        return Err("no paths to purge".into());
    }
    Ok(out)
}

/// Where the pacing loop reads and waits out time.
pub(crate) trait Clock {
    fn now_ms(&mut self) -> u64;
    fn sleep_until_ms(&mut self, ms: u64);
}

/// Sends `files` in batches of at most [`PURGE_BATCH`], each batch starting at least `window_ms` after the one
/// before it began; `sent(done)` hears how many files have gone out after each. Returns the number of requests.
pub(crate) fn paced_purge<E>(
    files: &[String],
    window_ms: u64,
    clock: &mut impl Clock,
    mut send: impl FnMut(&[String]) -> Result<(), E>,
    mut sent: impl FnMut(usize),
) -> Result<u32, E> {
    let mut requests = 0;
    let mut done = 0;
    let mut last_start: Option<u64> = None;
    for batch in files.chunks(PURGE_BATCH) {
        if let Some(prev) = last_start {
            let due = prev + window_ms;
            if clock.now_ms() < due {
                clock.sleep_until_ms(due);
            }
        }
        last_start = Some(clock.now_ms());
        send(batch)?;
        requests += 1;
        done += batch.len();
        sent(done);
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeClock {
        now: u64,
        slept: Vec<u64>,
    }

    impl Clock for FakeClock {
        fn now_ms(&mut self) -> u64 {
            self.now
        }
        fn sleep_until_ms(&mut self, ms: u64) {
            self.slept.push(ms);
            self.now = ms;
        }
    }

    #[test]
    fn purges_in_paced_batches_of_fifty() {
        let files: Vec<String> = (0..120).map(|i| format!("img/{i}.png")).collect();
        let mut clock = FakeClock { now: 1_000, slept: Vec::new() };
        let mut batches = Vec::new();
        let send = |b: &[String]| -> Result<(), ()> {
            batches.push(b.to_vec());
            Ok(())
        };
        let mut progress = Vec::new();
        let requests = paced_purge(&files, PURGE_WINDOW_MS, &mut clock, send, |done| progress.push(done)).unwrap();
        assert_eq!((requests, batches.iter().map(Vec::len).collect::<Vec<_>>()), (3, vec![50, 50, 20]));
        assert_eq!(progress, [50, 100, 120]);
        assert_eq!(batches.concat(), files, "every file once, in order");
        assert_eq!(clock.slept, vec![21_000, 41_000], "each batch starts a window after the previous one");
    }

    #[test]
    fn a_slow_request_uses_up_its_own_window() {
        struct Slow(u64);
        impl Clock for Slow {
            fn now_ms(&mut self) -> u64 {
                self.0 += 25_000;
                self.0
            }
            fn sleep_until_ms(&mut self, _: u64) {
                panic!("no wait needed once a window has passed");
            }
        }
        let files: Vec<String> = (0..60).map(|i| i.to_string()).collect();
        let r = paced_purge(&files, PURGE_WINDOW_MS, &mut Slow(0), |_: &[String]| -> Result<(), ()> { Ok(()) }, drop);
        assert_eq!(r, Ok(2));
    }

    #[test]
    fn a_failed_batch_stops_the_purge() {
        let files: Vec<String> = (0..120).map(|i| i.to_string()).collect();
        let mut clock = FakeClock { now: 0, slept: Vec::new() };
        let mut calls = 0;
        let send = |_: &[String]| {
            calls += 1;
            if calls == 2 {
                Err("boom")
            } else {
                Ok(())
            }
        };
        let mut done = 0;
        let r = paced_purge(&files, 10, &mut clock, send, |d| done = d);
        assert_eq!((r, calls, done), (Err("boom"), 2, 50));
    }

    #[test]
    fn paths_are_normalised_and_deduplicated() {
        let p = |v: &[&str]| normalise_paths(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["/a.png", "a.png", " css/* ", "b"]).unwrap(), ["a.png", "css/*", "b"]);
        assert_eq!(p(&["a", "/*", "b"]).unwrap(), ["*"]);
        assert!(p(&[]).is_err());
        assert!(p(&["a", " / "]).is_err());
        assert!(p(&["a\nb"]).is_err());
    }

    #[test]
    fn settings_are_checked_before_sending() {
        let body =
            |origin, ttl, cert, domain| EndpointBody { origin, ttl, certificate_id: cert, custom_domain: domain };
        assert!(body(Some("static.nyc3.digitaloceanspaces.com"), Some(3600), None, None).validate().is_ok());
        assert!(body(Some("static.nyc3.digitaloceanspaces.com"), Some(3601), None, None).validate().is_err());
        assert!(body(Some("not a host"), None, None, None).validate().is_err());
        assert!(body(Some("a.b"), None, None, Some("cdn.example.com")).validate().is_err(), "domain without cert");
        let cert = "892071a0-bb95-49bc-8021-3afd67a210bf";
        assert!(body(Some("a.b"), None, Some(cert), Some("cdn.example.com")).validate().is_ok());
        assert!(body(None, Some(60), Some("892071a0"), None).validate().is_err());
        assert!(check_uuid("id", "../../v2/account").is_err());
    }

    #[test]
    fn errors_follow_the_published_document() {
        let body = br#"{"id":"unauthorized","message":"Unable to authenticate you.","request_id":"r1"}"#;
        let (e, retry) = refusal(401, body, None);
        assert!(!retry);
        assert!(matches!(e, Error::AccessDenied(m) if m.contains("DIGITALOCEAN_TOKEN") && m.contains("r1")));
        assert!(matches!(refusal(429, b"{}", Some(7)), (Error::Throttled(Some(7)), true)));
        let gone = refusal(404, br#"{"id":"not_found","message":"gone"}"#, None);
        assert!(matches!(gone, (Error::NotFound(m), false) if m == "gone"));
        assert!(matches!(
            refusal(422, br#"{"id":"unprocessable_entity","message":"bad ttl"}"#, None),
            (Error::InvalidArgument(_), false)
        ));
        assert!(matches!(refusal(503, b"", None), (Error::Unavailable(_), true)));
        assert_eq!(reset_wait_ms(Some("1005"), 1000), Some(5000));
        assert_eq!(reset_wait_ms(Some("900"), 1000), Some(0));
    }

    #[test]
    fn grants_are_checked_before_sending() {
        let g = |bucket: &str, permission: &str| GrantJson { bucket: bucket.into(), permission: permission.into() };
        assert!(check_key("ci", &[g("my-bucket", "read"), g("other-bucket", "readwrite")]).is_ok());
        assert!(check_key("admin", &[g("", "fullaccess")]).is_ok());
        assert!(check_key("none", &[]).is_ok(), "the API allows a key without grants");
        let mixed = check_key("x", &[g("", "fullaccess"), g("my-bucket", "read")]).unwrap_err();
        assert!(mixed.contains("cannot be mixed"), "{mixed}");
        assert!(check_key("x", &[g("my-bucket", "fullaccess")]).is_err());
        assert!(check_key("x", &[g("my-bucket", "write")]).is_err());
        assert!(check_key("x", &[g("Bad_Bucket", "read")]).is_err());
        assert!(check_key("x", &[g("my-bucket", "read"), g("my-bucket", "readwrite")]).is_err());
        assert!(check_key(" ", &[]).is_err());
        assert!(check_access_key("DOACCESSKEYEXAMPLE").is_ok());
        assert!(check_access_key("../account").is_err());
    }

    #[test]
    fn a_key_answer_may_say_key_or_keys() {
        let one: KeyAnswer =
            serde_json::from_str(r#"{"key":{"name":"n","access_key":"AK","grants":[],"created_at":"t"}}"#).unwrap();
        assert_eq!(one.into_key().unwrap().access_key, "AK");
        let listed: KeyAnswer = serde_json::from_str(r#"{"keys":[{"name":"n","access_key":"AK2"}]}"#).unwrap();
        assert_eq!(listed.into_key().unwrap().access_key, "AK2");
    }

    #[test]
    fn follows_the_next_link_by_page_number() {
        let page: EndpointPage = serde_json::from_str(concat!(
            r#"{"endpoints":[],"#,
            concat!(
                r#""links":{"pages":{"next":"https://api.digitalocean.com/v2/cdn/endpoints?page=3&per_page=2","#,
                r#""last":"x"}},"meta":{"total":9}}"#,
            ),
        ))
        .unwrap();
        assert_eq!(page.links.next_page(), Some(3));
        let last: EndpointPage = serde_json::from_str(r#"{"endpoints":[],"links":{},"meta":{"total":0}}"#).unwrap();
        assert_eq!(last.links.next_page(), None);
    }
}
