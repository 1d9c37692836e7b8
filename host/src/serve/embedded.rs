//! The default backend when no endpoint is configured: an S3-compatible store (`s3s-fs`, which verifies SigV4)
//! on a loopback port with its data under a local directory. The service talks to it through the same
//! component, signing and HTTP path as to Spaces; its keys are made up at each start and never leave the process.

use super::random_hex;
use crate::credentials::{Credentials, Secret};
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
    let service = builder.build();
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
