//! The edge component: `wasi:http/incoming-handler` serving the object routes of `spaces serve` with the same S3
//! code as the library build. What a request means — its route, headers, JSON, limits, and the status of each
//! failure — is the API's one definition (`http_api`), shared with `spaces serve`; this module only reads the
//! request into it and writes the answer out. It imports nothing of ours: settings and credentials come from the
//! environment, each operation and each request is a JSON line on stderr. Bodies stream straight between the
//! incoming request, S3 and the outgoing response.

pub(crate) mod host;
mod settings;

use crate::exports::wasi::http::incoming_handler::Guest;
use crate::s3::client::{Client, Conditions, Download};
use crate::s3::errors;
use crate::s3::headers::ObjectHeaders;
use crate::s3::upload::Continuation;
use crate::spaces::storage::types::{Acl, Error, ObjectMeta};
use crate::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, OutputStream, ResponseOutparam,
};
use crate::wasi::io::streams::StreamError;
use http_api::bodies::{self, DeleteMany, DeletedMany, ListQuery, NotDeleted, Page, PresignBody, Presigned};
use http_api::headers::{self, ObjectHead, Range, Verdict};
use http_api::problems::{Kind, Problem};
use http_api::routes::{Matched, Op, Refusal};
use serde::Serialize;
use std::rc::Rc;

struct Edge;

impl Guest for Edge {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        host::log_panics();
        let started = crate::wasi::clocks::monotonic_clock::now();
        let method = method_name(&request.method());
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        let answer = serve(&method, &path, request);
        let status = answer.status;
        answer.send(out);
        let duration_us = crate::wasi::clocks::monotonic_clock::now().saturating_sub(started) / 1000;
        let line = serde_json::json!({"event": "request", "method": method, "path": path, "status": status,
                                      "duration_us": duration_us});
        host::log(&line.to_string());
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
    Download(Box<Download>),
}

/// A response about to be sent.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Answer {
    fn json(status: u16, value: &impl Serialize) -> Self {
        let headers = vec![("content-type".into(), "application/json".into())];
        Answer { status, headers, body: Body::Bytes(serde_json::to_vec(value).unwrap_or_default()) }
    }

    fn empty(status: u16, headers: Vec<(String, String)>) -> Self {
        Answer { status, headers, body: Body::Empty }
    }

    fn problem(p: &Problem) -> Self {
        if p.status == 304 {
            return Answer::empty(304, Vec::new());
        }
        let headers = p.headers().into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        Answer { status: p.status, headers, body: Body::Bytes(p.to_json()) }
    }

    fn refused(kind: Kind, detail: impl Into<String>) -> Self {
        Answer::problem(&Problem::new(kind, detail))
    }

    fn error(e: &Error) -> Self {
        let p = Problem::new(http_api::kind_of_error!(e, Error), errors::describe(e));
        let p = match e {
            Error::Throttled(s) => p.retry_after(s.map_or(1, u64::from)),
            Error::CircuitOpen(m) => p.retry_after(http_api::problems::circuit_wait(m).unwrap_or(10)),
            _ => p,
        };
        Answer::problem(&p)
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
            Body::Download(d) => d.write_to(&stream).map(drop).map_err(|e| errors::describe(&e)),
        };
        drop(stream);
        match written {
            Ok(()) => {
                let _ = OutgoingBody::finish(body, None);
            }
            // Dropping the body unfinished tells the runtime the response broke off.
            Err(e) => host::log(&serde_json::json!({"event": "response-broke-off", "error": e}).to_string()),
        }
    }
}

/// Writes all of `bytes` to `stream`, in the pieces `blocking-write-and-flush` accepts.
fn write_all(stream: &OutputStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        let n = bytes.len().min(4096);
        stream.blocking_write_and_flush(&bytes[..n]).map_err(|e| format!("{e:?}"))?;
        bytes = &bytes[n..];
    }
    Ok(())
}

/// The request's headers, read before its body is consumed.
struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    /// A header's value as text; 400 when it is not visible ASCII.
    fn get(&self, name: &str) -> Result<Option<&str>, Answer> {
        let Some((_, v)) = self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else { return Ok(None) };
        headers::text(name, v).map(Some).map_err(|d| Answer::refused(Kind::InvalidArgument, d))
    }

    fn raw(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

fn serve(method: &str, path: &str, request: IncomingRequest) -> Answer {
    let matched = match http_api::routes::route(method, path) {
        Ok(m) => m,
        Err(Refusal::BadRequest(detail)) => return Answer::refused(Kind::InvalidArgument, detail),
        Err(Refusal::NoRoute) => {
            return Answer::refused(Kind::NoRoute, format!("no route for {method} {path}; /openapi.json lists them"))
        }
        Err(Refusal::Method(allow)) => {
            let bare = path.split('?').next().unwrap_or(path);
            let mut a = Answer::refused(Kind::MethodNotAllowed, format!("{bare} allows {allow}, not {method}"));
            a.headers.push(("allow".into(), allow));
            return a;
        }
    };
    // Liveness says only that the component runs; everything else needs its settings.
    if matched.op == Op::Health {
        return Answer::json(200, &bodies::ALIVE);
    }
    let settings = match settings::settings(crate::host::env) {
        Ok(s) => s,
        Err(e) => return Answer::refused(Kind::Misconfigured, e),
    };
    let headers = Headers(request.headers().entries());
    if matched.op != Op::Ready {
        let Some(token) = &settings.token else {
            let detail = "SPACES_TOKEN is not set in the component's environment; /v1 refuses every request";
            return Answer::refused(Kind::NoToken, detail);
        };
        if !http_api::auth::Token::new(token).accepts(headers.raw("authorization")) {
            let mut a = Answer::refused(Kind::Unauthorized, http_api::auth::UNAUTHORIZED);
            a.headers.push(("www-authenticate".into(), http_api::auth::CHALLENGE.into()));
            return a;
        }
    }
    let client = match Client::new(&settings.storage) {
        Ok(c) => Rc::new(c),
        Err(e) => return Answer::error(&e),
    };
    dispatch(&client, &matched, &headers, request).unwrap_or_else(|refusal| refusal)
}

/// Runs the operation; `Err` is an answer that refuses it.
fn dispatch(client: &Rc<Client>, m: &Matched, headers: &Headers, request: IncomingRequest) -> Result<Answer, Answer> {
    let key = m.param.as_deref().unwrap_or_default();
    let failed = |e: Error| Answer::error(&e);
    match m.op {
        Op::Ready => Ok(ready(client)),
        Op::PutObject => put(client, key, headers, request),
        Op::GetObject => get(client, key, headers),
        Op::HeadObject => {
            let meta = client.head_object(key).map_err(failed)?;
            // A HEAD answer has no body: a refusal keeps its status and headers (the ETag of a 304), as serve's does.
            if let Some(refusal) = refusal(key, &meta.etag, headers)? {
                return Ok(Answer { body: Body::Empty, ..refusal });
            }
            Ok(Answer::empty(200, object_headers(&meta)))
        }
        Op::DeleteObject => client.delete_object(key).map(|()| Answer::empty(204, Vec::new())).map_err(failed),
        Op::ListObjects => {
            let q = ListQuery::from_pairs(&m.query).map_err(|d| Answer::refused(Kind::InvalidArgument, d))?;
            let page = client
                .list_objects(q.prefix.as_deref(), q.delimiter.as_deref(), q.cursor.as_deref(), q.limit)
                .map_err(failed)?;
            let objects = page
                .objects
                .into_iter()
                .map(|o| bodies::Listed {
                    key: o.key,
                    size: o.size,
                    etag: o.etag,
                    last_modified: o.last_modified,
                    storage_class: o.storage_class,
                })
                .collect();
            let page = Page { objects, prefixes: page.common_prefixes, next_cursor: page.next_continuation };
            Ok(Answer::json(200, &page))
        }
        Op::Presign => presign(client, request),
        Op::DeleteObjects => delete_many(client, request),
        Op::Url => {
            let cdn = bodies::cdn_param(&m.query).map_err(|d| Answer::refused(Kind::InvalidArgument, d))?;
            let url = if cdn { client.cdn_url(key) } else { client.public_url(key) };
            Ok(Answer::json(200, &bodies::Url { url: url.map_err(failed)? }))
        }
        Op::Health => Ok(Answer::json(200, &bodies::ALIVE)),
        Op::ListUploads
        | Op::AbortUpload
        | Op::PresignPost
        | Op::GetAcl
        | Op::SetAcl
        | Op::GetCors
        | Op::SetCors
        | Op::DeleteCors
        | Op::ListBuckets
        | Op::ListCdnEndpoints
        | Op::CreateCdnEndpoint
        | Op::GetCdnEndpoint
        | Op::UpdateCdnEndpoint
        | Op::DeleteCdnEndpoint
        | Op::PurgeCdn
        | Op::ListKeys
        | Op::CreateKey
        | Op::GetKey
        | Op::RenameKey
        | Op::DeleteKey
        | Op::RotateKey
        | Op::Metrics
        | Op::OpenApi => Err(Answer::refused(
            Kind::NoRoute,
            "the edge build serves the object routes only; incomplete uploads, upload forms, ACLs, CORS, buckets, \
             CDN, keys, metrics and the OpenAPI document are `spaces serve`'s",
        )),
    }
}

/// `/readyz`: one signed HEAD of the bucket.
fn ready(client: &Client) -> Answer {
    let (ready, latency, error) = match client.health() {
        Ok(us) => (true, Some(us as f64 / 1000.0), None),
        Err(e) => (false, None, Some(errors::describe(&e))),
    };
    let body = bodies::Ready {
        ready,
        upstream_latency_ms: latency,
        upstream_error: error,
        checked_ms_ago: Some(0),
        circuits: Vec::new(),
    };
    Answer::json(if ready { 200 } else { 503 }, &body)
}

fn put(client: &Client, key: &str, headers: &Headers, request: IncomingRequest) -> Result<Answer, Answer> {
    let bad = |d: String| Answer::refused(Kind::InvalidArgument, d);
    let size = headers::content_length(headers.raw("content-length")).map_err(bad)?;
    let upload = headers::put_headers(key, headers.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))).map_err(bad)?;
    let h = ObjectHeaders {
        content_type: upload.content_type.as_deref(),
        cache_control: upload.cache_control.as_deref(),
        acl: if upload.public { Acl::PublicRead } else { Acl::Private },
        metadata: &upload.metadata,
    };
    let body = request.consume().map_err(|()| Answer::error(&gone("the request body was already taken")))?;
    let stream = body.stream().map_err(|()| Answer::error(&gone("the request body has no stream")))?;
    let (etag, size, parts) =
        client.put_object(key, &stream, size, &h, &Continuation::default()).map_err(|e| Answer::error(&e))?;
    Ok(Answer::json(200, &bodies::Stored { key: key.to_string(), etag, size, parts }))
}

fn gone(m: &str) -> Error {
    Error::Transport(m.into())
}

fn get(client: &Rc<Client>, key: &str, headers: &Headers) -> Result<Answer, Answer> {
    let failed = |e: Error| Answer::error(&e);
    let range = match headers.get("range")? {
        Some(r) => headers::parse_range(r).map_err(|d| Answer::refused(Kind::RangeNotSatisfiable, d))?,
        None => None,
    };
    let mut if_match = headers.get("if-match")?.map(String::from);
    let if_none_match = headers.get("if-none-match")?;
    let range = match range {
        None => None,
        Some(Range::From { first, last }) => Some((first, last)),
        Some(Range::Suffix(n)) => {
            // The size decides where the suffix starts; the GET is pinned to the ETag the size came from.
            let meta = client.head_object(key).map_err(failed)?;
            if_match.get_or_insert_with(|| format!("\"{}\"", meta.etag));
            Some((meta.size.saturating_sub(n), None))
        }
    };
    let conditions = Conditions { if_match: if_match.as_deref(), if_none_match, version_id: None };
    let download = client.get_object(key, range, conditions).map_err(failed)?;
    // Stores that ignore conditional GETs still get the conditions' meaning.
    if let Some(refusal) = refusal(key, &download.meta.etag, headers)? {
        return Ok(refusal);
    }
    let mut out = object_headers(&download.meta);
    let status = match range {
        Some((first, _)) => {
            out.push(("content-range".into(), headers::content_range(first, download.meta.size)));
            206
        }
        None => 200,
    };
    Ok(Answer { status, headers: out, body: Body::Download(Box::new(download)) })
}

/// The answer when the request's conditions do not let the object be served: 412, or 304 with the ETag.
fn refusal(key: &str, etag: &str, headers: &Headers) -> Result<Option<Answer>, Answer> {
    Ok(match headers::evaluate(etag, headers.get("if-match")?, headers.get("if-none-match")?) {
        Verdict::Proceed => None,
        Verdict::PreconditionFailed => Some(Answer::refused(
            Kind::PreconditionFailed,
            format!("{key:?} has ETag \"{etag}\", which If-Match does not name"),
        )),
        Verdict::NotModified => Some(Answer::empty(304, vec![("etag".into(), format!("\"{etag}\""))])),
    })
}

fn object_headers(m: &ObjectMeta) -> Vec<(String, String)> {
    headers::object_headers(&ObjectHead {
        etag: &m.etag,
        size: m.size,
        content_type: m.content_type.as_deref(),
        cache_control: m.cache_control.as_deref(),
        last_modified: m.last_modified.as_deref(),
        metadata: &m.metadata,
    })
}

/// `POST /v1/presign {key, method?, expires?, content_type?}` → `{url, expires_at}`.
fn presign(client: &Client, request: IncomingRequest) -> Result<Answer, Answer> {
    let body: PresignBody = read_json(request)?;
    http_api::check_key(&body.key).map_err(|d| Answer::refused(Kind::InvalidArgument, d))?;
    let method = match body.method {
        bodies::Method::Get => "GET",
        bodies::Method::Put => "PUT",
        bodies::Method::Delete => "DELETE",
    };
    let expires = body.expires.unwrap_or(bodies::DEFAULT_EXPIRES);
    let signed: Vec<(String, String)> =
        body.content_type.map(|c| ("content-type".to_string(), c)).into_iter().collect();
    let (url, expires_at) = Client::credentials()
        .and_then(|creds| client.presign(&creds, &body.key, method, expires, &signed))
        .map_err(|e| Answer::error(&e))?;
    Ok(Answer::json(200, &Presigned { url, expires_at }))
}

/// `POST /v1/objects/delete {keys}` → `{deleted, failed: [{key, code, message}]}`; missing keys count as deleted.
fn delete_many(client: &Client, request: IncomingRequest) -> Result<Answer, Answer> {
    let req: DeleteMany = read_json(request)?;
    req.check().map_err(|d| Answer::refused(Kind::InvalidArgument, d))?;
    let failures = client.delete_objects(&req.keys).map_err(|e| Answer::error(&e))?;
    let failed: Vec<_> =
        failures.into_iter().map(|f| NotDeleted { key: f.key, code: f.code, message: f.message }).collect();
    Ok(Answer::json(200, &DeletedMany { deleted: req.keys.len() - failed.len(), failed }))
}

/// The request body as the JSON `T`, at most `MAX_JSON_BODY` bytes (413 beyond).
fn read_json<T: serde::de::DeserializeOwned>(request: IncomingRequest) -> Result<T, Answer> {
    let bad = |d: String| Answer::refused(Kind::InvalidArgument, d);
    let body = request.consume().map_err(|()| bad("the request body was already taken".into()))?;
    let stream = body.stream().map_err(|()| bad("the request body has no stream".into()))?;
    let limit = bodies::MAX_JSON_BODY;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(limit as u64) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(bad(format!("reading the body: {}", e.to_debug_string())))
            }
        }
        if bytes.len() > limit {
            return Err(Answer::refused(Kind::TooLarge, format!("the body is over {limit} bytes")));
        }
    }
    bodies::parse(&bytes).map_err(bad)
}

#[cfg(target_arch = "wasm32")]
crate::bindings::export!(Edge with_types_in crate::bindings);
