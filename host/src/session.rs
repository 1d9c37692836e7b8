//! One component instance with an open `client`: typed async calls for the CLI (and later the service), with
//! host streams (files, stdin, stdout) handed across as wasi:io resources so bodies never pass through a buffer
//! of ours. Failures are either the component's typed `error` or a host fault (trap, I/O), never a panic.

use crate::bindings::storage::{
    DeleteFailure, GetOptions, ListPage, ListRequest, PresignRequest, Presigned, PutOptions, PutResult,
};
use crate::bindings::types::{self, ObjectMeta};
use crate::bindings::Client;
use crate::interrupt::Interrupt;
use crate::runtime::{HostState, ProgressFn, Runtime};
use crate::streams::{ChannelSink, ReadAhead, WriteSink};
use std::fmt;
use wasmtime::component::{Resource, ResourceAny};
use wasmtime::Store;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream};

#[derive(Debug)]
pub enum Failure {
    /// The component's typed error.
    Storage(types::Error),
    /// The host failed: a trap, an I/O error opening a file, and the like.
    Host(String),
    /// The user pressed Ctrl-C.
    Interrupted,
}

impl From<wasmtime::Error> for Failure {
    fn from(e: wasmtime::Error) -> Self {
        Failure::Host(format!("{e:#}"))
    }
}

impl Failure {
    /// 2 usage, 3 not found, 4 access denied, 1 anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Storage(types::Error::NotFound(_)) => 3,
            Failure::Storage(types::Error::AccessDenied(_)) => 4,
            Failure::Storage(types::Error::InvalidArgument(_)) => 2,
            Failure::Interrupted => 130,
            _ => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use types::Error as E;
        match self {
            Failure::Host(m) => write!(f, "{m}"),
            Failure::Interrupted => write!(f, "interrupted"),
            Failure::Storage(e) => match e {
                E::NotFound(m) => write!(f, "not found: {m}"),
                E::AccessDenied(m) => write!(f, "access denied: {m}"),
                E::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
                E::Conflict(m) => write!(f, "conflict: {m}"),
                E::PreconditionFailed(m) => write!(f, "precondition failed: {m}"),
                E::NotModified(m) => write!(f, "not modified: {m}"),
                E::Throttled(Some(s)) => write!(f, "throttled by the service (SlowDown); retry in {s} s"),
                E::Throttled(None) => {
                    write!(f, "throttled by the service (SlowDown); retries ran out, try again later")
                }
                E::Unavailable(m) => write!(f, "service unavailable: {m}"),
                E::CircuitOpen(m) => write!(f, "circuit open: {m}"),
                E::Timeout(m) => write!(f, "timed out: {m}"),
                E::Integrity(m) => write!(f, "integrity check failed: {m}"),
                E::Service(s) => write!(
                    f,
                    "service error {} {}: {}{}",
                    s.status,
                    s.code,
                    s.message,
                    s.request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default()
                ),
                E::Transport(m) => write!(f, "connection failed: {m}"),
            },
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

pub(crate) fn flatten<T>(r: wasmtime::Result<Result<T, types::Error>>) -> Outcome<T> {
    r?.map_err(Failure::Storage)
}

/// `flatten`, noting in `broken` that the instance faulted.
fn settle<T>(broken: &mut bool, r: wasmtime::Result<Result<T, types::Error>>) -> Outcome<T> {
    *broken |= r.is_err();
    flatten(r)
}

pub struct Session {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
    /// A call trapped or failed in the host: the instance must not be used again.
    broken: bool,
}

impl Session {
    pub async fn open(runtime: &Runtime, cfg: &types::Config) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_storage().client().call_open(&mut store, cfg).await)?;
        Ok(Session { store, bindings, client, broken: false })
    }

    /// Can this instance serve another call? Not after a trap or host fault, nor once interrupted.
    pub fn reusable(&self) -> bool {
        !self.broken && !self.store.data().interrupt.triggered()
    }

    /// Where this session's progress events go from now on.
    pub fn set_progress(&mut self, sink: Option<ProgressFn>) {
        self.store.data_mut().progress = sink;
    }

    /// Triggering it makes the running transfer fail its own way (an upload aborts itself).
    pub fn interrupt(&self) -> Interrupt {
        self.store.data().interrupt.clone()
    }

    /// Uploads from any async reader (file, stdin, request body).
    pub async fn put(
        &mut self,
        key: &str,
        reader: impl tokio::io::AsyncRead + Send + 'static,
        size: Option<u64>,
        opts: &PutOptions,
    ) -> Outcome<PutResult> {
        let stream: DynInputStream = Box::new(ReadAhead::new(reader, size, &self.store.data().interrupt));
        let body: Resource<DynInputStream> =
            self.store.data_mut().table.push(stream).map_err(|e| Failure::Host(e.to_string()))?;
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_put_object(&mut self.store, self.client, key, body, size, opts).await)
    }

    /// Starts a download: the metadata arrives first; `write_to` moves the body into a writer.
    pub async fn get(&mut self, key: &str, opts: &GetOptions) -> Outcome<(ObjectMeta, ResourceAny)> {
        let c = self.bindings.spaces_storage_storage().client();
        let download = settle(&mut self.broken, c.call_get_object(&mut self.store, self.client, key, opts).await)?;
        let meta = self.bindings.spaces_storage_storage().download().call_meta(&mut self.store, download).await;
        self.broken |= meta.is_err();
        Ok((meta?, download))
    }

    /// Moves a download's body into a file.
    pub async fn write_to_file(&mut self, download: ResourceAny, file: std::fs::File) -> Outcome<u64> {
        self.write_to(download, Box::new(WriteSink::new(file))).await
    }

    /// Moves a download's body into any host output stream.
    pub async fn write_to(&mut self, download: ResourceAny, sink: DynOutputStream) -> Outcome<u64> {
        let sink: Resource<DynOutputStream> =
            self.store.data_mut().table.push(sink).map_err(|e| Failure::Host(e.to_string()))?;
        let borrowed = Resource::new_borrow(sink.rep());
        let d = self.bindings.spaces_storage_storage().download();
        let result = d.call_write_to(&mut self.store, download, borrowed).await;
        self.broken |= result.is_err();
        self.store.data_mut().table.delete(sink).map_err(|e| Failure::Host(e.to_string()))?;
        let dropped = download.resource_drop_async(&mut self.store).await;
        self.broken |= dropped.is_err();
        dropped?;
        flatten(result)
    }

    /// Moves a download's body into memory; fails once it passes `limit` bytes.
    pub async fn read_to_vec(&mut self, download: ResourceAny, limit: u64) -> Outcome<Vec<u8>> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let sink = ChannelSink::new(sender, std::time::Duration::from_secs(60));
        // Returning early drops the receiver, which breaks the sink and so stops the download.
        let collect = async move {
            let mut body = Vec::new();
            while let Some(Ok(chunk)) = receiver.recv().await {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(Failure::Host(format!("the body grew past {limit} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        let (written, body) = tokio::join!(self.write_to(download, Box::new(sink)), collect);
        let body = body?;
        written?;
        Ok(body)
    }

    pub async fn head(&mut self, key: &str) -> Outcome<ObjectMeta> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_head_object(&mut self.store, self.client, key).await)
    }

    pub async fn exists(&mut self, key: &str) -> Outcome<bool> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_exists(&mut self.store, self.client, key).await)
    }

    pub async fn delete(&mut self, key: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_delete_object(&mut self.store, self.client, key).await)
    }

    pub async fn delete_many(&mut self, keys: &[String]) -> Outcome<Vec<DeleteFailure>> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_delete_objects(&mut self.store, self.client, keys).await)
    }

    pub async fn list(&mut self, req: &ListRequest) -> Outcome<ListPage> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_list_objects(&mut self.store, self.client, req).await)
    }

    pub async fn copy(&mut self, src: &str, dst: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_copy_object(&mut self.store, self.client, src, dst).await)
    }

    pub async fn public_url(&mut self, key: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_public_url(&mut self.store, self.client, key).await)
    }

    pub async fn cdn_url(&mut self, key: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_cdn_url(&mut self.store, self.client, key).await)
    }

    pub async fn presign_many(&mut self, reqs: &[PresignRequest]) -> Outcome<Vec<Result<Presigned, types::Error>>> {
        let c = self.bindings.spaces_storage_storage().client();
        let result = c.call_presign_many(&mut self.store, self.client, reqs).await;
        self.broken |= result.is_err();
        Ok(result?)
    }

    /// One ListBuckets signed with `creds` instead of the host's: proves a new key works.
    pub async fn verify_credentials(
        &mut self,
        creds: &crate::bindings::spaces::storage::credentials::Credentials,
    ) -> Outcome<u64> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_verify_credentials(&mut self.store, self.client, creds).await)
    }

    /// One signed HEAD of the bucket; its latency in microseconds.
    pub async fn health(&mut self) -> Outcome<u64> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_health(&mut self.store, self.client).await)
    }

    pub async fn presign(&mut self, req: &PresignRequest) -> Outcome<Presigned> {
        let c = self.bindings.spaces_storage_storage().client();
        settle(&mut self.broken, c.call_presign(&mut self.store, self.client, req).await)
    }
}
