//! The library build's exports: the WIT `storage`, `cdn` and `keys` interfaces, each call handed to the module
//! that knows how (`client`/`upload`, `cdn`, `keys`).

use crate::digitalocean::{cdn, keys};
use crate::exports;
use crate::exports::spaces::storage::cdn::{Endpoint as CdnEndpoint, EndpointSettings, PurgeReport};
use crate::exports::spaces::storage::keys::{AccessKey, Grant, KeyFilter, NewKey};
use crate::exports::spaces::storage::storage::{
    BucketSummary, CorsRule, Decryption, DeleteFailure, Encryption, EtagBody, GetOptions, Guest, GuestClient,
    GuestDownload, KeyPair, LifecycleRule, ListPage, ListRequest, ObjectAccess, ObjectSummary, ObjectVersion,
    PostRequest, PresignMethod, PresignRequest, Presigned, PresignedPost, PutOptions, PutResult, UploadSummary,
    VersionPage, Versioning,
};
use crate::s3::library_ops::PostSpec;
use crate::s3::upload::{Continuation, Resume};
use crate::s3::{client, encrypted, headers, xml};
use crate::spaces::storage::types::{Acl, ApiConfig, Config, Error, ObjectMeta};
use crate::wasi::io::streams::{InputStream, OutputStream};
use std::rc::Rc;

struct Component;

impl Guest for Component {
    type Client = ClientResource;
    type Download = client::Download;

    fn generate_identity() -> KeyPair {
        let (identity, recipient) = encrypted::generate_identity();
        KeyPair { identity, recipient }
    }

    fn encrypted_size(encrypt: Encryption, plain_size: u64) -> Result<u64, Error> {
        Ok(encrypted::encrypted_size(&lock(encrypt)?, plain_size))
    }
}

impl exports::spaces::storage::keys::Guest for Component {
    type KeysClient = keys::KeysClient;
}

impl exports::spaces::storage::keys::GuestKeysClient for keys::KeysClient {
    fn open(cfg: ApiConfig) -> Result<exports::spaces::storage::keys::KeysClient, Error> {
        Ok(exports::spaces::storage::keys::KeysClient::new(keys::KeysClient::new(&cfg)?))
    }
    fn list_keys(&self, filter: KeyFilter) -> Result<Vec<AccessKey>, Error> {
        self.list(&filter)
    }
    fn get_key(&self, access_key: String) -> Result<AccessKey, Error> {
        self.get(&access_key)
    }
    fn create_key(&self, name: String, grants: Vec<Grant>) -> Result<NewKey, Error> {
        self.create(&name, &grants)
    }
    fn rename_key(&self, access_key: String, name: String) -> Result<AccessKey, Error> {
        self.rename(&access_key, &name)
    }
    fn delete_key(&self, access_key: String) -> Result<(), Error> {
        self.delete(&access_key)
    }
}

impl exports::spaces::storage::cdn::Guest for Component {
    type CdnClient = cdn::CdnClient;
}

impl exports::spaces::storage::cdn::GuestCdnClient for cdn::CdnClient {
    fn open(cfg: ApiConfig) -> Result<exports::spaces::storage::cdn::CdnClient, Error> {
        Ok(exports::spaces::storage::cdn::CdnClient::new(cdn::CdnClient::new(&cfg)?))
    }
    fn list_endpoints(&self) -> Result<Vec<CdnEndpoint>, Error> {
        self.list()
    }
    fn get_endpoint(&self, id: String) -> Result<CdnEndpoint, Error> {
        self.get(&id)
    }
    fn create_endpoint(&self, origin: String, settings: EndpointSettings) -> Result<CdnEndpoint, Error> {
        self.create(&origin, &settings)
    }
    fn update_endpoint(&self, id: String, settings: EndpointSettings) -> Result<CdnEndpoint, Error> {
        self.update(&id, &settings)
    }
    fn delete_endpoint(&self, id: String) -> Result<(), Error> {
        self.delete(&id)
    }
    fn find_endpoint(&self, origin: String) -> Result<Option<CdnEndpoint>, Error> {
        self.find(&origin)
    }
    fn purge(&self, id: String, paths: Vec<String>) -> Result<PurgeReport, Error> {
        cdn::CdnClient::purge(self, &id, &paths)
    }
}

/// The exported `client` resource; downloads share its configuration and signer to resume broken bodies.
struct ClientResource(Rc<client::Client>);

impl GuestClient for ClientResource {
    fn open(cfg: Config) -> Result<exports::spaces::storage::storage::Client, Error> {
        let inner = client::Client::new(&cfg)?;
        Ok(exports::spaces::storage::storage::Client::new(ClientResource(Rc::new(inner))))
    }

    fn put_object(
        &self,
        key: String,
        body: InputStream,
        size: Option<u64>,
        opts: PutOptions,
    ) -> Result<PutResult, Error> {
        let lock = opts.encrypt.map(lock).transpose()?;
        // An encrypted object is stored as opaque bytes; its own type goes into the metadata.
        let sealed_metadata =
            lock.as_ref().map(|_| encrypted::sealed_metadata(opts.content_type.as_deref(), &opts.metadata));
        let h = headers::ObjectHeaders {
            content_type: match lock {
                Some(_) => Some(encrypted::SEALED_CONTENT_TYPE),
                None => opts.content_type.as_deref(),
            },
            cache_control: opts.cache_control.as_deref(),
            acl: opts.acl,
            metadata: sealed_metadata.as_deref().unwrap_or(&opts.metadata),
        };
        let how = Continuation {
            resume: opts.resume.as_ref().map(|r| Resume {
                upload_id: &r.upload_id,
                part_size: r.part_size,
                sealing: r.sealing.as_deref(),
            }),
            keep_partial: opts.keep_partial,
            seal: lock.as_ref(),
        };
        let (etag, size, parts) = self.0.put_object(&key, &body, size, &h, &how)?;
        Ok(PutResult { etag, size, parts })
    }

    fn get_object(&self, key: String, opts: GetOptions) -> Result<exports::spaces::storage::storage::Download, Error> {
        let conditions = client::Conditions {
            if_match: opts.if_match.as_deref(),
            if_none_match: opts.if_none_match.as_deref(),
            version_id: opts.version_id.as_deref(),
        };
        let range = opts.range.map(|r| (r.first, r.last));
        let download = match opts.decrypt {
            Some(Decryption::Identities(text)) => {
                self.0.get_opened(&key, range, conditions, &encrypted::unlock_with_identities(&text)?)?
            }
            Some(Decryption::Passphrase(p)) => {
                self.0.get_opened(&key, range, conditions, &encrypted::unlock_with(p))?
            }
            None => self.0.get_object(&key, range, conditions)?,
        };
        Ok(exports::spaces::storage::storage::Download::new(download))
    }

    fn head_object(&self, key: String) -> Result<ObjectMeta, Error> {
        self.0.head_object(&key)
    }

    fn exists(&self, key: String) -> Result<bool, Error> {
        self.0.object_exists(&key)
    }

    fn delete_object(&self, key: String) -> Result<(), Error> {
        self.0.delete_object(&key)
    }

    fn list_objects(&self, req: ListRequest) -> Result<ListPage, Error> {
        let listing = self.0.list_objects(
            req.prefix.as_deref(),
            req.delimiter.as_deref(),
            req.continuation.as_deref(),
            req.max_keys,
        )?;
        Ok(ListPage {
            objects: listing
                .objects
                .into_iter()
                .map(|o| ObjectSummary {
                    key: o.key,
                    size: o.size,
                    etag: o.etag,
                    last_modified: o.last_modified,
                    storage_class: o.storage_class,
                })
                .collect(),
            common_prefixes: listing.common_prefixes,
            next_continuation: listing.next_continuation,
        })
    }

    fn copy_object(&self, src_key: String, dst_key: String) -> Result<String, Error> {
        self.0.copy_object(&self.0.addressing.bucket, &src_key, &dst_key)
    }

    fn copy_from(&self, src_bucket: String, src_key: String, dst_key: String) -> Result<String, Error> {
        self.0.copy_object(&src_bucket, &src_key, &dst_key)
    }

    fn list_uploads(&self, prefix: Option<String>) -> Result<Vec<UploadSummary>, Error> {
        let uploads = self.0.list_uploads(prefix.as_deref())?;
        Ok(uploads
            .into_iter()
            .map(|u| UploadSummary { key: u.key, upload_id: u.upload_id, initiated: u.initiated })
            .collect())
    }

    fn abort_upload(&self, key: String, upload_id: String) -> Result<(), Error> {
        self.0.abort_upload(&key, &upload_id)
    }

    fn content_etags(&self, bodies: Vec<EtagBody>) -> Vec<Result<String, Error>> {
        crate::s3::library_ops::content_etags(bodies.into_iter().map(|b| (b.body, b.part_size)).collect())
    }

    fn delete_objects(&self, keys: Vec<String>) -> Result<Vec<DeleteFailure>, Error> {
        let failures = self.0.delete_objects(&keys)?;
        Ok(failures.into_iter().map(|f| DeleteFailure { key: f.key, code: f.code, message: f.message }).collect())
    }

    fn public_url(&self, key: String) -> Result<String, Error> {
        self.0.public_url(&key)
    }

    fn cdn_url(&self, key: String) -> Result<String, Error> {
        self.0.cdn_url(&key)
    }

    fn presign(&self, req: PresignRequest) -> Result<Presigned, Error> {
        self.presign_with(&client::Client::credentials()?, &req)
    }

    fn presign_many(&self, reqs: Vec<PresignRequest>) -> Vec<Result<Presigned, Error>> {
        match client::Client::credentials() {
            Ok(creds) => reqs.iter().map(|r| self.presign_with(&creds, r)).collect(),
            Err(e) => reqs.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    fn health(&self) -> Result<u64, Error> {
        self.0.health()
    }

    fn verify_credentials(&self, creds: crate::host::credentials::Credentials) -> Result<u64, Error> {
        self.0.verify_credentials(creds)
    }

    fn presign_post(&self, req: PostRequest) -> Result<PresignedPost, Error> {
        let spec = PostSpec {
            key: &req.key,
            key_is_prefix: req.key_is_prefix,
            max_size: req.max_size,
            content_type: req.content_type.as_deref(),
            expires: req.expires_seconds,
        };
        let form = self.0.presign_post(&client::Client::credentials()?, &spec)?;
        Ok(PresignedPost { url: form.url, fields: form.fields, expires_at: form.expires_at })
    }

    fn get_cors(&self) -> Result<Vec<CorsRule>, Error> {
        Ok(self
            .0
            .get_cors()?
            .into_iter()
            .map(|r| CorsRule {
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers,
                expose_headers: r.expose_headers,
                max_age_seconds: r.max_age_seconds,
            })
            .collect())
    }

    fn set_cors(&self, rules: Vec<CorsRule>) -> Result<(), Error> {
        let rules: Vec<xml::CorsRule> = rules
            .into_iter()
            .map(|r| xml::CorsRule {
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers,
                expose_headers: r.expose_headers,
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        self.0.set_cors(&rules)
    }

    fn delete_cors(&self) -> Result<(), Error> {
        self.0.delete_cors()
    }

    fn get_versioning(&self) -> Result<Versioning, Error> {
        Ok(match self.0.get_versioning()?.as_deref() {
            Some("Enabled") => Versioning::Enabled,
            Some("Suspended") => Versioning::Suspended,
            _ => Versioning::Unversioned,
        })
    }

    fn set_versioning(&self, enabled: bool) -> Result<(), Error> {
        self.0.set_versioning(enabled)
    }

    fn list_versions(&self, prefix: Option<String>, after: Option<(String, String)>) -> Result<VersionPage, Error> {
        let page = self.0.list_versions(prefix.as_deref(), after.as_ref().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let versions = page
            .versions
            .into_iter()
            .map(|v| ObjectVersion {
                key: v.key,
                version_id: v.version_id,
                is_latest: v.is_latest,
                delete_marker: v.delete_marker,
                size: v.size,
                etag: v.etag,
                last_modified: v.last_modified,
            })
            .collect();
        Ok(VersionPage { versions, next: page.next })
    }

    fn delete_version(&self, key: String, version_id: String) -> Result<(), Error> {
        self.0.delete_version(&key, &version_id)
    }

    fn get_lifecycle(&self) -> Result<Vec<LifecycleRule>, Error> {
        Ok(self
            .0
            .get_lifecycle()?
            .into_iter()
            .map(|r| LifecycleRule {
                id: r.id,
                prefix: r.prefix,
                enabled: r.enabled,
                expire_days: r.expire_days,
                abort_incomplete_days: r.abort_incomplete_days,
            })
            .collect())
    }

    fn set_lifecycle(&self, rules: Vec<LifecycleRule>) -> Result<(), Error> {
        let rules: Vec<xml::LifecycleRule> = rules
            .into_iter()
            .map(|r| xml::LifecycleRule {
                id: r.id,
                prefix: r.prefix,
                enabled: r.enabled,
                expire_days: r.expire_days,
                abort_incomplete_days: r.abort_incomplete_days,
            })
            .collect();
        self.0.set_lifecycle(&rules)
    }

    fn delete_lifecycle(&self) -> Result<(), Error> {
        self.0.delete_lifecycle()
    }

    fn list_buckets(&self) -> Result<Vec<BucketSummary>, Error> {
        let buckets = self.0.list_buckets()?;
        Ok(buckets.into_iter().map(|b| BucketSummary { name: b.name, created: b.creation_date }).collect())
    }

    fn create_bucket(&self) -> Result<(), Error> {
        self.0.create_bucket()
    }

    fn delete_bucket(&self, empty: bool) -> Result<u64, Error> {
        let deleted = if empty { self.0.empty_bucket(true)? } else { 0 };
        self.0.delete_bucket()?;
        Ok(deleted)
    }

    fn get_access(&self, key: String) -> Result<ObjectAccess, Error> {
        let access = self.0.get_access(&key)?;
        let acl = if access.public() { Acl::PublicRead } else { Acl::Private };
        let grants = access.grants.into_iter().map(|(who, what)| format!("{who} {what}")).collect();
        Ok(ObjectAccess { owner: access.owner, acl, grants })
    }

    fn set_access(&self, key: String, acl: Acl) -> Result<(), Error> {
        self.0.set_access(&key, acl)
    }
}

impl ClientResource {
    fn presign_with(
        &self,
        creds: &crate::host::credentials::Credentials,
        req: &PresignRequest,
    ) -> Result<Presigned, Error> {
        let method = match req.method {
            PresignMethod::Get => "GET",
            PresignMethod::Put => "PUT",
            PresignMethod::Delete => "DELETE",
        };
        let (url, expires_at) = self.0.presign(creds, &req.key, method, req.expires_seconds, &req.signed_headers)?;
        Ok(Presigned { url, expires_at })
    }
}

impl GuestDownload for client::Download {
    fn meta(&self) -> ObjectMeta {
        self.meta.clone()
    }

    fn write_to(&self, sink: &OutputStream) -> Result<u64, Error> {
        client::Download::write_to(self, sink)
    }
}

/// The encryption `put-options.encrypt` asks for, checked.
fn lock(encrypt: Encryption) -> Result<crate::age::Lock, Error> {
    match encrypt {
        Encryption::Recipients(to) => encrypted::lock_to(&to),
        Encryption::Passphrase(p) => encrypted::lock_with(p),
    }
}

// Native builds (unit tests of the pure modules) link no component exports.
#[cfg(target_arch = "wasm32")]
crate::bindings::export!(Component with_types_in crate::bindings);
