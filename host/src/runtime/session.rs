//! One component instance with an open `client`: typed async calls for the CLI (and later the service), with
//! host streams (files, stdin, stdout) handed across as wasi:io resources so bodies never pass through a buffer
//! of ours. Failures are either the component's typed `error` or a host fault (trap, I/O), never a panic.

use super::bindings::storage::{
    BucketSummary, CorsRule, DeleteFailure, Encryption, EtagBody, GetOptions, LifecycleRule, ListPage, ListRequest,
    ObjectAccess, PostRequest, PresignRequest, Presigned, PresignedPost, PutOptions, PutResult, UploadSummary,
    VersionPage, Versioning,
};
use super::bindings::types::{self, Acl, ObjectMeta};
use super::bindings::Client;
use super::interrupt::Interrupt;
use super::streams::{Body, ChannelSink, WriteSink};
use super::{HostState, ProgressFn, Runtime, UploadWatch};
use crate::error::{Failure, Outcome};
use wasmtime::component::{Resource, ResourceAny};
use wasmtime::Store;
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream};

/// A body whose ETag [`Session::content_etags`] computes: `size`, when known, keeps a small file's buffer small;
/// `part_size` absent means one PUT's ETag (the MD5), else the multipart ETag of parts of that size.
pub(crate) struct ToHash {
    pub body: Body,
    pub size: Option<u64>,
    pub part_size: Option<u64>,
}

pub(crate) fn flatten<T>(r: wasmtime::Result<Result<T, types::Error>>) -> Outcome<T> {
    r?.map_err(Failure::Storage)
}

/// A new age identity and its recipient, made in the component (which draws on wasi:random).
pub(crate) async fn generate_identity(runtime: &Runtime) -> Outcome<(String, String)> {
    let (mut store, bindings) = runtime.instantiate().await?;
    let pair = bindings.spaces_storage_storage().call_generate_identity(&mut store).await?;
    Ok((pair.identity, pair.recipient))
}

pub(crate) struct Session {
    store: Store<HostState>,
    bindings: Client,
    client: ResourceAny,
    /// A call trapped or failed in the host: the instance must not be used again.
    broken: bool,
}

impl Session {
    pub(crate) async fn open(runtime: &Runtime, cfg: &types::Config) -> Outcome<Self> {
        let (mut store, bindings) = runtime.instantiate().await?;
        let client = flatten(bindings.spaces_storage_storage().client().call_open(&mut store, cfg).await)?;
        Ok(Session { store, bindings, client, broken: false })
    }

    /// A call ended with `r`: `flatten` it, noting whether the instance faulted, and let the breakers know the
    /// store's next requests are another call's.
    fn settle<T>(&mut self, r: wasmtime::Result<Result<T, types::Error>>) -> Outcome<T> {
        self.broken |= r.is_err();
        self.store.data_mut().call_ended();
        flatten(r)
    }

    /// Can this instance serve another call? Not after a trap or host fault, nor once interrupted.
    pub(crate) fn reusable(&self) -> bool {
        !self.broken && !self.store.data().state.interrupt.triggered()
    }

    /// Where this session's progress events go from now on.
    pub(crate) fn set_progress(&mut self, sink: Option<ProgressFn>) {
        self.store.data_mut().state.progress = sink;
    }

    /// Who hears of this session's multipart uploads starting and ending from now on.
    pub(crate) fn watch_uploads(&mut self, watch: Option<UploadWatch>) {
        self.store.data_mut().state.uploads = watch;
    }

    /// Triggering it makes the running transfer fail its own way (an upload aborts itself).
    pub(crate) fn interrupt(&self) -> Interrupt {
        self.store.data().state.interrupt.clone()
    }

    /// Uploads a body (file, stdin, request body).
    pub(crate) async fn put(
        &mut self,
        key: &str,
        body: Body,
        size: Option<u64>,
        opts: &PutOptions,
    ) -> Outcome<PutResult> {
        let stream = body.into_stream(size, &self.store.data().state.interrupt);
        let body: Resource<DynInputStream> =
            self.store.data_mut().table.push(stream).map_err(|e| Failure::caused("the resource table", e))?;
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_put_object(&mut self.store, self.client, key, body, size, opts).await;
        self.settle(r)
    }

    /// The ETag an upload of everything each body holds would get, one result per body, in order (WIT
    /// `content-etags`): the component hashes several at once in its SIMD lanes.
    pub(crate) async fn content_etags(&mut self, bodies: Vec<ToHash>) -> Outcome<Vec<Outcome<String>>> {
        let mut wit = Vec::with_capacity(bodies.len());
        for ToHash { body, size, part_size } in bodies {
            let stream = body.into_stream(size, &self.store.data().state.interrupt);
            let body =
                self.store.data_mut().table.push(stream).map_err(|e| Failure::caused("the resource table", e))?;
            wit.push(EtagBody { body, part_size });
        }
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_content_etags(&mut self.store, self.client, &wit).await;
        self.broken |= r.is_err();
        self.store.data_mut().call_ended();
        Ok(r?.into_iter().map(|e| e.map_err(Failure::Storage)).collect())
    }

    /// The bytes stored for a body of `plain` bytes encrypted as `encrypt` says (WIT `encrypted-size`).
    pub(crate) async fn encrypted_size(&mut self, encrypt: &Encryption, plain: u64) -> Outcome<u64> {
        let r = self.bindings.spaces_storage_storage().call_encrypted_size(&mut self.store, encrypt, plain).await;
        self.settle(r)
    }

    /// Starts a download: the metadata arrives first; `write_to` moves the body into a writer.
    pub(crate) async fn get(&mut self, key: &str, opts: &GetOptions) -> Outcome<(ObjectMeta, ResourceAny)> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_get_object(&mut self.store, self.client, key, opts).await;
        let download = self.settle(r)?;
        let meta = self.bindings.spaces_storage_storage().download().call_meta(&mut self.store, download).await;
        self.broken |= meta.is_err();
        Ok((meta?, download))
    }

    /// Moves a download's body into a file.
    pub(crate) async fn write_to_file(&mut self, download: ResourceAny, file: std::fs::File) -> Outcome<u64> {
        self.write_to(download, Box::new(WriteSink::new(file))).await
    }

    /// Moves a download's body into any host output stream.
    pub(crate) async fn write_to(&mut self, download: ResourceAny, sink: DynOutputStream) -> Outcome<u64> {
        let sink: Resource<DynOutputStream> =
            self.store.data_mut().table.push(sink).map_err(|e| Failure::caused("the resource table", e))?;
        let borrowed = Resource::new_borrow(sink.rep());
        let d = self.bindings.spaces_storage_storage().download();
        let result = d.call_write_to(&mut self.store, download, borrowed).await;
        self.store.data_mut().call_ended();
        self.broken |= result.is_err();
        self.store.data_mut().table.delete(sink).map_err(|e| Failure::caused("the resource table", e))?;
        let dropped = download.resource_drop_async(&mut self.store).await;
        self.broken |= dropped.is_err();
        dropped?;
        flatten(result)
    }

    /// Moves a download's body into memory; fails once it passes `limit` bytes.
    pub(crate) async fn read_to_vec(&mut self, download: ResourceAny, limit: u64) -> Outcome<Vec<u8>> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let sink = ChannelSink::new(sender, std::time::Duration::from_secs(60));
        // Returning early drops the receiver, which breaks the sink and so stops the download.
        let collect = async move {
            let mut body = Vec::new();
            while let Some(Ok(chunk)) = receiver.recv().await {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(Failure::host(format!("the body grew past {limit} bytes")));
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

    pub(crate) async fn head(&mut self, key: &str) -> Outcome<ObjectMeta> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_head_object(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn exists(&mut self, key: &str) -> Outcome<bool> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_exists(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn delete(&mut self, key: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_object(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn delete_many(&mut self, keys: &[String]) -> Outcome<Vec<DeleteFailure>> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_objects(&mut self.store, self.client, keys).await;
        self.settle(r)
    }

    pub(crate) async fn list(&mut self, req: &ListRequest) -> Outcome<ListPage> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_list_objects(&mut self.store, self.client, req).await;
        self.settle(r)
    }

    /// Every page of a listing from `req` on, each handed to `page` as it arrives.
    pub(crate) async fn list_pages(&mut self, mut req: ListRequest, mut page: impl FnMut(ListPage)) -> Outcome<()> {
        loop {
            let p = self.list(&req).await?;
            let next = p.next_continuation.clone();
            page(p);
            match next {
                Some(c) => req.continuation = Some(c),
                None => return Ok(()),
            }
        }
    }

    pub(crate) async fn copy(&mut self, src: &str, dst: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_copy_object(&mut self.store, self.client, src, dst).await;
        self.settle(r)
    }

    /// Server-side copy from another bucket at the same endpoint.
    pub(crate) async fn copy_from(&mut self, bucket: &str, src: &str, dst: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_copy_from(&mut self.store, self.client, bucket, src, dst).await;
        self.settle(r)
    }

    /// The bucket's incomplete multipart uploads under `prefix`.
    pub(crate) async fn list_uploads(&mut self, prefix: Option<&str>) -> Outcome<Vec<UploadSummary>> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_list_uploads(&mut self.store, self.client, prefix).await;
        self.settle(r)
    }

    pub(crate) async fn abort_upload(&mut self, key: &str, upload_id: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_abort_upload(&mut self.store, self.client, key, upload_id).await;
        self.settle(r)
    }

    pub(crate) async fn public_url(&mut self, key: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_public_url(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn cdn_url(&mut self, key: &str) -> Outcome<String> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_cdn_url(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn presign_many(
        &mut self,
        reqs: &[PresignRequest],
    ) -> Outcome<Vec<Result<Presigned, types::Error>>> {
        let c = self.bindings.spaces_storage_storage().client();
        let result = c.call_presign_many(&mut self.store, self.client, reqs).await;
        self.broken |= result.is_err();
        Ok(result?)
    }

    /// One ListBuckets signed with `creds` instead of the host's: proves a new key works.
    pub(crate) async fn verify_credentials(
        &mut self,
        creds: &super::bindings::spaces::storage::credentials::Credentials,
    ) -> Outcome<u64> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_verify_credentials(&mut self.store, self.client, creds).await;
        self.settle(r)
    }

    /// One signed HEAD of the bucket; its latency in microseconds.
    pub(crate) async fn health(&mut self) -> Outcome<u64> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_health(&mut self.store, self.client).await;
        self.settle(r)
    }

    pub(crate) async fn presign(&mut self, req: &PresignRequest) -> Outcome<Presigned> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_presign(&mut self.store, self.client, req).await;
        self.settle(r)
    }

    pub(crate) async fn presign_post(&mut self, req: &PostRequest) -> Outcome<PresignedPost> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_presign_post(&mut self.store, self.client, req).await;
        self.settle(r)
    }

    pub(crate) async fn get_cors(&mut self) -> Outcome<Vec<CorsRule>> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_get_cors(&mut self.store, self.client).await;
        self.settle(r)
    }

    /// Replaces the bucket's CORS rules; an empty list removes the configuration (S3 has no empty one).
    pub(crate) async fn set_cors(&mut self, rules: &[CorsRule]) -> Outcome<()> {
        if rules.is_empty() {
            return self.delete_cors().await;
        }
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_set_cors(&mut self.store, self.client, rules).await;
        self.settle(r)
    }

    pub(crate) async fn delete_cors(&mut self) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_cors(&mut self.store, self.client).await;
        self.settle(r)
    }

    pub(crate) async fn get_lifecycle(&mut self) -> Outcome<Vec<LifecycleRule>> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_get_lifecycle(&mut self.store, self.client).await;
        self.settle(r)
    }

    pub(crate) async fn set_lifecycle(&mut self, rules: &[LifecycleRule]) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_set_lifecycle(&mut self.store, self.client, rules).await;
        self.settle(r)
    }

    pub(crate) async fn delete_lifecycle(&mut self) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_lifecycle(&mut self.store, self.client).await;
        self.settle(r)
    }

    pub(crate) async fn get_versioning(&mut self) -> Outcome<Versioning> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_get_versioning(&mut self.store, self.client).await;
        self.settle(r)
    }

    pub(crate) async fn set_versioning(&mut self, enabled: bool) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_set_versioning(&mut self.store, self.client, enabled).await;
        self.settle(r)
    }

    /// One page of versions under `prefix`, after the (key, version id) markers `after`.
    pub(crate) async fn list_versions(
        &mut self,
        prefix: Option<&str>,
        after: Option<&(String, String)>,
    ) -> Outcome<VersionPage> {
        let c = self.bindings.spaces_storage_storage().client();
        let after = after.map(|(k, v)| (k.as_str(), v.as_str()));
        let r = c.call_list_versions(&mut self.store, self.client, prefix, after).await;
        self.settle(r)
    }

    pub(crate) async fn delete_version(&mut self, key: &str, version_id: &str) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_version(&mut self.store, self.client, key, version_id).await;
        self.settle(r)
    }

    /// Every bucket the credentials own at the endpoint.
    pub(crate) async fn list_buckets(&mut self) -> Outcome<Vec<BucketSummary>> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_list_buckets(&mut self.store, self.client).await;
        self.settle(r)
    }

    /// Creates the session's bucket.
    pub(crate) async fn create_bucket(&mut self) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_create_bucket(&mut self.store, self.client).await;
        self.settle(r)
    }

    /// Deletes the session's bucket, emptying it first when `empty`; how many objects that deleted.
    pub(crate) async fn delete_bucket(&mut self, empty: bool) -> Outcome<u64> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_delete_bucket(&mut self.store, self.client, empty).await;
        self.settle(r)
    }

    pub(crate) async fn get_access(&mut self, key: &str) -> Outcome<ObjectAccess> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_get_access(&mut self.store, self.client, key).await;
        self.settle(r)
    }

    pub(crate) async fn set_access(&mut self, key: &str, acl: Acl) -> Outcome<()> {
        let c = self.bindings.spaces_storage_storage().client();
        let r = c.call_set_access(&mut self.store, self.client, key, acl).await;
        self.settle(r)
    }
}
