//! The JSON the API reads and writes, and its limits: listing queries, presign and batch-delete requests, and
//! the answers for stored objects, listings, URLs and batch deletes. One shape for the service and the edge.

use serde::{Deserialize, Serialize};

/// JSON request bodies (batch delete, presign) above this are refused; object bodies stream and have their own
/// limit.
pub const MAX_JSON_BODY: usize = 4 << 20;
/// Keys one batch delete may name.
pub const MAX_BATCH: usize = 10_000;
/// Seconds a presigned URL lives when the caller does not say.
pub const DEFAULT_EXPIRES: u32 = 3600;

/// `GET /v1/objects` parameters.
#[derive(Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "host", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "host", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Only keys that start with this.
    pub prefix: Option<String>,
    /// Group keys by this delimiter (e.g. `/`) into `prefixes`.
    pub delimiter: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Keys per page, 1-1000 [default: 1000].
    pub limit: Option<u32>,
}

impl ListQuery {
    /// From the query's decoded pairs; unknown parameters are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, String> {
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let limit = match get("limit") {
            None => None,
            Some(l) => match l.parse::<u32>() {
                Ok(n @ 1..=1000) => Some(n),
                _ => return Err("limit must be 1-1000".into()),
            },
        };
        Ok(ListQuery { prefix: get("prefix"), delimiter: get("delimiter"), cursor: get("cursor"), limit })
    }
}

/// `GET /v1/url/{key}?cdn=true`: the CDN URL instead of the origin's.
pub fn cdn_param(pairs: &[(String, String)]) -> Result<bool, String> {
    match pairs.iter().find(|(k, _)| k == "cdn").map(|(_, v)| v.as_str()) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!("cdn must be true or false, not {other:?}")),
    }
}

/// What a presigned URL allows, as the CLI, the service and the MCP tools name it (any case in JSON).
#[derive(Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema, clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Download the object.
    #[default]
    #[serde(alias = "GET")]
    Get,
    /// Upload the object.
    #[serde(alias = "PUT")]
    Put,
    /// Delete the object.
    #[serde(alias = "DELETE")]
    Delete,
}

/// `POST /v1/presign`.
#[derive(Deserialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct PresignBody {
    /// The object key.
    pub key: String,
    /// `get` (default), `put` or `delete`.
    #[serde(default)]
    pub method: Method,
    /// Lifetime in seconds, 1-604800 [default: 3600].
    pub expires: Option<u32>,
    /// For a PUT: the Content-Type the upload must be sent with (signed into the URL).
    pub content_type: Option<String>,
}

/// `POST /v1/objects/delete`.
#[derive(Deserialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct DeleteMany {
    /// Keys to delete (at most 10,000 per request).
    pub keys: Vec<String>,
}

impl DeleteMany {
    /// Refuses too many keys, or any key the key rules refuse.
    pub fn check(&self) -> Result<(), String> {
        if self.keys.len() > MAX_BATCH {
            return Err(format!("{} keys; at most {MAX_BATCH} per request", self.keys.len()));
        }
        self.keys.iter().try_for_each(|k| object_keys::check(k))
    }
}

/// Parses a JSON request body, saying what is wrong in words a caller can act on.
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("the request body is not the expected JSON: {e}"))
}

/// A key that was not deleted, and why.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct NotDeleted {
    /// The key.
    pub key: String,
    /// The store's error code.
    pub code: String,
    /// The store's message.
    pub message: String,
}

/// The answer of a batch delete.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct DeletedMany {
    /// Keys deleted (missing keys count as deleted).
    pub deleted: usize,
    /// What was not deleted.
    pub failed: Vec<NotDeleted>,
}

/// An object just stored.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Stored {
    /// The key.
    pub key: String,
    /// ETag as the service returned it, without quotes.
    pub etag: String,
    /// Bytes stored.
    pub size: u64,
    /// Parts of the multipart upload, 0 for a single PUT.
    pub parts: u32,
}

/// One object in a listing.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Listed {
    /// The key.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// ETag without quotes.
    pub etag: String,
    /// When it was last written, as the store said.
    pub last_modified: String,
    /// The store's storage class, when it says.
    pub storage_class: Option<String>,
}

/// A multipart upload that was started and neither completed nor aborted; its parts cost storage.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Pending {
    /// The key the upload is for.
    pub key: String,
    /// The upload's id (to abort it).
    pub upload_id: String,
    /// When it was started (ISO 8601).
    pub initiated: String,
}

/// Incomplete multipart uploads, in key order.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct PendingUploads {
    /// The uploads.
    pub uploads: Vec<Pending>,
}

/// One page of a listing.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Page {
    /// Objects in key order.
    pub objects: Vec<Listed>,
    /// Common prefixes when a delimiter was given.
    pub prefixes: Vec<String>,
    /// Present when more entries follow: pass it as `cursor`.
    pub next_cursor: Option<String>,
}

/// A presigned URL.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Presigned {
    /// The URL.
    pub url: String,
    /// Seconds since the Unix epoch at which the URL stops working.
    pub expires_at: u64,
}

/// An object's unsigned URL.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Url {
    /// The URL.
    pub url: String,
}

/// `/healthz`.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct Alive {
    /// Always `alive`.
    pub status: &'static str,
}

/// The answer of `/healthz`: the process runs; no upstream call is made.
pub const ALIVE: Alive = Alive { status: "alive" };

/// `/readyz`.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct Ready {
    /// The upstream answered the last probe and no circuit is open.
    pub ready: bool,
    /// Latency of the last upstream probe in milliseconds, when it succeeded.
    pub upstream_latency_ms: Option<f64>,
    /// Why the last probe failed.
    pub upstream_error: Option<String>,
    /// Age of the last probe result in milliseconds.
    pub checked_ms_ago: Option<u64>,
    /// The host's circuit breakers (none where the runtime does not say).
    pub circuits: Vec<Circuit>,
}

/// One circuit breaker's state.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct Circuit {
    /// `host:port` of the upstream.
    pub authority: String,
    /// `closed`, `half-open` or `open`.
    pub state: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries() {
        let pairs = |q: &str| crate::routes::query_params(q).unwrap();
        let q = ListQuery::from_pairs(&pairs("prefix=a&limit=10&other=1")).unwrap();
        assert_eq!((q.prefix.as_deref(), q.limit), (Some("a"), Some(10)));
        for bad in ["limit=0", "limit=1001", "limit=x"] {
            assert!(ListQuery::from_pairs(&pairs(bad)).is_err(), "{bad}");
        }
        assert_eq!(cdn_param(&pairs("cdn=true")), Ok(true));
        assert_eq!(cdn_param(&pairs("")), Ok(false));
        assert!(cdn_param(&pairs("cdn=yes")).is_err());
    }

    #[test]
    fn presign_methods_in_either_case() {
        for (text, method) in [("get", Method::Get), ("PUT", Method::Put), ("delete", Method::Delete)] {
            let body: PresignBody = parse(format!(r#"{{"key":"k","method":"{text}"}}"#).as_bytes()).unwrap();
            assert_eq!(body.method, method);
        }
        assert_eq!(parse::<PresignBody>(br#"{"key":"k"}"#).unwrap().method, Method::Get);
        assert!(parse::<PresignBody>(br#"{"key":"k","method":"post"}"#).is_err());
    }

    #[test]
    fn batch_deletes_are_checked() {
        assert!(DeleteMany { keys: vec!["a".into(), "b/c".into()] }.check().is_ok());
        assert!(DeleteMany { keys: vec!["a/../b".into()] }.check().is_err());
        assert!(DeleteMany { keys: vec!["k".into(); MAX_BATCH + 1] }.check().is_err());
    }
}
