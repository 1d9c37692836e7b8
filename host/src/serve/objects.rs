//! The `/v1` routes: objects (PUT, GET with Range and conditions, HEAD, DELETE), listing, batch delete,
//! presigned and public URLs. Each request gets a slot from [`Admission`] and an instance of its own, handed
//! back (`App::recycle`) once its calls completed; bodies stream both ways through wasi:io streams, so memory
//! stays flat whatever the object size.
//!
//! [`Admission`]: super::admission::Admission

use super::http_headers::{self, Range, Verdict};
use super::problem::Problem;
use super::App;
use crate::bindings::storage::{ByteRange, GetOptions, ListRequest, PutOptions};
use crate::bindings::types::{Acl, ObjectMeta};
use crate::content_type;
use crate::streams::ChannelSink;
use crate::views::{presign_request, Method, Page, Presigned, Stored, Url};
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use object_keys as keys;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

pub const OBJECTS: &str = "/v1/objects/";
const URLS: &str = "/v1/url/";
/// User metadata travels in these request and response headers (`x-amz-meta-*` upstream).
const META_PREFIX: &str = "x-spaces-meta-";
/// Download chunks queued for a slow client.
const BODY_DEPTH: usize = 4;

type Answer = Result<Response, Problem>;

/// What is known of a request body as it streams into the component.
#[derive(Default)]
struct BodyWatch {
    received: AtomicU64,
    too_large: AtomicBool,
    broken: AtomicBool,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Problem> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| Problem::bad_request(format!("header {name} is not visible ASCII"))))
        .transpose()
}

fn put_options(key: &str, headers: &HeaderMap) -> Result<PutOptions, Problem> {
    let acl = match headers.get("x-spaces-acl").map(HeaderValue::to_str) {
        None | Some(Ok("private")) => Acl::Private,
        Some(Ok("public-read")) => Acl::PublicRead,
        Some(_) => return Err(Problem::bad_request("x-spaces-acl must be private or public-read")),
    };
    let mut metadata = Vec::new();
    for (name, value) in headers {
        if let Some(meta) = name.as_str().strip_prefix(META_PREFIX) {
            let value =
                value.to_str().map_err(|_| Problem::bad_request(format!("header {name} is not visible ASCII")))?;
            metadata.push((meta.to_string(), value.to_string()));
        }
    }
    Ok(PutOptions {
        content_type: header_str(headers, &header::CONTENT_TYPE)?
            .map(String::from)
            .or_else(|| content_type::guess(key).map(String::from)),
        cache_control: header_str(headers, &header::CACHE_CONTROL)?.map(String::from),
        acl,
        metadata,
    })
}

#[utoipa::path(put, path = "/v1/objects/{key}", tag = "objects",
    description = "Stores the request body under `key`, streaming it; bodies above the multipart threshold go up in parts (aborted on any failure).",
    params(
        ("key" = String, Path, description = "Object key; `/` separates segments, other reserved characters are percent-encoded"),
        ("Content-Type" = Option<String>, Header, description = "Stored with the object [default: guessed from the key]"),
        ("Cache-Control" = Option<String>, Header, description = "Stored with the object"),
        ("x-spaces-acl" = Option<String>, Header, description = "`private` (default) or `public-read`"),
        ("x-spaces-meta-NAME" = Option<String>, Header, description = "User metadata NAME"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The object's bytes"),
    responses(
        (status = 200, description = "Stored", body = Stored),
        (status = 400, description = "Invalid key or headers, or the body broke off", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the service's limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or circuit open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Body) -> Answer {
    let key = keys::from_path(uri.path(), OBJECTS).map_err(Problem::bad_request)?;
    let size = match header_str(&headers, &header::CONTENT_LENGTH)? {
        Some(v) => Some(v.parse::<u64>().map_err(|_| Problem::bad_request("Content-Length is not a number"))?),
        None => None,
    };
    let too_large = || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is larger than this service accepts ({} bytes, --max-upload)", app.max_upload),
        )
    };
    if size.is_some_and(|s| s > app.max_upload) {
        return Err(too_large());
    }
    let opts = put_options(&key, &headers)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let _stop = app.link(&session);
    let watch = Arc::new(BodyWatch::default());
    let limit = app.max_upload;
    let stream = body.into_data_stream().map({
        let watch = Arc::clone(&watch);
        move |chunk| match chunk {
            Ok(bytes) => {
                let total = watch.received.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64;
                if total > limit {
                    watch.too_large.store(true, Ordering::Relaxed);
                    return Err(std::io::Error::other("the body is over the limit"));
                }
                Ok(bytes)
            }
            Err(e) => {
                watch.broken.store(true, Ordering::Relaxed);
                Err(std::io::Error::other(e))
            }
        }
    });
    let reader = tokio_util::io::StreamReader::new(stream);
    let result = session.put(&key, reader, size, &opts).await;
    app.recycle(session);
    let received = watch.received.load(Ordering::Relaxed);
    let outcome = match result {
        Ok(r) => Ok(r),
        Err(_) if watch.too_large.load(Ordering::Relaxed) => Err(too_large()),
        Err(_) if watch.broken.load(Ordering::Relaxed) => {
            Err(Problem::bad_request(format!("the request body broke off after {received} bytes; nothing was stored")))
        }
        Err(e) => Err(Problem::from(e)),
    };
    app.audit("put", &key, outcome.as_ref().map_or_else(|p| p.status, |_| 200), received);
    let r = outcome?;
    Ok(Json(Stored::new(key, r)).into_response())
}

fn meta_headers(meta: &ObjectMeta, headers: &mut HeaderMap) {
    let mut set = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::ETAG, &format!("\"{}\"", meta.etag));
    set(header::CONTENT_LENGTH, &meta.size.to_string());
    set(header::ACCEPT_RANGES, "bytes");
    if let Some(t) = &meta.content_type {
        set(header::CONTENT_TYPE, t);
    }
    if let Some(c) = &meta.cache_control {
        set(header::CACHE_CONTROL, c);
    }
    if let Some(d) = &meta.last_modified {
        set(header::LAST_MODIFIED, d);
    }
    for (name, value) in &meta.metadata {
        if let Ok(name) = HeaderName::try_from(format!("{META_PREFIX}{name}")) {
            set(name, value);
        }
    }
}

#[utoipa::path(get, path = "/v1/objects/{key}", tag = "objects",
    description = "Streams the object, or one byte range of it (206). `If-Match` / `If-None-Match` are sent upstream with the GET, so the answer is atomic with the check.",
    params(
        ("key" = String, Path, description = "Object key"),
        ("Range" = Option<String>, Header, description = "`bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-N`"),
        ("If-Match" = Option<String>, Header, description = "Only if the ETag is one of these (412 otherwise)"),
        ("If-None-Match" = Option<String>, Header, description = "Only if the ETag is none of these (304 otherwise)"),
    ),
    responses(
        (status = 200, description = "The object", content_type = "application/octet-stream", body = String),
        (status = 206, description = "The requested range; Content-Range says which", content_type = "application/octet-stream", body = String),
        (status = 304, description = "The object still matches If-None-Match"),
        (status = 404, description = "No such object", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not hold", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range cannot be satisfied", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Answer {
    let key = keys::from_path(uri.path(), OBJECTS).map_err(Problem::bad_request)?;
    let range = match header_str(&headers, &header::RANGE)? {
        Some(v) => http_headers::parse_range(v).map_err(unsatisfiable)?,
        None => None,
    };
    let mut opts = GetOptions {
        range: None,
        if_match: header_str(&headers, &header::IF_MATCH)?.map(String::from),
        if_none_match: header_str(&headers, &header::IF_NONE_MATCH)?.map(String::from),
    };
    let slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let stop = app.link(&session);
    opts.range = match range {
        None => None,
        Some(Range::From { first, last }) => Some(ByteRange { first, last }),
        Some(Range::Suffix(n)) => {
            // The size decides where the suffix starts; the GET is pinned to the ETag the size came from.
            let meta = session.head(&key).await.map_err(Problem::from)?;
            opts.if_match.get_or_insert_with(|| format!("\"{}\"", meta.etag));
            Some(ByteRange { first: meta.size.saturating_sub(n), last: None })
        }
    };
    let (meta, download) = session.get(&key, &opts).await.map_err(Problem::from)?;
    // Stores that ignore conditional GETs (the embedded one does) still get the conditions' meaning.
    match http_headers::evaluate(&meta.etag, opts.if_match.as_deref(), opts.if_none_match.as_deref()) {
        Verdict::Proceed => {}
        Verdict::PreconditionFailed => {
            let detail = format!("{key:?} has ETag \"{}\", which If-Match does not name", meta.etag);
            return Err(Problem::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", detail));
        }
        Verdict::NotModified => return Ok(not_modified(&meta.etag)),
    }
    let mut response = Response::new(Body::empty());
    meta_headers(&meta, response.headers_mut());
    if let Some(r) = &opts.range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let last = (r.first + meta.size).saturating_sub(1);
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{last}/*", r.first)) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let (sender, mut receiver) = mpsc::channel(BODY_DEPTH);
    let sink = ChannelSink::new(sender.clone(), app.client_stall);
    tokio::spawn(async move {
        let written = session.write_to(download, Box::new(sink)).await;
        app.recycle(session);
        drop((slot, stop));
        match written {
            Ok(bytes) => tracing::debug!(key = %key, bytes, "download done"),
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "download broke off");
                // An error in the body makes hyper cut the connection; were the queue full (a stalled client),
                // the body still ends short of its Content-Length, which no client takes for a clean end.
                let _ = sender.try_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    *response.body_mut() = Body::from_stream(futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx)));
    Ok(response)
}

fn unsatisfiable(detail: String) -> Problem {
    Problem::new(StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable", detail)
}

#[utoipa::path(head, path = "/v1/objects/{key}", tag = "objects",
    description = "The object's headers (ETag, Content-Length, Content-Type, Last-Modified, x-spaces-meta-*) without its body; honours If-Match / If-None-Match.",
    params(
        ("key" = String, Path, description = "Object key"),
        ("If-Match" = Option<String>, Header, description = "412 unless the ETag is one of these"),
        ("If-None-Match" = Option<String>, Header, description = "304 if the ETag is one of these"),
    ),
    responses(
        (status = 200, description = "The object exists"),
        (status = 304, description = "The object still matches If-None-Match"),
        (status = 404, description = "No such object"),
        (status = 412, description = "If-Match does not hold"),
    ),
    security(("bearer" = []))
)]
pub async fn head(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Answer {
    let key = keys::from_path(uri.path(), OBJECTS).map_err(Problem::bad_request)?;
    let if_match = header_str(&headers, &header::IF_MATCH)?;
    let if_none_match = header_str(&headers, &header::IF_NONE_MATCH)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let meta = session.head(&key).await;
    app.recycle(session);
    let meta = meta.map_err(Problem::from)?;
    let mut response = Response::new(Body::empty());
    match http_headers::evaluate(&meta.etag, if_match, if_none_match) {
        Verdict::Proceed => meta_headers(&meta, response.headers_mut()),
        Verdict::PreconditionFailed => *response.status_mut() = StatusCode::PRECONDITION_FAILED,
        Verdict::NotModified => return Ok(not_modified(&meta.etag)),
    }
    Ok(response)
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

#[utoipa::path(delete, path = "/v1/objects/{key}", tag = "objects",
    description = "Deletes the object; deleting a missing object succeeds (S3 semantics).",
    params(("key" = String, Path, description = "Object key")),
    responses((status = 204, description = "Deleted, or did not exist")),
    security(("bearer" = []))
)]
pub async fn delete(State(app): State<Arc<App>>, uri: Uri) -> Answer {
    let key = keys::from_path(uri.path(), OBJECTS).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let outcome = session.delete(&key).await.map_err(Problem::from);
    app.recycle(session);
    app.audit("delete", &key, outcome.as_ref().map_or_else(|p| p.status, |_| 204), 0);
    outcome?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only keys that start with this.
    prefix: Option<String>,
    /// Group keys by this delimiter (e.g. `/`) into `prefixes`.
    delimiter: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Entries per page, 1-1000 [default: 1000].
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/objects", tag = "objects", params(ListQuery),
    responses((status = 200, description = "One page of objects in key order", body = Page),
              (status = 400, description = "Invalid parameters", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn list(State(app): State<Arc<App>>, query: Result<Query<ListQuery>, QueryRejection>) -> Answer {
    let Query(q) = query?;
    if q.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(Problem::bad_request("limit must be 1-1000"));
    }
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let req = ListRequest { prefix: q.prefix, delimiter: q.delimiter, continuation: q.cursor, max_keys: q.limit };
    let page = session.list(&req).await;
    app.recycle(session);
    let page = page.map_err(Problem::from)?;
    Ok(Json(Page::from(page)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteMany {
    /// Keys to delete (at most 10,000 per request).
    keys: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotDeleted {
    key: String,
    code: String,
    message: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeletedMany {
    /// Keys deleted (missing keys count as deleted).
    deleted: usize,
    failed: Vec<NotDeleted>,
}

const MAX_BATCH: usize = 10_000;

#[utoipa::path(post, path = "/v1/objects/delete", tag = "objects",
    description = "Deletes many keys with S3 DeleteObjects, 1000 per upstream request; keys that could not be deleted come back with the reason.",
    request_body = DeleteMany,
    responses((status = 200, description = "Done; `failed` lists what was not deleted", body = DeletedMany),
              (status = 400, description = "Invalid JSON or key", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn delete_many(State(app): State<Arc<App>>, body: Result<Json<DeleteMany>, JsonRejection>) -> Answer {
    let Json(req) = body?;
    if req.keys.len() > MAX_BATCH {
        return Err(Problem::bad_request(format!("{} keys; at most {MAX_BATCH} per request", req.keys.len())));
    }
    for k in &req.keys {
        keys::check(k).map_err(Problem::bad_request)?;
    }
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let outcome = session.delete_many(&req.keys).await.map_err(Problem::from);
    app.recycle(session);
    let summary = format!("{} keys", req.keys.len());
    app.audit("delete-many", &summary, outcome.as_ref().map_or_else(|p| p.status, |_| 200), 0);
    let failures = outcome?;
    let failed: Vec<_> =
        failures.into_iter().map(|f| NotDeleted { key: f.key, code: f.code, message: f.message }).collect();
    Ok(Json(DeletedMany { deleted: req.keys.len() - failed.len(), failed }).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct PresignBody {
    key: String,
    #[serde(default)]
    method: Method,
    /// Lifetime in seconds, 1-604800 [default: 3600].
    expires: Option<u32>,
    /// For a PUT: the Content-Type the upload must be sent with (signed into the URL).
    content_type: Option<String>,
}

#[utoipa::path(post, path = "/v1/presign", tag = "urls", request_body = PresignBody,
    description = "A SigV4 query-signed URL that grants the method on the key without credentials until it expires.",
    responses((status = 200, description = "The URL", body = Presigned),
              (status = 400, description = "Invalid key, method or lifetime", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub async fn presign(State(app): State<Arc<App>>, body: Result<Json<PresignBody>, JsonRejection>) -> Answer {
    let Json(req) = body?;
    keys::check(&req.key).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let p = session.presign(&presign_request(req.key, req.method, req.expires, req.content_type)).await;
    app.recycle(session);
    let p = p.map_err(Problem::from)?;
    Ok(Json(Presigned::from(p)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UrlQuery {
    /// The URL on the bucket's CDN instead of the origin.
    #[serde(default)]
    cdn: bool,
}

#[utoipa::path(get, path = "/v1/url/{key}", tag = "urls",
    description = "The object's unsigned URL at the origin, or with `cdn=true` on the bucket's CDN.",
    params(("key" = String, Path, description = "Object key"), UrlQuery),
    responses((status = 200, description = "The URL", body = Url)),
    security(("bearer" = []))
)]
pub async fn url(State(app): State<Arc<App>>, uri: Uri, query: Result<Query<UrlQuery>, QueryRejection>) -> Answer {
    let key = keys::from_path(uri.path(), URLS).map_err(Problem::bad_request)?;
    let Query(q) = query?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let url = if q.cdn { session.cdn_url(&key).await } else { session.public_url(&key).await };
    app.recycle(session);
    Ok(Json(Url { url: url.map_err(Problem::from)? }).into_response())
}
