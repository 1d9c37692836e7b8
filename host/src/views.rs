//! Objects as JSON, one view per kind of answer (and the presign method, one name for it everywhere), shared by the CLI's JSON output, the service's `/v1` routes and
//! the MCP tools. Each describes itself twice: to utoipa for the OpenAPI document and to schemars for MCP
//! output schemas, so what the service documents and what an assistant is promised stay the same shape.

use crate::bindings::storage::{ListPage, ObjectSummary, PresignMethod, PresignRequest, PutResult};
use crate::bindings::types::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An object just stored.
#[derive(Serialize, ToSchema, JsonSchema)]
pub struct Stored {
    pub key: String,
    /// ETag as the service returned it, without quotes.
    pub etag: String,
    pub size: u64,
    /// Parts of the multipart upload, 0 for a single PUT.
    pub parts: u32,
}

impl Stored {
    pub fn new(key: String, r: PutResult) -> Self {
        Stored { key, etag: r.etag, size: r.size, parts: r.parts }
    }
}

/// An object's metadata (a HEAD).
#[derive(Serialize, JsonSchema)]
pub struct ObjectView {
    pub key: String,
    pub size: u64,
    /// ETag without quotes.
    pub etag: String,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// User metadata (x-amz-meta-*), names in lower case.
    pub metadata: BTreeMap<String, String>,
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

/// One object in a listing.
#[derive(Serialize, ToSchema, JsonSchema)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: String,
    pub storage_class: Option<String>,
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

/// One page of a listing.
#[derive(Serialize, ToSchema, JsonSchema)]
pub struct Page {
    pub objects: Vec<Listed>,
    /// Common prefixes when a delimiter was given.
    pub prefixes: Vec<String>,
    /// Present when more entries follow: pass it as `cursor`.
    pub next_cursor: Option<String>,
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

/// What a presigned URL allows, as the CLI, the service and the MCP tools name it.
#[derive(Deserialize, ToSchema, JsonSchema, clap::ValueEnum, Clone, Copy, Default, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Get,
    Put,
    Delete,
}

impl From<Method> for PresignMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => PresignMethod::Get,
            Method::Put => PresignMethod::Put,
            Method::Delete => PresignMethod::Delete,
        }
    }
}

/// Seconds a presigned URL lives when the caller does not say.
pub const DEFAULT_EXPIRES: u32 = 3600;

/// A presign request as every front end builds it: [`DEFAULT_EXPIRES`] unless a lifetime is given, and a content
/// type, when given, signed into the URL (a PUT through it must send exactly that type).
pub fn presign_request(
    key: String,
    method: Method,
    expires: Option<u32>,
    content_type: Option<String>,
) -> PresignRequest {
    PresignRequest {
        key,
        method: method.into(),
        expires_seconds: expires.unwrap_or(DEFAULT_EXPIRES),
        signed_headers: content_type.map(|c| ("content-type".to_string(), c)).into_iter().collect(),
    }
}

/// A presigned URL.
#[derive(Serialize, ToSchema, JsonSchema)]
pub struct Presigned {
    pub url: String,
    /// Seconds since the Unix epoch at which the URL stops working.
    pub expires_at: u64,
}

impl From<crate::bindings::storage::Presigned> for Presigned {
    fn from(p: crate::bindings::storage::Presigned) -> Self {
        Presigned { url: p.url, expires_at: p.expires_at }
    }
}

/// An object's unsigned URL.
#[derive(Serialize, ToSchema, JsonSchema)]
pub struct Url {
    pub url: String,
}
