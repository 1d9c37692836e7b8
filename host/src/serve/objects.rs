//! The `/v1` object routes: PUT, GET with Range and conditions, HEAD, DELETE, listing, batch delete, presigned
//! and public URLs. What requests mean (headers, bodies, limits, the statuses of failures) is the API's one
//! definition in `http_api`, shared with the edge component; here it is wired to axum and the component. Each
//! request gets a slot from [`Admission`] and an instance of its own, handed back (`App::recycle`) once its
//! calls completed; bodies stream both ways through wasi:io streams, so memory stays flat whatever the size.
//!
//! [`Admission`]: super::admission::Admission

use super::problem::{Kind, Problem};
use super::App;
use crate::runtime::bindings::storage::{ByteRange, GetOptions, ListRequest, PutOptions};
use crate::runtime::bindings::types::ObjectMeta;
use crate::runtime::streams::{Body as RuntimeBody, ChannelSink};
use crate::views::{presign_request, put_options, stored};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use http_api::bodies::{
    self, DeleteMany, DeletedMany, ListQuery, NotDeleted, Page, PresignBody, Presigned, Stored, Url,
};
use http_api::headers::{self as api_headers, ObjectHead, Range, Verdict};
use http_api::routes::{query_params, OBJECTS, URLS};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Download chunks queued for a slow client.
const BODY_DEPTH: usize = 4;

type Answer = Result<Response, Problem>;

/// What is known of a request body as it streams into the component.
#[derive(Default)]
struct BodyWatch {
    received: AtomicU64,
    too_large: AtomicBool,
    broken: AtomicBool,
    /// The client sent nothing for `--client-stall` seconds.
    stalled: AtomicBool,
}

/// `body`'s chunks, ending in an error when the client sends nothing for `stall`: an upload that stops midway
/// must not hold its slot (and an instance) for ever.
fn stall_limited(
    body: Body,
    stall: std::time::Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, BodyFault>> + Send {
    futures_util::stream::unfold(Some(body.into_data_stream()), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(stall, stream.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(stream))),
            Ok(Some(Err(e))) => Some((Err(BodyFault::Broken(e)), None)),
            Ok(None) => None,
            Err(_) => Some((Err(BodyFault::Stalled), None)),
        }
    })
}

/// Why a request body did not arrive whole.
enum BodyFault {
    Broken(axum::Error),
    Stalled,
}

/// The object key of a request to a route under `prefix`, by the API's key rules.
fn key_of(uri: &Uri, prefix: &str) -> Result<String, Problem> {
    http_api::key_from_path(uri.path(), prefix).map_err(Problem::bad_request)
}

/// A header as text, refused (400) when it is not visible ASCII.
fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Problem> {
    headers.get(name).map(|v| api_headers::text(name.as_str(), v.as_bytes()).map_err(Problem::bad_request)).transpose()
}

#[utoipa::path(put, path = "/v1/objects/{key}", tag = "objects",
    description = "Stores the request body under `key`, streaming it; bodies above the multipart threshold go up in \
        parts (aborted on any failure).",
    params(
        ("key" = String, Path, description = "Object key; `/` separates segments, other reserved characters are \
            percent-encoded"),
        ("Content-Type" = Option<String>, Header, description = "Stored with the object [default: guessed from the \
            key]"),
        ("Cache-Control" = Option<String>, Header, description = "Stored with the object"),
        ("x-spaces-acl" = Option<String>, Header, description = "`private` (default) or `public-read`"),
        ("x-spaces-meta-NAME" = Option<String>, Header, description = "User metadata NAME"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The object's bytes"),
    responses(
        (status = 200, description = "Stored", body = Stored),
        (status = 400, description = "Invalid key or headers, or the body broke off",
         body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the service's limit",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or circuit open",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn put(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Body) -> Answer {
    let key = key_of(&uri, OBJECTS)?;
    let size = api_headers::content_length(headers.get(header::CONTENT_LENGTH).map(HeaderValue::as_bytes))
        .map_err(Problem::bad_request)?;
    let too_large = || {
        let detail = format!("the body is larger than this service accepts ({} bytes, --max-upload)", app.max_upload);
        Problem::new(Kind::TooLarge, detail)
    };
    if size.is_some_and(|s| s > app.max_upload) {
        return Err(too_large());
    }
    let upload = api_headers::put_headers(&key, headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
        .map_err(Problem::bad_request)?;
    let opts = PutOptions { encrypt: app.encrypt.clone(), ..put_options(&upload, &key) };
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let _stop = app.link(&session);
    let watch = Arc::new(BodyWatch::default());
    let limit = app.max_upload;
    let stream = stall_limited(body, app.client_stall).map({
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
            Err(BodyFault::Broken(e)) => {
                watch.broken.store(true, Ordering::Relaxed);
                Err(std::io::Error::other(e))
            }
            Err(BodyFault::Stalled) => {
                watch.stalled.store(true, Ordering::Relaxed);
                Err(std::io::Error::other("the client stopped sending the body"))
            }
        }
    });
    let reader = tokio_util::io::StreamReader::new(stream);
    let result = session.put(&key, RuntimeBody::reader(reader), size, &opts).await;
    app.recycle(session);
    let received = watch.received.load(Ordering::Relaxed);
    let outcome = match result {
        Ok(r) => Ok(r),
        Err(_) if watch.too_large.load(Ordering::Relaxed) => Err(too_large()),
        Err(_) if watch.stalled.load(Ordering::Relaxed) => Err(Problem::new(
            Kind::ClientStalled,
            format!(
                "the request body stopped after {received} bytes and nothing came for {} s (--client-stall); \
                 nothing was stored",
                app.client_stall.as_secs()
            ),
        )),
        Err(_) if watch.broken.load(Ordering::Relaxed) => {
            Err(Problem::bad_request(format!("the request body broke off after {received} bytes; nothing was stored")))
        }
        Err(e) => Err(Problem::from(e)),
    };
    app.audit("put", &key, outcome.as_ref().map_or_else(|p| p.status(), |_| 200), received);
    let r = outcome?;
    Ok(Json(stored(key, r)).into_response())
}

/// Sets the headers of an object answer, as the API defines them.
fn meta_headers(meta: &ObjectMeta, headers: &mut HeaderMap) {
    let head = ObjectHead {
        etag: &meta.etag,
        size: meta.size,
        content_type: meta.content_type.as_deref(),
        cache_control: meta.cache_control.as_deref(),
        last_modified: meta.last_modified.as_deref(),
        metadata: &meta.metadata,
    };
    for (name, value) in api_headers::object_headers(&head) {
        // A value S3 handed back that HTTP cannot carry is left out rather than failing the response.
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            headers.insert(n, v);
        }
    }
}

#[utoipa::path(get, path = "/v1/objects/{key}", tag = "objects",
    description = "Streams the object, or one byte range of it (206). `If-Match` / `If-None-Match` are sent upstream \
        with the GET, so the answer is atomic with the check.",
    params(
        ("key" = String, Path, description = "Object key"),
        ("Range" = Option<String>, Header, description = "`bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-N`"),
        ("If-Match" = Option<String>, Header, description = "Only if the ETag is one of these (412 otherwise)"),
        ("If-None-Match" = Option<String>, Header, description = "Only if the ETag is none of these (304 otherwise)"),
    ),
    responses(
        (status = 200, description = "The object", content_type = "application/octet-stream", body = String),
        (status = 206, description = "The requested range; Content-Range says which",
         content_type = "application/octet-stream", body = String),
        (status = 304, description = "The object still matches If-None-Match"),
        (status = 404, description = "No such object", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not hold",
         body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range cannot be satisfied",
         body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn get(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Answer {
    let key = key_of(&uri, OBJECTS)?;
    let range = match header_str(&headers, &header::RANGE)? {
        Some(v) => api_headers::parse_range(v).map_err(|d| Problem::new(Kind::RangeNotSatisfiable, d))?,
        None => None,
    };
    let mut opts = GetOptions {
        range: None,
        if_match: header_str(&headers, &header::IF_MATCH)?.map(String::from),
        if_none_match: header_str(&headers, &header::IF_NONE_MATCH)?.map(String::from),
        version_id: None,
        decrypt: app.decrypt.clone(),
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
    if let Some(refusal) = refusal(&key, &meta.etag, opts.if_match.as_deref(), opts.if_none_match.as_deref()) {
        return Ok(refusal);
    }
    let mut response = Response::new(Body::empty());
    meta_headers(&meta, response.headers_mut());
    if let Some(r) = &opts.range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&api_headers::content_range(r.first, meta.size)) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let (sender, mut receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(BODY_DEPTH);
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

/// The answer when the request's conditions do not let the object be served: 412, or 304 with the ETag.
fn refusal(key: &str, etag: &str, if_match: Option<&str>, if_none_match: Option<&str>) -> Option<Response> {
    match api_headers::evaluate(etag, if_match, if_none_match) {
        Verdict::Proceed => None,
        Verdict::PreconditionFailed => {
            let detail = format!("{key:?} has ETag \"{etag}\", which If-Match does not name");
            Some(Problem::new(Kind::PreconditionFailed, detail).into_response())
        }
        Verdict::NotModified => {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
                response.headers_mut().insert(header::ETAG, v);
            }
            Some(response)
        }
    }
}

#[utoipa::path(head, path = "/v1/objects/{key}", tag = "objects",
    description = "The object's headers (ETag, Content-Length, Content-Type, Last-Modified, x-spaces-meta-*) without \
        its body; honours If-Match / If-None-Match.",
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
pub(super) async fn head(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap) -> Answer {
    let key = key_of(&uri, OBJECTS)?;
    let if_match = header_str(&headers, &header::IF_MATCH)?;
    let if_none_match = header_str(&headers, &header::IF_NONE_MATCH)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let meta = session.head(&key).await;
    app.recycle(session);
    let meta = meta.map_err(Problem::from)?;
    // A HEAD answer has no body: a 412 carries only its status.
    if let Some(refusal) = refusal(&key, &meta.etag, if_match, if_none_match) {
        return Ok((refusal.status(), refusal.headers().clone()).into_response());
    }
    let mut response = Response::new(Body::empty());
    meta_headers(&meta, response.headers_mut());
    Ok(response)
}

#[utoipa::path(delete, path = "/v1/objects/{key}", tag = "objects",
    description = "Deletes the object; deleting a missing object succeeds (S3 semantics).",
    params(("key" = String, Path, description = "Object key")),
    responses((status = 204, description = "Deleted, or did not exist")),
    security(("bearer" = []))
)]
pub(super) async fn delete(State(app): State<Arc<App>>, uri: Uri) -> Answer {
    let key = key_of(&uri, OBJECTS)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let outcome = session.delete(&key).await.map_err(Problem::from);
    app.recycle(session);
    app.audit("delete", &key, outcome.as_ref().map_or_else(|p| p.status(), |_| 204), 0);
    outcome?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/v1/objects", tag = "objects", params(ListQuery),
    responses((status = 200, description = "One page of objects in key order", body = Page),
              (status = 400, description = "Invalid parameters",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub(super) async fn list(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> Answer {
    let pairs = query_params(query.as_deref().unwrap_or_default()).map_err(Problem::bad_request)?;
    let q = ListQuery::from_pairs(&pairs).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let req = ListRequest { prefix: q.prefix, delimiter: q.delimiter, continuation: q.cursor, max_keys: q.limit };
    let page = session.list(&req).await;
    app.recycle(session);
    let page = page.map_err(Problem::from)?;
    Ok(Json(Page::from(page)).into_response())
}

#[utoipa::path(post, path = "/v1/objects/delete", tag = "objects",
    description = "Deletes many keys with S3 DeleteObjects, 1000 per upstream request; keys that could not be deleted \
        come back with the reason.",
    request_body = DeleteMany,
    responses((status = 200, description = "Done; `failed` lists what was not deleted", body = DeletedMany),
              (status = 400, description = "Invalid JSON or key",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub(super) async fn delete_many(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Answer {
    let body = body?;
    let req: DeleteMany = bodies::parse(&body).map_err(Problem::bad_request)?;
    req.check().map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let outcome = session.delete_many(&req.keys).await.map_err(Problem::from);
    app.recycle(session);
    let summary = format!("{} keys", req.keys.len());
    app.audit("delete-many", &summary, outcome.as_ref().map_or_else(|p| p.status(), |_| 200), 0);
    let failures = outcome?;
    let failed: Vec<_> =
        failures.into_iter().map(|f| NotDeleted { key: f.key, code: f.code, message: f.message }).collect();
    Ok(Json(DeletedMany { deleted: req.keys.len() - failed.len(), failed }).into_response())
}

#[utoipa::path(post, path = "/v1/presign", tag = "urls", request_body = PresignBody,
    description = "A SigV4 query-signed URL that grants the method on the key without credentials until it expires.",
    responses((status = 200, description = "The URL", body = Presigned),
              (status = 400, description = "Invalid key, method or lifetime",
               body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub(super) async fn presign(State(app): State<Arc<App>>, body: Result<Bytes, BytesRejection>) -> Answer {
    let body = body?;
    let req: PresignBody = bodies::parse(&body).map_err(Problem::bad_request)?;
    http_api::check_key(&req.key).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let p = session.presign(&presign_request(req.key, req.method, req.expires, req.content_type)).await;
    app.recycle(session);
    let p = p.map_err(Problem::from)?;
    Ok(Json(Presigned::from(p)).into_response())
}

#[utoipa::path(get, path = "/v1/url/{key}", tag = "urls",
    description = "The object's unsigned URL at the origin, or with `cdn=true` on the bucket's CDN.",
    params(("key" = String, Path, description = "Object key"),
           ("cdn" = Option<bool>, Query, description = "The URL on the bucket's CDN instead of the origin")),
    responses((status = 200, description = "The URL", body = Url)),
    security(("bearer" = []))
)]
pub(super) async fn url(State(app): State<Arc<App>>, uri: Uri, RawQuery(query): RawQuery) -> Answer {
    let key = key_of(&uri, URLS)?;
    let pairs = query_params(query.as_deref().unwrap_or_default()).map_err(Problem::bad_request)?;
    let cdn = bodies::cdn_param(&pairs).map_err(Problem::bad_request)?;
    let _slot = app.admission.admit().await?;
    let mut session = app.session().await?;
    let url = if cdn { session.cdn_url(&key).await } else { session.public_url(&key).await };
    app.recycle(session);
    Ok(Json(Url { url: url.map_err(Problem::from)? }).into_response())
}
