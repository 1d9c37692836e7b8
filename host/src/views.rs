//! The component's answers as the JSON every face shows (the CLI's `--json`, the service's `/v1` routes, the
//! MCP tools), and the requests every face builds the same way. The API's shapes are defined once in
//! `http_api::bodies`; here they are filled from the component's types. `ObjectView` (a HEAD) is shown only by
//! the CLI and MCP, so it lives here; it describes itself to schemars for MCP output schemas.

use crate::runtime::bindings::storage::{
    self, BucketSummary, ByteRange, GetOptions, ListPage, ObjectAccess, ObjectSummary, PostRequest, PresignRequest,
    PutOptions, PutResult, UploadSummary,
};
use crate::runtime::bindings::types::{Acl, ObjectMeta};
use http_api::bodies::{Listed, Method, Page, Pending, Presigned, Stored, DEFAULT_EXPIRES};
use http_api::bucket::{Access, BucketEntry, CorsRule, PresignPostBody, PresignedPost, Readers};
use http_api::headers::PutHeaders;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// An object just stored under `key`.
pub(crate) fn stored(key: String, r: PutResult) -> Stored {
    Stored { key, etag: r.etag, size: r.size, parts: r.parts }
}

/// An object's metadata (a HEAD).
#[derive(Serialize, JsonSchema)]
pub(crate) struct ObjectView {
    key: String,
    size: u64,
    /// ETag without quotes.
    etag: String,
    last_modified: Option<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    /// User metadata (x-amz-meta-*), names in lower case.
    metadata: BTreeMap<String, String>,
}

impl From<ObjectMeta> for ObjectView {
    fn from(m: ObjectMeta) -> Self {
        ObjectView {
            key: m.key,
            size: m.size,
            etag: m.etag,
            last_modified: m.last_modified,
            content_type: m.content_type,
            cache_control: m.cache_control,
            metadata: m.metadata.into_iter().collect(),
        }
    }
}

impl From<ObjectSummary> for Listed {
    fn from(o: ObjectSummary) -> Self {
        Listed {
            key: o.key,
            size: o.size,
            etag: o.etag,
            last_modified: o.last_modified,
            storage_class: o.storage_class,
        }
    }
}

impl From<UploadSummary> for Pending {
    fn from(u: UploadSummary) -> Self {
        Pending { key: u.key, upload_id: u.upload_id, initiated: u.initiated }
    }
}

impl From<ListPage> for Page {
    fn from(p: ListPage) -> Self {
        Page {
            objects: p.objects.into_iter().map(Listed::from).collect(),
            prefixes: p.common_prefixes,
            next_cursor: p.next_continuation,
        }
    }
}

impl From<crate::runtime::bindings::storage::Presigned> for Presigned {
    fn from(p: crate::runtime::bindings::storage::Presigned) -> Self {
        Presigned { url: p.url, expires_at: p.expires_at }
    }
}

impl From<BucketSummary> for BucketEntry {
    fn from(b: BucketSummary) -> Self {
        BucketEntry { name: b.name, created: b.created }
    }
}

/// The canned ACL that gives `readers` read access.
pub(crate) fn acl(readers: Readers) -> Acl {
    match readers {
        Readers::Public => Acl::PublicRead,
        Readers::Private => Acl::Private,
    }
}

/// `key`'s ACL as every face shows it.
pub(crate) fn access(key: String, a: ObjectAccess) -> Access {
    let acl = match a.acl {
        Acl::PublicRead => Readers::Public,
        Acl::Private => Readers::Private,
    };
    Access { key, owner: a.owner, acl, grants: a.grants }
}

impl From<CorsRule> for storage::CorsRule {
    fn from(r: CorsRule) -> Self {
        storage::CorsRule {
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            allowed_headers: r.allowed_headers,
            expose_headers: r.expose_headers,
            max_age_seconds: r.max_age_seconds,
        }
    }
}

impl From<storage::CorsRule> for CorsRule {
    fn from(r: storage::CorsRule) -> Self {
        CorsRule {
            allowed_origins: r.allowed_origins,
            allowed_methods: r.allowed_methods,
            allowed_headers: r.allowed_headers,
            expose_headers: r.expose_headers,
            max_age_seconds: r.max_age_seconds,
            id: None,
        }
    }
}

/// A browser upload form's request as every face builds it: a key ending in `/` is a prefix the file's name is
/// appended to; [`DEFAULT_EXPIRES`] unless a lifetime is given.
pub(crate) fn post_request(b: PresignPostBody) -> PostRequest {
    PostRequest {
        key_is_prefix: b.key.ends_with('/'),
        key: b.key,
        max_size: b.max_size,
        content_type: b.content_type,
        expires_seconds: b.expires.unwrap_or(DEFAULT_EXPIRES),
    }
}

impl From<storage::PresignedPost> for PresignedPost {
    fn from(p: storage::PresignedPost) -> Self {
        PresignedPost { url: p.url, fields: p.fields.into_iter().collect(), expires_at: p.expires_at }
    }
}

/// A presign request as every face builds it: [`DEFAULT_EXPIRES`] unless a lifetime is given, and a content
/// type, when given, signed into the URL (a PUT through it must send exactly that type).
pub(crate) fn presign_request(
    key: String,
    method: Method,
    expires: Option<u32>,
    content_type: Option<String>,
) -> PresignRequest {
    use crate::runtime::bindings::storage::PresignMethod;
    PresignRequest {
        key,
        method: match method {
            Method::Get => PresignMethod::Get,
            Method::Put => PresignMethod::Put,
            Method::Delete => PresignMethod::Delete,
        },
        expires_seconds: expires.unwrap_or(DEFAULT_EXPIRES),
        signed_headers: content_type.map(|c| ("content-type".to_string(), c)).into_iter().collect(),
    }
}

/// The upload options for `key`: the content type given, else guessed from the key; a fresh upload, aborted
/// if it fails.
pub(crate) fn put_options(h: &PutHeaders, key: &str) -> PutOptions {
    PutOptions {
        content_type: h.content_type.clone().or_else(|| http_api::content_type::guess(key).map(String::from)),
        cache_control: h.cache_control.clone(),
        acl: if h.public { Acl::PublicRead } else { Acl::Private },
        metadata: h.metadata.clone(),
        resume: None,
        keep_partial: false,
        encrypt: None,
    }
}

/// A GET of the whole object (or of `range`), without conditions.
pub(crate) fn plain_get(range: Option<ByteRange>) -> GetOptions {
    GetOptions { range, if_match: None, if_none_match: None, version_id: None, decrypt: None }
}
