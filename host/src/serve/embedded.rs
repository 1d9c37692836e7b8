//! The default backend when no endpoint is configured: an S3-compatible store (`s3s-fs`, which verifies SigV4)
//! on a loopback port with its data under a local directory. The service talks to it through the same
//! component, signing and HTTP path as to Spaces; its keys are made up at each start and never leave the process.
//! In front of s3s-fs sits a guard: what a file system cannot store (a key segment longer than a file name may
//! be) or what s3s-fs cannot serve (a delimiter of more than one byte, on which it panics) is refused with an S3
//! `InvalidArgument` before it reaches the store, and a panic inside the store becomes a 500 answer instead of
//! a dropped connection, so one request's bad luck never looks like an outage.

use super::random_hex;
use crate::credentials::{Credentials, Secret};
use futures_util::FutureExt;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::Path;
use tokio::net::TcpListener;

pub(super) struct Embedded {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub credentials: Credentials,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The longest file name the store's file systems take, in bytes (ext4, xfs, btrfs, tmpfs).
const MAX_SEGMENT_BYTES: usize = 255;

/// Why the store cannot take a request for `uri`, if it cannot: a path segment (a key's, once decoded) longer
/// than a file name may be, or a listing delimiter of more than one byte.
fn unstorable(uri: &http::Uri) -> Option<String> {
    let decoded = |s: &str| object_keys::percent_decode(s).unwrap_or_else(|_| s.to_string());
    if let Some(long) = uri.path().split('/').map(decoded).find(|seg| seg.len() > MAX_SEGMENT_BYTES) {
        return Some(format!(
            "the embedded store keeps objects as files, and the key segment of {} bytes is longer than a file name \
             may be ({MAX_SEGMENT_BYTES} bytes)",
            long.len()
        ));
    }
    let query = uri.query().unwrap_or_default();
    let delimiter = query.split('&').find_map(|kv| kv.strip_prefix("delimiter=")).map(decoded);
    match delimiter {
        Some(d) if d.len() > 1 => Some(format!("the embedded store lists with single-byte delimiters only, not {d:?}")),
        _ => None,
    }
}

/// An S3 error answer, as the component reads them.
fn s3_error(status: u16, code: &str, message: &str) -> s3s::HttpResponse {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{escaped}</Message></Error>"
    );
    let mut response = http::Response::new(s3s::Body::from(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
    response
}

/// Starts the store on `dir` with `bucket` in it (created if missing).
pub(super) async fn start(dir: &Path, bucket: &str) -> Result<Embedded, String> {
    let bucket_dir = dir.join(bucket);
    std::fs::create_dir_all(&bucket_dir).map_err(|e| format!("creating {}: {e}", bucket_dir.display()))?;
    let fs =
        s3s_fs::FileSystem::new(dir).map_err(|e| format!("opening the data directory {}: {e:?}", dir.display()))?;
    let access_key_id = format!("EMBEDDED{}", random_hex(6)?.to_uppercase());
    let secret = random_hex(20)?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key_id.clone(), secret.clone()));
    let store = builder.build();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let store = store.clone();
        async move {
            if let Some(why) = unstorable(req.uri()) {
                return Ok::<_, s3s::HttpError>(s3_error(400, "InvalidArgument", &why));
            }
            let answer = std::panic::AssertUnwindSafe(hyper::service::Service::call(&store, req)).catch_unwind();
            match answer.await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!("the embedded store failed on a request (a panic in s3s-fs)");
                    Ok(s3_error(500, "InternalError", "the embedded store failed on this request"))
                }
            }
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("binding the embedded store: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let mut server = hyper::server::conn::http1::Builder::new();
        server.keep_alive(true);
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let _ = socket.set_nodelay(true);
            let conn = server.serve_connection(TokioIo::new(socket), service.clone());
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "embedded store connection ended");
                }
            });
        }
    });
    Ok(Embedded {
        endpoint: format!("http://{addr}"),
        credentials: Credentials {
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: None,
            source: "the embedded store",
        },
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_file_system_or_s3s_fs_cannot_take() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        let long = "a".repeat(256);
        assert!(unstorable(&uri(&format!("/b/dir/{long}"))).unwrap().contains("256 bytes"));
        assert!(unstorable(&uri(&format!("/b/{}", "%C3%A9".repeat(128)))).is_some(), "256 bytes once decoded");
        assert!(unstorable(&uri(&format!("/b/{}", "a".repeat(255)))).is_none());
        assert!(unstorable(&uri("/b?list-type=2&delimiter=%C3%AC")).unwrap().contains("single-byte"));
        assert!(unstorable(&uri("/b?list-type=2&delimiter=%2F")).is_none());
        assert!(unstorable(&uri("/b?list-type=2&prefix=%C3%AC")).is_none());
    }
}
