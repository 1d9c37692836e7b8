//! A local stand-in for DigitalOcean's API v2 CDN endpoints and Spaces keys, since the real one cannot be reached
//! from here. It
//! follows the published OpenAPI description (`shared/reference/digitalocean-api-cdn-spaces-keys.openapi.yaml`):
//! paths, methods, the bearer token, `Content-Type`, request bodies (required fields, the ttl enum, uuid and
//! hostname formats, no read-only fields), and answers with the documented shapes and statuses — 200/201/204,
//! 401, 404, 422 and 429 with the `ratelimit-*` headers, `links.pages.next` and `meta.total` on lists (at most
//! 200 per page). It records every request and when each purge arrived. One request per connection.
//! Given a Ceph config (`with_rgw`), keys it creates or deletes are created or deleted in RGW too
//! (`radosgw-admin`), so a new key really works against the S3 endpoint, as a new Spaces key does.

use serde_json::{json, Value};
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the fake holds and has seen.
#[derive(Default)]
pub struct State {
    /// CDN endpoints, as the API shows them.
    pub endpoints: Vec<Value>,
    /// `METHOD /path?query` of every request, in order.
    pub requests: Vec<String>,
    /// Each purge request's files and arrival time.
    pub purges: Vec<(Instant, Vec<String>)>,
    /// Answer this many coming requests with 429.
    pub throttle: usize,
    /// Spaces keys, as the API shows them (with their secrets).
    pub keys: Vec<Value>,
    /// Refuse key creation (422), or the deletion of this access key (403).
    pub refuse_create: bool,
    /// See `refuse_create`.
    pub refuse_delete: Option<String>,
    /// `ceph.conf` of the RGW that keys are mirrored into.
    pub rgw_conf: Option<String>,
    next_id: u32,
    /// Which fake of this process this is.
    instance: u32,
}

/// A running fake of the DigitalOcean API on loopback.
pub struct FakeDo {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token it accepts.
    pub token: String,
    /// What it holds and has seen.
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeDo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl FakeDo {
    /// Starts the fake, accepting `token`.
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().unwrap());
        static INSTANCES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(Mutex::new(State { instance, ..State::default() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st, t) = (Arc::clone(&state), Arc::clone(&stop), token.to_string());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, t) = (Arc::clone(&s), t.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, &t, &s);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeDo { url, token: token.to_string(), state, stop }
    }

    /// Mirrors the keys it creates and deletes into the RGW configured by `conf` (its `ceph.conf`).
    pub fn with_rgw(self, conf: &str) -> Self {
        self.state.lock().unwrap().rgw_conf = Some(conf.to_string());
        self
    }

    /// Adds an endpoint as the API would have made it; returns its id.
    pub fn seed(&self, origin: &str, ttl: u32) -> String {
        let mut st = self.state.lock().unwrap();
        let id = new_id(&mut st);
        st.endpoints.push(endpoint(&id, origin, u64::from(ttl), None, None));
        id
    }

    /// Every request it has seen, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn new_id(st: &mut State) -> String {
    st.next_id += 1;
    format!("19f06b6a-3ace-4315-b086-{:012x}", st.next_id)
}

fn endpoint(id: &str, origin: &str, ttl: u64, cert: Option<&str>, domain: Option<&str>) -> Value {
    let cdn = origin.replacen(".digitaloceanspaces.com", ".cdn.digitaloceanspaces.com", 1);
    let mut e = json!({"id": id, "origin": origin, "endpoint": cdn, "created_at": "2026-11-28T12:00:00Z", "ttl": ttl});
    if let Some(c) = cert {
        e["certificate_id"] = json!(c);
    }
    if let Some(d) = domain {
        e["custom_domain"] = json!(d);
    }
    e
}

struct Answer {
    status: u16,
    body: Option<Value>,
    reset_in: u64,
}

fn error(status: u16, id: &str, message: &str) -> Answer {
    Answer { status, body: Some(json!({"id": id, "message": message, "request_id": "fake-request-1"})), reset_in: 60 }
}

fn ok(status: u16, body: Value) -> Answer {
    Answer { status, body: Some(body), reset_in: 60 }
}

fn is_uuid(s: &str) -> bool {
    let g: Vec<&str> = s.split('-').collect();
    g.len() == 5
        && g.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_hostname(s: &str) -> bool {
    s.contains('.') && s.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Checks a create/update body against `cdn_endpoint` / `update_endpoint`; `None` when it conforms.
fn invalid_body(body: &Value, create: bool) -> Option<String> {
    let obj = body.as_object()?;
    let allowed = ["origin", "ttl", "certificate_id", "custom_domain"];
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str()) || (!create && *k == "origin")) {
        return Some(format!("unexpected or read-only field {k}"));
    }
    if create {
        match obj.get("origin") {
            Some(Value::String(o)) if is_hostname(o) => {}
            _ => return Some("origin is required and must be a hostname".into()),
        }
    }
    if let Some(ttl) = obj.get("ttl") {
        if !ttl.as_u64().is_some_and(|t| [60, 600, 3600, 86400, 604800].contains(&t)) {
            return Some("ttl must be one of 60, 600, 3600, 86400, 604800".into());
        }
    }
    if let Some(c) = obj.get("certificate_id") {
        if !c.as_str().is_some_and(is_uuid) {
            return Some("certificate_id must be a uuid".into());
        }
    }
    if let Some(d) = obj.get("custom_domain") {
        if !d.as_str().is_some_and(is_hostname) {
            return Some("custom_domain must be a hostname".into());
        }
    }
    None
}

fn route(method: &str, target: &str, headers: &[(String, String)], body: &[u8], st: &mut State, token: &str) -> Answer {
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    if header("authorization") != Some(&format!("Bearer {token}")) {
        return error(401, "unauthorized", "Unable to authenticate you.");
    }
    if st.throttle > 0 {
        st.throttle -= 1;
        return Answer { reset_in: 1, ..error(429, "too_many_requests", "API rate limit exceeded.") };
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let json_body = || -> Result<Value, Answer> {
        if header("content-type").is_none_or(|c| !c.starts_with("application/json")) {
            return Err(error(415, "unsupported_media_type", "Content-Type must be application/json"));
        }
        serde_json::from_slice(body).map_err(|_| error(400, "bad_request", "the body is not JSON"))
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v2", "cdn", rest @ ..] => cdn_route(method, rest, query, &json_body, st),
        ["v2", "spaces", "keys", rest @ ..] => keys_route(method, rest, query, &json_body, st),
        _ => error(404, "not_found", "The resource you requested could not be found."),
    }
}

/// `/v2/cdn/…`: endpoints and purges.
fn cdn_route(
    method: &str,
    segments: &[&str],
    query: &str,
    json_body: &dyn Fn() -> Result<Value, Answer>,
    st: &mut State,
) -> Answer {
    match (method, segments) {
        ("GET", ["endpoints"]) => paged(query, st.endpoints.clone(), "endpoints", "cdn/endpoints"),
        ("POST", ["endpoints"]) => {
            let b = match json_body() {
                Ok(b) => b,
                Err(a) => return a,
            };
            if let Some(why) = invalid_body(&b, true) {
                return error(422, "unprocessable_entity", &why);
            }
            let id = new_id(st);
            let e = endpoint(
                &id,
                b["origin"].as_str().unwrap_or_default(),
                b["ttl"].as_u64().unwrap_or(3600),
                b["certificate_id"].as_str(),
                b["custom_domain"].as_str(),
            );
            st.endpoints.push(e.clone());
            ok(201, json!({"endpoint": e}))
        }
        (_, ["endpoints", id, rest @ ..]) => endpoint_route(method, id, rest, json_body, st),
        _ => error(404, "not_found", "The resource you requested could not be found."),
    }
}

/// `/v2/cdn/endpoints/{id}` and its `cache`.
fn endpoint_route(
    method: &str,
    id: &str,
    rest: &[&str],
    json_body: &dyn Fn() -> Result<Value, Answer>,
    st: &mut State,
) -> Answer {
    if !is_uuid(id) {
        return error(404, "not_found", "The resource you requested could not be found.");
    }
    let Some(i) = st.endpoints.iter().position(|e| e["id"] == *id) else {
        return error(404, "not_found", "The resource you requested could not be found.");
    };
    match (method, rest) {
        ("GET", []) => ok(200, json!({"endpoint": st.endpoints[i]})),
        ("PUT", []) => {
            let b = match json_body() {
                Ok(b) => b,
                Err(a) => return a,
            };
            if let Some(why) = invalid_body(&b, false) {
                return error(422, "unprocessable_entity", &why);
            }
            for (k, v) in b.as_object().into_iter().flatten() {
                st.endpoints[i][k] = v.clone();
            }
            ok(200, json!({"endpoint": st.endpoints[i]}))
        }
        ("DELETE", []) => {
            st.endpoints.remove(i);
            Answer { status: 204, body: None, reset_in: 60 }
        }
        ("DELETE", ["cache"]) => {
            let b = match json_body() {
                Ok(b) => b,
                Err(a) => return a,
            };
            let files: Option<Vec<String>> = b
                .get("files")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|f| f.as_str().map(String::from)).collect());
            match files {
                Some(f) if b.as_object().is_some_and(|o| o.len() == 1) => {
                    st.purges.push((Instant::now(), f));
                    Answer { status: 204, body: None, reset_in: 60 }
                }
                _ => error(422, "unprocessable_entity", "files must be an array of strings"),
            }
        }
        _ => error(405, "method_not_allowed", "method not allowed"),
    }
}

/// One page of `items` as DigitalOcean lists them under `name`, with `links.pages` to the next and last pages.
fn paged(query: &str, items: Vec<Value>, name: &str, path: &str) -> Answer {
    let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='));
    let page: usize = match param("page").map(str::parse) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        _ => return error(400, "bad_request", "page must be an integer of at least 1"),
    };
    let per_page: usize = match param("per_page").map(str::parse) {
        None => 20,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        _ => return error(400, "bad_request", "per_page must be 1-200"),
    };
    let total = items.len();
    let shown: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let last = total.div_ceil(per_page).max(1);
    let link = |p: usize| format!("https://api.digitalocean.com/v2/{path}?page={p}&per_page={per_page}");
    let links = if page < last { json!({"pages": {"next": link(page + 1), "last": link(last)}}) } else { json!({}) };
    ok(200, json!({name: shown, "links": links, "meta": {"total": total}}))
}

/// `POST /v2/spaces/keys`: a new key (mirrored into RGW when the fake has one), its secret in this answer only.
fn create_key(json_body: &dyn Fn() -> Result<Value, Answer>, st: &mut State) -> Answer {
    let b = match json_body() {
        Ok(b) => b,
        Err(a) => return a,
    };
    if let Some(why) = invalid_key(&b, true) {
        return error(422, "unprocessable_entity", &why);
    }
    let grants = b["grants"].as_array().cloned().unwrap_or_default();
    let full = grants.iter().any(|g| g["permission"] == "fullaccess");
    if full && grants.iter().any(|g| g["permission"] != "fullaccess") {
        return error(400, "bad_request", "cannot mix fullaccess permission with scoped permissions.");
    }
    if st.refuse_create {
        return error(422, "unprocessable_entity", "key limit reached");
    }
    st.next_id += 1;
    // Unique across every fake of every test process: the mirrored ones share one RGW, where a key made
    // by one test must never be mistaken for another test's.
    let access_key = format!("DOFAKE{:07}{:03}{:05}", std::process::id(), st.instance, st.next_id);
    let secret = format!("fakeSecret{access_key}");
    if let Some(conf) = &st.rgw_conf {
        let made = rgw_admin(
            conf,
            &["user", "create", "--uid", &access_key, "--display-name", "fake-do key"],
            &["--access-key", &access_key, "--secret", &secret],
        );
        if !made {
            return error(500, "server_error", "could not mirror the key into RGW");
        }
    }
    let key =
        json!({"name": b["name"], "access_key": access_key, "grants": grants, "created_at": "2026-11-28T12:00:00Z"});
    st.keys.push(key.clone());
    let mut answer = key;
    answer["secret_key"] = json!(secret);
    ok(201, json!({"key": answer}))
}

/// `/v2/spaces/keys/…`: Spaces access keys.
fn keys_route(
    method: &str,
    segments: &[&str],
    query: &str,
    json_body: &dyn Fn() -> Result<Value, Answer>,
    st: &mut State,
) -> Answer {
    match (method, segments) {
        ("GET", []) => {
            let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='));
            let chosen: Vec<Value> = st
                .keys
                .iter()
                .filter(|k| param("name").is_none_or(|n| k["name"] == n))
                .filter(|k| {
                    let grants = k["grants"].as_array().cloned().unwrap_or_default();
                    param("bucket").is_none_or(|b| grants.iter().any(|g| g["bucket"] == b))
                        && param("permission").is_none_or(|p| grants.iter().any(|g| g["permission"] == p))
                })
                .cloned()
                .collect();
            paged(query, chosen, "keys", "spaces/keys")
        }
        ("POST", []) => create_key(json_body, st),
        (_, [access_key]) => {
            let Some(i) = st.keys.iter().position(|k| k["access_key"] == *access_key) else {
                return error(404, "not_found", "The resource you requested could not be found.");
            };
            match method {
                "GET" => ok(200, json!({"key": st.keys[i]})),
                "PUT" | "PATCH" => {
                    let b = match json_body() {
                        Ok(b) => b,
                        Err(a) => return a,
                    };
                    if let Some(why) = invalid_key(&b, false) {
                        return error(422, "unprocessable_entity", &why);
                    }
                    st.keys[i]["name"] = b["name"].clone();
                    ok(200, json!({"key": st.keys[i]}))
                }
                "DELETE" => {
                    if st.refuse_delete.as_deref() == Some(*access_key) {
                        return error(403, "forbidden", "You are not authorized to perform this operation.");
                    }
                    st.keys.remove(i);
                    if let Some(conf) = &st.rgw_conf {
                        rgw_admin(conf, &["user", "rm", "--uid", access_key], &[]);
                    }
                    Answer { status: 204, body: None, reset_in: 60 }
                }
                _ => error(405, "method_not_allowed", "method not allowed"),
            }
        }
        _ => error(404, "not_found", "The resource you requested could not be found."),
    }
}

/// Checks a key body against the `key` schema: a string `name`; on create, `grants` of `{bucket, permission}`
/// with permission read, readwrite, fullaccess or empty; read-only fields refused.
fn invalid_key(body: &Value, create: bool) -> Option<String> {
    let obj = body.as_object()?;
    if let Some(k) = obj.keys().find(|k| !["name", "grants"].contains(&k.as_str())) {
        return Some(format!("unexpected or read-only field {k}"));
    }
    if !obj.get("name").is_some_and(Value::is_string) {
        return Some("name must be a string".into());
    }
    match obj.get("grants") {
        None if !create => None,
        Some(Value::Array(grants)) => grants.iter().find_map(|g| {
            let ok = g.as_object().is_some_and(|o| o.len() == 2)
                && g["bucket"].is_string()
                && ["read", "readwrite", "fullaccess", ""].contains(&g["permission"].as_str().unwrap_or("?"));
            (!ok).then(|| format!("grant {g} must be {{bucket, permission}} with a known permission"))
        }),
        _ => Some("grants must be an array".into()),
    }
}

/// Runs `radosgw-admin -c CONF ARGS EXTRA`; true on success.
fn rgw_admin(conf: &str, args: &[&str], extra: &[&str]) -> bool {
    std::process::Command::new("radosgw-admin")
        .args(["-c", conf])
        .args(args)
        .args(extra)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn serve(conn: TcpStream, token: &str, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let crate::Head { line, headers, length } = crate::read_head(&mut reader)?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let answer = {
        let mut st = state.lock().unwrap();
        st.requests.push(format!("{method} {target}"));
        route(method, target, &headers, &body, &mut st, token)
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let payload = answer.body.map(|b| b.to_string()).unwrap_or_default();
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nratelimit-limit: 5000\r\n\
         ratelimit-remaining: {}\r\nratelimit-reset: {}\r\nConnection: close\r\n\r\n{payload}",
        answer.status,
        payload.len(),
        if answer.status == 429 { 0 } else { 4999 },
        now + answer.reset_in,
    )?;
    out.flush()
}
