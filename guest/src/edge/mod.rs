//! The edge component: `wasi:http/incoming-handler` serving the object routes of `spaces serve` (`/v1/objects…`
//! with the batch delete, `/v1/presign`, `/v1/url/…`, `/healthz`, `/readyz`) with the same S3 code as the library build. It imports
//! nothing of ours: settings and credentials come from the environment, each operation and each request is a
//! JSON line on stderr. Bodies stream straight between the incoming request, S3 and the outgoing response.

pub mod host;
mod routes;

use crate::client::{self, Client, Conditions};
use crate::exports::wasi::http::incoming_handler::Guest;
use crate::headers::ObjectHeaders;
use crate::spaces::storage::types::{Acl, Error, ObjectMeta};
use crate::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, OutputStream, ResponseOutparam,
};
use crate::wasi::io::streams::StreamError;
use routes::{Refusal, Route};
use std::rc::Rc;

/// User metadata travels in these headers (`x-amz-meta-*` upstream), as with `spaces serve`.
const META_PREFIX: &str = "x-spaces-meta-";
/// Largest JSON request body: a batch delete of the most keys allowed, as with `spaces serve`.
const MAX_JSON: u64 = 4 << 20;
/// Keys one batch delete may name.
const MAX_BATCH: usize = 10_000;

struct Edge;

impl Guest for Edge {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let started = crate::wasi::clocks::monotonic_clock::now();
        let method = method_name(&request.method());
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        let answer = serve(&method, &path, request);
        let status = answer.status;
        answer.send(out);
        let duration_us = crate::wasi::clocks::monotonic_clock::now().saturating_sub(started) / 1000;
        let line = serde_json::json!({"event": "request", "method": method, "path": path, "status": status,
                                      "duration_us": duration_us});
        eprintln!("{line}");
    }
}

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(o) => o.clone(),
    }
}

enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Streamed from S3 into the response.
    Download(Box<client::Download>),
}

/// A response about to be sent.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Answer {
    fn json(status: u16, value: serde_json::Value) -> Self {
        let headers = vec![("content-type".into(), "application/json".into())];
        Answer { status, headers, body: Body::Bytes(value.to_string().into_bytes()) }
    }

    fn problem(status: u16, kind: &str, detail: &str) -> Self {
        let headers = vec![("content-type".into(), "application/problem+json".into())];
        Answer { status, headers, body: Body::Bytes(routes::problem(status, kind, detail)) }
    }

    fn error(e: &Error) -> Self {
        let (status, kind) = routes::status_of(e);
        if status == 304 {
            return Answer { status, headers: Vec::new(), body: Body::Empty };
        }
        let mut answer = Answer::problem(status, kind, &describe(e));
        if let Error::Throttled(Some(s)) = e {
            answer.headers.push(("retry-after".into(), s.to_string()));
        }
        answer
    }

    fn send(self, out: ResponseOutparam) {
        let fields = Fields::new();
        for (name, value) in &self.headers {
            // A value S3 handed back that HTTP cannot carry is left out rather than failing the response.
            let _ = fields.append(name, value.as_bytes());
        }
        let response = OutgoingResponse::new(fields);
        let _ = response.set_status_code(self.status);
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(out, Ok(response));
        let Ok(stream) = body.write() else { return };
        let written = match self.body {
            Body::Empty => Ok(()),
            Body::Bytes(bytes) => write_all(&stream, &bytes),
            Body::Download(d) => d.write_to(&stream).map(drop).map_err(|e| describe(&e)),
        };
        drop(stream);
        match written {
            Ok(()) => {
                let _ = OutgoingBody::finish(body, None);
            }
            // Dropping the body unfinished tells the runtime the response broke off.
            Err(e) => eprintln!("{}", serde_json::json!({"event": "response-broke-off", "error": e})),
        }
    }
}

fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        let n = bytes.len().min(4096);
        stream.blocking_write_and_flush(&bytes[..n]).map_err(|e| format!("{e:?}"))?;
        bytes = &bytes[n..];
    }
    Ok(())
}

fn describe(e: &Error) -> String {
    match e {
        Error::Service(s) => format!("service error {} {}: {}", s.status, s.code, s.message),
        Error::Throttled(_) => "throttled by the service (SlowDown); try again later".into(),
        Error::NotFound(m)
        | Error::AccessDenied(m)
        | Error::InvalidArgument(m)
        | Error::Conflict(m)
        | Error::PreconditionFailed(m)
        | Error::NotModified(m)
        | Error::Unavailable(m)
        | Error::CircuitOpen(m)
        | Error::Timeout(m)
        | Error::Integrity(m)
        | Error::Transport(m) => m.clone(),
    }
}

/// The request's headers, read before its body is consumed.
struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

fn serve(method: &str, path: &str, request: IncomingRequest) -> Answer {
    let route = match routes::route(method, path) {
        Ok(r) => r,
        Err(Refusal::BadRequest(detail)) => return Answer::problem(400, "invalid-argument", &detail),
        Err(Refusal::NoRoute) => return Answer::problem(404, "no-route", &format!("no route for {method} {path}")),
        Err(Refusal::Method(allow)) => {
            let mut a = Answer::problem(405, "method-not-allowed", &format!("{path} allows {allow}"));
            a.headers.push(("allow".into(), allow.into()));
            return a;
        }
    };
    // Liveness says only that the component runs; everything else needs its settings.
    if route == Route::Health {
        return alive();
    }
    let settings = match routes::settings(|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return Answer::problem(500, "misconfigured", &e),
    };
    let headers = Headers(request.headers().entries());
    if route != Route::Ready {
        match &settings.token {
            None => {
                let detail = "SPACES_TOKEN is not set in the component's environment; /v1 refuses every request";
                return Answer::problem(503, "no-token", detail);
            }
            Some(t) if !routes::authorized(t, headers.get("authorization")) => {
                let mut a = Answer::problem(401, "unauthorized", "send Authorization: Bearer TOKEN");
                a.headers.push(("www-authenticate".into(), "Bearer".into()));
                return a;
            }
            Some(_) => {}
        }
    }
    let client = match Client::new(&settings.storage) {
        Ok(c) => Rc::new(c),
        Err(e) => return Answer::error(&e),
    };
    let result = match route {
        Route::Health => Ok(alive()),
        Route::Ready => {
            client.health().map(|us| Answer::json(200, serde_json::json!({"ready": true, "upstream_latency_us": us})))
        }
        Route::Put(key) => put(&client, &key, &headers, request),
        Route::Get(key) => get(&client, &key, &headers),
        Route::Head(key) => {
            client.head_object(&key).map(|m| Answer { status: 200, headers: meta_headers(&m), body: Body::Empty })
        }
        Route::Delete(key) => {
            client.delete_object(&key).map(|()| Answer { status: 204, headers: Vec::new(), body: Body::Empty })
        }
        Route::List { prefix, delimiter, cursor, limit } => {
            client.list_objects(prefix.as_deref(), delimiter.as_deref(), cursor.as_deref(), limit).map(|page| {
                let objects: Vec<_> = page
                    .objects
                    .into_iter()
                    .map(|o| {
                        serde_json::json!({"key": o.key, "size": o.size, "etag": o.etag,
                                               "last_modified": o.last_modified, "storage_class": o.storage_class})
                    })
                    .collect();
                Answer::json(
                    200,
                    serde_json::json!({"objects": objects, "prefixes": page.common_prefixes,
                                                     "next_cursor": page.next_continuation}),
                )
            })
        }
        Route::Presign => return presign(&client, request),
        Route::DeleteMany => return delete_many(&client, request),
        Route::Url { key, cdn } => {
            let url = if cdn { client.cdn_url(&key) } else { client.public_url(&key) };
            url.map(|url| Answer::json(200, serde_json::json!({"url": url})))
        }
    };
    result.unwrap_or_else(|e| Answer::error(&e))
}

/// `/healthz`: the component runs.
fn alive() -> Answer {
    Answer::json(200, serde_json::json!({"status": "ok"}))
}

fn put(client: &Client, key: &str, headers: &Headers, request: IncomingRequest) -> Result<Answer, Error> {
    let size = match headers.get("content-length") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| client::invalid("Content-Length is not a number".into()))?),
        None => None,
    };
    let metadata: Vec<(String, String)> = headers
        .0
        .iter()
        .filter_map(|(n, v)| {
            let name = n.to_ascii_lowercase();
            let meta = name.strip_prefix(META_PREFIX)?.to_string();
            Some((meta, String::from_utf8(v.clone()).ok()?))
        })
        .collect();
    let acl = if headers.get("x-spaces-acl") == Some("public-read") { Acl::PublicRead } else { Acl::Private };
    let h = ObjectHeaders {
        content_type: headers.get("content-type"),
        cache_control: headers.get("cache-control"),
        acl,
        metadata: &metadata,
    };
    let body = request.consume().map_err(|()| Error::Transport("the request body was already taken".into()))?;
    let stream = body.stream().map_err(|()| Error::Transport("the request body has no stream".into()))?;
    let (etag, size, parts) = client.put_object(key, &stream, size, &h)?;
    Ok(Answer::json(200, serde_json::json!({"key": key, "etag": etag, "size": size, "parts": parts})))
}

fn get(client: &Rc<Client>, key: &str, headers: &Headers) -> Result<Answer, Error> {
    let range = match headers.get("range") {
        Some(r) => {
            Some(parse_range(r).ok_or_else(|| client::invalid(format!("Range {r:?} is not bytes=FIRST-[LAST]")))?)
        }
        None => None,
    };
    let conditions = Conditions { if_match: headers.get("if-match"), if_none_match: headers.get("if-none-match") };
    let download = client.get_object(key, range, conditions)?;
    let mut out = meta_headers(&download.meta);
    let status = match range {
        Some((first, _)) => {
            let last = (first + download.meta.size).saturating_sub(1);
            out.push(("content-range".into(), format!("bytes {first}-{last}/*")));
            206
        }
        None => 200,
    };
    Ok(Answer { status, headers: out, body: Body::Download(Box::new(download)) })
}

/// `bytes=FIRST-LAST` or `bytes=FIRST-` (one range).
fn parse_range(v: &str) -> Option<(u64, Option<u64>)> {
    let (first, last) = v.strip_prefix("bytes=")?.split_once('-')?;
    let first = first.parse().ok()?;
    let last = if last.is_empty() { None } else { Some(last.parse().ok()?) };
    Some((first, last))
}

fn meta_headers(m: &ObjectMeta) -> Vec<(String, String)> {
    let mut h = vec![
        ("etag".to_string(), format!("\"{}\"", m.etag)),
        ("content-length".to_string(), m.size.to_string()),
        ("accept-ranges".to_string(), "bytes".to_string()),
    ];
    for (name, value) in
        [("content-type", &m.content_type), ("cache-control", &m.cache_control), ("last-modified", &m.last_modified)]
    {
        if let Some(v) = value {
            h.push((name.to_string(), v.clone()));
        }
    }
    h.extend(m.metadata.iter().map(|(n, v)| (format!("{META_PREFIX}{n}"), v.clone())));
    h
}

/// `POST /v1/presign {key, method?, expires?, content_type?}` → `{url, expires_at}`.
fn presign(client: &Client, request: IncomingRequest) -> Answer {
    let body = match read_json(request) {
        Ok(v) => v,
        Err(detail) => return Answer::problem(400, "invalid-argument", &detail),
    };
    let Some(key) = body.get("key").and_then(|k| k.as_str()) else {
        return Answer::problem(400, "invalid-argument", "the body needs a \"key\"");
    };
    if let Err(detail) = object_keys::check(key) {
        return Answer::problem(400, "invalid-argument", &detail);
    }
    let method = match body.get("method").and_then(|m| m.as_str()).unwrap_or("get") {
        "get" => "GET",
        "put" => "PUT",
        "delete" => "DELETE",
        other => {
            return Answer::problem(400, "invalid-argument", &format!("method {other:?} is not get, put or delete"))
        }
    };
    let expires = match body.get("expires").map(|e| e.as_u64().and_then(|e| u32::try_from(e).ok())) {
        None => 3600,
        Some(Some(e)) => e,
        Some(None) => return Answer::problem(400, "invalid-argument", "expires must be a number of seconds"),
    };
    let signed: Vec<(String, String)> = body
        .get("content_type")
        .and_then(|c| c.as_str())
        .map(|c| ("content-type".to_string(), c.to_string()))
        .into_iter()
        .collect();
    let presigned = Client::credentials().and_then(|creds| client.presign(&creds, key, method, expires, &signed));
    match presigned {
        Ok((url, expires_at)) => Answer::json(200, serde_json::json!({"url": url, "expires_at": expires_at})),
        Err(e) => Answer::error(&e),
    }
}

/// `POST /v1/objects/delete {keys}` → `{deleted, failed: [{key, code, message}]}`; missing keys count as deleted.
fn delete_many(client: &Client, request: IncomingRequest) -> Answer {
    let keys: Vec<String> = match read_json(request).and_then(|v| {
        serde_json::from_value::<Vec<String>>(v.get("keys").cloned().unwrap_or_default())
            .map_err(|e| format!("\"keys\" must be a list of strings: {e}"))
    }) {
        Ok(k) => k,
        Err(detail) => return Answer::problem(400, "invalid-argument", &detail),
    };
    if keys.len() > MAX_BATCH {
        return Answer::problem(400, "invalid-argument", &format!("{} keys; at most {MAX_BATCH}", keys.len()));
    }
    if let Some(detail) = keys.iter().find_map(|k| object_keys::check(k).err()) {
        return Answer::problem(400, "invalid-argument", &detail);
    }
    match client.delete_objects(&keys) {
        Ok(failures) => {
            let failed: Vec<_> = failures
                .iter()
                .map(|f| serde_json::json!({"key": f.key, "code": f.code, "message": f.message}))
                .collect();
            Answer::json(200, serde_json::json!({"deleted": keys.len() - failed.len(), "failed": failed}))
        }
        Err(e) => Answer::error(&e),
    }
}

/// The request body as JSON, at most [`MAX_JSON`] bytes.
fn read_json(request: IncomingRequest) -> Result<serde_json::Value, String> {
    let body = request.consume().map_err(|()| "the request body was already taken".to_string())?;
    let stream = body.stream().map_err(|()| "the request body has no stream".to_string())?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(MAX_JSON) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!("reading the body: {}", e.to_debug_string()))
            }
        }
        if bytes.len() as u64 > MAX_JSON {
            return Err(format!("the body is over {MAX_JSON} bytes"));
        }
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON: {e}"))
}

#[cfg(target_arch = "wasm32")]
crate::export!(Edge with_types_in crate);
