//! The MCP tool set: each tool's arguments (deserialised strictly, described by a JSON schema from the same
//! type), its output schema, and its hints (read-only, destructive, idempotent). Parsing and checking a call's
//! arguments happens here, before any instance is touched, so a bad call is a tool error with a reason. Pure.

use crate::digitalocean::cdn::EndpointView;
use crate::digitalocean::keys::{GrantView, KeyView, NewKeyView, Perm};
use crate::views::ObjectView;
use base64::Engine;
use http_api::bodies::{Method, Page, PendingUploads, Presigned, Stored, Url};
use http_api::bucket::{Access, Buckets, CorsRule, CorsRules, PresignedPost, Readers};
use rmcp::handler::server::tool::{schema_for_input, schema_for_output};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest a presigned URL may live: SigV4's limit of 7 days.
const MAX_EXPIRES: u32 = 604_800;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListObjects {
    /// Bucket (Space) to list [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Only keys that start with this
    pub prefix: Option<String>,
    /// Group keys by this delimiter (usually "/") into `prefixes`, like directories
    pub delimiter: Option<String>,
    /// `next_cursor` of the previous page
    pub cursor: Option<String>,
    /// Entries per page, 1-1000 [default: 100]
    pub limit: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectRef {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key, e.g. "reports/2026/summary.txt"
    pub key: String,
}

/// How `get_object` hands over the content.
#[derive(Deserialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum Format {
    /// Text as text, PNG/JPEG/GIF/WebP as an image, anything else as a base64 blob
    #[default]
    Auto,
    /// The content as text; an error if it is not UTF-8
    Text,
    /// The content as a base64 blob, whatever it is
    Base64,
    /// No content: a link to the `spaces://BUCKET/KEY` resource, with its type and size
    Link,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GetObject {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key
    pub key: String,
    /// auto (default), text, base64 or link
    #[serde(default)]
    pub format: Format,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PutObject {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key
    pub key: String,
    /// The content as text (stored as UTF-8); give this or `base64`
    pub text: Option<String>,
    /// The content as standard base64; give this or `text`
    pub base64: Option<String>,
    /// Content type [default: guessed from the key's extension]
    pub content_type: Option<String>,
    /// Cache-Control header to store with the object
    pub cache_control: Option<String>,
    /// Make the object publicly readable (ACL public-read) [default: false]
    #[serde(default)]
    pub public: bool,
    /// User metadata, stored as x-amz-meta-NAME headers
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Replace the object if the key already exists [default: false: refuse]
    #[serde(default)]
    pub overwrite: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PresignUrl {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key
    pub key: String,
    /// What the URL allows: get (default), put or delete
    #[serde(default)]
    pub method: Method,
    /// Lifetime in seconds, 1-604800 (7 days) [default: 3600]
    pub expires_seconds: Option<u32>,
    /// For put: the Content-Type the upload must be sent with (signed into the URL)
    pub content_type: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ObjectUrl {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key
    pub key: String,
    /// The URL on the bucket's CDN instead of the origin [default: false]
    #[serde(default)]
    pub cdn: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArguments {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CdnPurge {
    /// CDN endpoint id (a UUID) [default: the endpoint whose origin is `bucket`]
    pub endpoint_id: Option<String>,
    /// Bucket whose endpoint to purge when no `endpoint_id` is given [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Paths to purge: keys, "dir/*" wildcards, or "*" for everything
    pub paths: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysList {
    /// Only keys with this name
    pub name: Option<String>,
    /// Only keys with a grant on this bucket
    pub bucket: Option<String>,
    /// Only keys with this permission
    pub permission: Option<Perm>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysCreate {
    /// Name of the new key
    pub name: String,
    /// What the key may do: {bucket, permission} with read or readwrite, or one {bucket: "", permission:
    /// "fullaccess"} for every bucket
    pub grants: Vec<GrantView>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ListUploads {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Only uploads whose key starts with this
    pub prefix: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AbortUpload {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// The key the upload is for
    pub key: String,
    /// The upload's id, as list_uploads gives it
    pub upload_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BucketRef {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetAcl {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// Object key
    pub key: String,
    /// public (anyone may read it at its URL) or private (only the owner, and presigned URLs)
    pub acl: Readers,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SetCors {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// The rules, replacing any the bucket has, in AWS's shape: {"AllowedOrigins": [...], "AllowedMethods":
    /// [...], "AllowedHeaders": [...], "ExposeHeaders": [...], "MaxAgeSeconds": N}; an empty list removes them
    pub rules: Vec<CorsRule>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PresignPost {
    /// Bucket (Space) [default: the server's --bucket]
    pub bucket: Option<String>,
    /// The key the upload is stored under, or a prefix ending in "/" that the file's own name is appended to
    pub key: String,
    /// Largest file accepted, in bytes [default: 5 GiB]
    pub max_size: Option<u64>,
    /// The Content-Type the upload must carry [default: any]
    pub content_type: Option<String>,
    /// Lifetime in seconds, 1-604800 (7 days) [default: 3600]
    pub expires_seconds: Option<u32>,
}

/// `set_acl`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct AclSet {
    pub bucket: String,
    pub key: String,
    pub acl: Readers,
}

/// `set_cors`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct CorsSet {
    pub bucket: String,
    /// Rules the bucket has now
    pub rules: usize,
}

/// `abort_upload`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct Aborted {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KeysDelete {
    /// The access key id to delete
    pub access_key: String,
}

/// `delete_object`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct Deleted {
    pub bucket: String,
    pub key: String,
}

/// `cdn_list`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct Endpoints {
    pub endpoints: Vec<EndpointView>,
}

/// `cdn_purge`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct Purged {
    /// The endpoint purged
    pub id: String,
    /// Paths purged
    pub files: u32,
    /// Purge requests sent (50 paths each)
    pub requests: u32,
}

/// `keys_list`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct Keys {
    pub keys: Vec<KeyView>,
}

/// `keys_delete`'s answer.
#[derive(Serialize, JsonSchema)]
pub(super) struct KeyDeleted {
    pub access_key: String,
}

/// A tool call with its arguments parsed and checked.
pub(super) enum Call {
    ListObjects(ListObjects),
    HeadObject(ObjectRef),
    GetObject(GetObject),
    /// The arguments, and the content decoded from text or base64.
    PutObject(PutObject, Vec<u8>),
    DeleteObject(ObjectRef),
    PresignUrl(PresignUrl),
    ObjectUrl(ObjectUrl),
    ListUploads(ListUploads),
    AbortUpload(AbortUpload),
    Bucket(BucketCall),
    CdnList,
    CdnPurge(CdnPurge),
    KeysList(KeysList),
    KeysCreate(KeysCreate),
    KeysDelete(KeysDelete),
}

/// A call about the bucket itself rather than one object's bytes.
pub(super) enum BucketCall {
    List,
    GetAcl(ObjectRef),
    SetAcl(SetAcl),
    GetCors(BucketRef),
    SetCors(SetCors),
    PresignPost(PresignPost),
}

/// What a tool does to the world, for the client's hints and for `--read-only`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    ReadOnly,
    /// Adds or changes things without losing any.
    Additive,
    /// May delete or overwrite.
    Destructive,
}

struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    effect: Effect,
    idempotent: bool,
    /// Talks to DigitalOcean's API rather than only to the bucket.
    api: bool,
    input: fn() -> Schema,
    /// `None` for a tool that answers with content blocks rather than a JSON document.
    output: Option<fn() -> Arc<JsonObject>>,
}

type Schema = Result<Arc<JsonObject>, String>;

const SPECS: &[Spec] = &[
    Spec {
        name: "list_objects",
        title: "List objects",
        description: "List objects in a bucket, one page at a time, in key order. With a delimiter (\"/\") keys are \
                      grouped into `prefixes` like directories. Pass `next_cursor` back as `cursor` for the next page.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<ListObjects>,
        output: Some(schema_for_output::<Page>),
    },
    Spec {
        name: "head_object",
        title: "Object metadata",
        description: "An object's size, ETag, content type, Cache-Control, last-modified time and user metadata, \
                      without its content.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<ObjectRef>,
        output: Some(schema_for_output::<ObjectView>),
    },
    Spec {
        name: "get_object",
        title: "Read an object",
        description: "An object's content: text as text, images as images, other bytes as a base64 blob, or with \
                      format \"link\" a resource link only. Objects larger than the server's content limit are \
                      refused with a presigned URL to download them instead.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<GetObject>,
        output: None,
    },
    Spec {
        name: "put_object",
        title: "Write an object",
        description: "Store content given as text or base64 under a key. Refuses to replace an existing object \
                      unless `overwrite` is true. Content larger than the server's content limit is refused.",
        effect: Effect::Destructive,
        idempotent: true,
        api: false,
        input: schema_for_input::<PutObject>,
        output: Some(schema_for_output::<Stored>),
    },
    Spec {
        name: "delete_object",
        title: "Delete an object",
        description: "Delete an object. Deleting a key that does not exist succeeds.",
        effect: Effect::Destructive,
        idempotent: true,
        api: false,
        input: schema_for_input::<ObjectRef>,
        output: Some(schema_for_output::<Deleted>),
    },
    Spec {
        name: "presign_url",
        title: "Presigned URL",
        description: "A URL that lets anyone holding it GET (or PUT, or DELETE) one object without credentials \
                      until it expires. Signing happens locally; nothing is sent.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<PresignUrl>,
        output: Some(schema_for_output::<Presigned>),
    },
    Spec {
        name: "object_url",
        title: "Object URL",
        description: "An object's unsigned URL at the bucket's endpoint, or with cdn=true on its CDN (the custom \
                      domain when the CDN endpoint has one). Works for public objects.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<ObjectUrl>,
        output: Some(schema_for_output::<Url>),
    },
    Spec {
        name: "list_uploads",
        title: "List incomplete uploads",
        description: "Multipart uploads that were started and neither completed nor aborted (an interrupted upload \
                      leaves one). Their parts cost storage until aborted.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<ListUploads>,
        output: Some(schema_for_output::<PendingUploads>),
    },
    Spec {
        name: "abort_upload",
        title: "Abort an incomplete upload",
        description: "Abort an incomplete multipart upload and free its parts; one already gone counts as aborted.",
        effect: Effect::Destructive,
        idempotent: true,
        api: false,
        input: schema_for_input::<AbortUpload>,
        output: Some(schema_for_output::<Aborted>),
    },
    Spec {
        name: "list_buckets",
        title: "List buckets",
        description: "Every bucket (Space) these credentials own at the endpoint, with its creation time.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<NoArguments>,
        output: Some(schema_for_output::<Buckets>),
    },
    Spec {
        name: "get_acl",
        title: "Who may read an object",
        description: "An object's ACL: public (anyone may read it at its URL) or private, its owner and grants.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<ObjectRef>,
        output: Some(schema_for_output::<Access>),
    },
    Spec {
        name: "set_acl",
        title: "Make an object public or private",
        description: "Set an object's canned ACL: public lets anyone on the internet read it at its URL, private \
                      only the owner (and presigned URLs). Ask the user before making anything public.",
        effect: Effect::Destructive,
        idempotent: true,
        api: false,
        input: schema_for_input::<SetAcl>,
        output: Some(schema_for_output::<AclSet>),
    },
    Spec {
        name: "get_cors",
        title: "CORS rules",
        description: "The bucket's CORS rules (which web origins may call it from a browser), in AWS's shape; none \
                      is an empty list.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<BucketRef>,
        output: Some(schema_for_output::<CorsRules>),
    },
    Spec {
        name: "set_cors",
        title: "Replace CORS rules",
        description: "Replace the bucket's CORS rules (checked before sending); an empty list removes them. A web \
                      page that uploads straight to the bucket (presign_post, or a presigned PUT) needs a rule \
                      allowing its origin and method.",
        effect: Effect::Destructive,
        idempotent: true,
        api: false,
        input: schema_for_input::<SetCors>,
        output: Some(schema_for_output::<CorsSet>),
    },
    Spec {
        name: "presign_post",
        title: "Browser upload form",
        description: "A signed form a web page can upload one file with straight to the bucket, without \
                      credentials: POST to `url` as multipart/form-data with `fields`, then the file as `file`. \
                      Limits the key (or a prefix), size and content type. Signing happens locally.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: false,
        input: schema_for_input::<PresignPost>,
        output: Some(schema_for_output::<PresignedPost>),
    },
    Spec {
        name: "cdn_list",
        title: "List CDN endpoints",
        description: "Every DigitalOcean CDN endpoint of the account: id, origin, endpoint host, TTL, custom domain. \
                      Needs DIGITALOCEAN_TOKEN.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: true,
        input: schema_for_input::<NoArguments>,
        output: Some(schema_for_output::<Endpoints>),
    },
    Spec {
        name: "cdn_purge",
        title: "Purge CDN cache",
        description: "Drop cached copies of paths (keys, \"dir/*\", or \"*\") from a CDN endpoint, so the next \
                      request fetches them from the bucket. Paced to DigitalOcean's limit of 50 paths per 20 s. \
                      Needs DIGITALOCEAN_TOKEN.",
        effect: Effect::Additive,
        idempotent: true,
        api: true,
        input: schema_for_input::<CdnPurge>,
        output: Some(schema_for_output::<Purged>),
    },
    Spec {
        name: "keys_list",
        title: "List access keys",
        description: "The account's Spaces access keys with their grants (never their secrets). Needs \
                      DIGITALOCEAN_TOKEN.",
        effect: Effect::ReadOnly,
        idempotent: true,
        api: true,
        input: schema_for_input::<KeysList>,
        output: Some(schema_for_output::<Keys>),
    },
    Spec {
        name: "keys_create",
        title: "Create an access key",
        description: "Create a Spaces access key with grants. The answer carries its secret, shown this once only: \
                      hand it to the user, do not repeat it elsewhere. Needs DIGITALOCEAN_TOKEN.",
        effect: Effect::Additive,
        idempotent: false,
        api: true,
        input: schema_for_input::<KeysCreate>,
        output: Some(schema_for_output::<NewKeyView>),
    },
    Spec {
        name: "keys_delete",
        title: "Delete an access key",
        description: "Delete a Spaces access key; whatever uses it loses access at once. Needs DIGITALOCEAN_TOKEN.",
        effect: Effect::Destructive,
        idempotent: false,
        api: true,
        input: schema_for_input::<KeysDelete>,
        output: Some(schema_for_output::<KeyDeleted>),
    },
];

/// The tools offered: all of them, or with `read_only` only those that change nothing.
pub(super) fn catalogue(read_only: bool) -> Result<Vec<Tool>, String> {
    SPECS
        .iter()
        .filter(|s| !read_only || s.effect == Effect::ReadOnly)
        .map(|s| {
            let annotations = ToolAnnotations::with_title(s.title)
                .read_only(s.effect == Effect::ReadOnly)
                .destructive(s.effect == Effect::Destructive)
                .idempotent(s.idempotent)
                .open_world(s.api);
            let tool = Tool::new(s.name, s.description, (s.input)()?).with_title(s.title).annotate(annotations);
            Ok(match s.output {
                Some(output) => tool.with_raw_output_schema(output()),
                None => tool,
            })
        })
        .collect()
}

fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Is `name` a tool that changes nothing?
pub(super) fn is_read_only(name: &str) -> bool {
    spec(name).is_some_and(|s| s.effect == Effect::ReadOnly)
}

fn args<T: DeserializeOwned>(arguments: Option<JsonObject>) -> Result<T, String> {
    let value = serde_json::Value::Object(arguments.unwrap_or_default());
    serde_json::from_value(value).map_err(|e| format!("invalid arguments: {e}"))
}

fn key(k: &str) -> Result<(), String> {
    object_keys::check(k).map_err(|e| format!("invalid arguments: {e}"))
}

/// A presigned URL's or form's lifetime, when given, within SigV4's 7 days.
fn lifetime(expires_seconds: Option<u32>) -> Result<(), String> {
    match expires_seconds {
        Some(e) if !(1..=MAX_EXPIRES).contains(&e) => {
            Err(format!("invalid arguments: expires_seconds must be 1-{MAX_EXPIRES} (7 days)"))
        }
        _ => Ok(()),
    }
}

/// The bucket tools' arguments.
fn bucket_call(name: &str, arguments: Option<JsonObject>) -> Result<BucketCall, String> {
    Ok(match name {
        "list_buckets" => {
            let NoArguments {} = args(arguments)?;
            BucketCall::List
        }
        "get_acl" => BucketCall::GetAcl(args(arguments)?),
        "set_acl" => BucketCall::SetAcl(args(arguments)?),
        "get_cors" => BucketCall::GetCors(args(arguments)?),
        "set_cors" => BucketCall::SetCors(args(arguments)?),
        _ => {
            let a: PresignPost = args(arguments)?;
            lifetime(a.expires_seconds)?;
            http_api::bucket::check_form_key(&a.key).map_err(|e| format!("invalid arguments: {e}"))?;
            BucketCall::PresignPost(a)
        }
    })
}

/// Parses and checks a call's arguments; `max_content` bounds the content `put_object` may carry.
pub(super) fn parse(name: &str, arguments: Option<JsonObject>, max_content: u64) -> Result<Call, String> {
    let call = match name {
        "list_objects" => {
            let a: ListObjects = args(arguments)?;
            if a.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
                return Err("invalid arguments: limit must be 1-1000".into());
            }
            Call::ListObjects(a)
        }
        "head_object" => Call::HeadObject(args(arguments)?),
        "get_object" => Call::GetObject(args(arguments)?),
        "put_object" => {
            let a: PutObject = args(arguments)?;
            let body = match (&a.text, &a.base64) {
                (Some(t), None) => t.as_bytes().to_vec(),
                (None, Some(b)) => base64::engine::general_purpose::STANDARD
                    .decode(b.trim())
                    .map_err(|e| format!("invalid arguments: base64 does not decode: {e}"))?,
                _ => return Err("invalid arguments: give the content as exactly one of `text` or `base64`".into()),
            };
            if body.len() as u64 > max_content {
                return Err(format!(
                    "the content is {} bytes; this server passes at most {max_content} bytes through MCP \
                     (--max-content-bytes). Upload larger files with a presigned PUT URL (presign_url) instead",
                    body.len()
                ));
            }
            Call::PutObject(a, body)
        }
        "delete_object" => Call::DeleteObject(args(arguments)?),
        "presign_url" => {
            let a: PresignUrl = args(arguments)?;
            lifetime(a.expires_seconds)?;
            Call::PresignUrl(a)
        }
        "object_url" => Call::ObjectUrl(args(arguments)?),
        "list_uploads" => Call::ListUploads(args(arguments)?),
        "abort_upload" => Call::AbortUpload(args(arguments)?),
        "list_buckets" | "get_acl" | "set_acl" | "get_cors" | "set_cors" | "presign_post" => {
            Call::Bucket(bucket_call(name, arguments)?)
        }
        "cdn_list" => {
            let NoArguments {} = args(arguments)?;
            Call::CdnList
        }
        "cdn_purge" => {
            let a: CdnPurge = args(arguments)?;
            if a.paths.is_empty() {
                return Err("invalid arguments: paths is empty; name at least one path (\"*\" purges all)".into());
            }
            Call::CdnPurge(a)
        }
        "keys_list" => Call::KeysList(args(arguments)?),
        "keys_create" => Call::KeysCreate(args(arguments)?),
        "keys_delete" => Call::KeysDelete(args(arguments)?),
        other => return Err(format!("there is no tool {other:?}")),
    };
    match &call {
        Call::HeadObject(a) | Call::DeleteObject(a) | Call::Bucket(BucketCall::GetAcl(a)) => key(&a.key)?,
        Call::Bucket(BucketCall::SetAcl(a)) => key(&a.key)?,
        Call::GetObject(a) => key(&a.key)?,
        Call::PutObject(a, _) => key(&a.key)?,
        Call::PresignUrl(a) => key(&a.key)?,
        Call::ObjectUrl(a) => key(&a.key)?,
        Call::AbortUpload(a) => key(&a.key)?,
        _ => {}
    }
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> Option<JsonObject> {
        v.as_object().cloned()
    }

    #[test]
    fn every_tool_is_offered_once_with_its_hints() {
        let all = catalogue(false).unwrap();
        assert_eq!(all.len(), 20);
        let names: std::collections::BTreeSet<_> = all.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names.len(), 20);
        for t in &all {
            let a = t.annotations.as_ref().unwrap();
            assert!(t.input_schema.get("type") == Some(&json!("object")), "{}", t.name);
            let deleting = ["delete_object", "keys_delete", "put_object", "abort_upload", "set_acl", "set_cors"]
                .contains(&t.name.as_ref());
            assert_eq!(a.destructive_hint, Some(deleting), "{}", t.name);
            assert_eq!(a.read_only_hint, Some(is_read_only(&t.name)), "{}", t.name);
            assert_eq!(t.output_schema.is_none(), t.name == "get_object", "{}", t.name);
        }
        let read_only: Vec<_> = catalogue(true).unwrap().into_iter().map(|t| t.name.to_string()).collect();
        assert_eq!(
            read_only,
            [
                "list_objects",
                "head_object",
                "get_object",
                "presign_url",
                "object_url",
                "list_uploads",
                "list_buckets",
                "get_acl",
                "get_cors",
                "presign_post",
                "cdn_list",
                "keys_list"
            ]
        );
    }

    #[test]
    fn schemas_describe_the_arguments() {
        let put = &catalogue(false).unwrap()[3];
        assert_eq!(put.name, "put_object");
        assert_eq!(put.input_schema["required"], json!(["key"]));
        assert_eq!(put.input_schema["additionalProperties"], json!(false));
        assert!(put.input_schema["properties"]["overwrite"]["description"].as_str().unwrap().contains("Replace"));
    }

    #[test]
    fn bad_arguments_are_refused_with_a_reason() {
        let bad = |name: &str, v: serde_json::Value| parse(name, obj(v), 10).err().unwrap();
        assert!(bad("head_object", json!({})).contains("missing field `key`"));
        assert!(bad("head_object", json!({"key": "a", "colour": 1})).contains("unknown field `colour`"));
        assert!(bad("head_object", json!({"key": 7})).contains("invalid type"));
        assert!(bad("get_object", json!({"key": "../x"})).contains("\"..\" segment"));
        assert!(bad("get_object", json!({"key": "a", "format": "pdf"})).contains("unknown variant"));
        assert!(bad("list_objects", json!({"limit": 0})).contains("1-1000"));
        assert!(bad("presign_url", json!({"key": "a", "expires_seconds": 604801})).contains("7 days"));
        assert!(bad("put_object", json!({"key": "a"})).contains("exactly one"));
        assert!(bad("put_object", json!({"key": "a", "text": "x", "base64": "eA=="})).contains("exactly one"));
        assert!(bad("put_object", json!({"key": "a", "base64": "!!"})).contains("base64"));
        assert!(bad("put_object", json!({"key": "a", "text": "eleven byte"})).contains("at most 10 bytes"));
        assert!(bad("cdn_purge", json!({"paths": []})).contains("at least one"));
        assert!(bad("set_acl", json!({"key": "a", "acl": "public-read-write"})).contains("unknown variant"));
        assert!(bad("set_acl", json!({"key": "a//b", "acl": "public"})).contains("empty segment"));
        assert!(bad("set_cors", json!({"rules": [{"AllowedOrigin": ["*"]}]})).contains("unknown field"));
        assert!(bad("presign_post", json!({"key": "in/", "expires_seconds": 0})).contains("7 days"));
        assert!(bad("presign_post", json!({"key": "a/../in/"})).contains("\"..\" segment"));
        assert!(bad("cdn_list", json!({"x": 1})).contains("unknown field"));
        assert!(bad("format_disk", json!({})).contains("no tool"));
    }

    #[test]
    fn good_arguments_parse() {
        match parse("put_object", obj(json!({"key": "a.bin", "base64": "AAEC"})), 10).unwrap() {
            Call::PutObject(a, body) => {
                assert_eq!(body, [0, 1, 2]);
                assert!(!a.overwrite && !a.public);
            }
            _ => panic!("not a put"),
        }
        match parse("get_object", obj(json!({"key": "a"})), 10).unwrap() {
            Call::GetObject(a) => assert_eq!(a.format, Format::Auto),
            _ => panic!("not a get"),
        }
        assert!(matches!(parse("cdn_list", None, 10), Ok(Call::CdnList)));
        assert!(parse("keys_create", obj(json!({"name": "n", "grants": [{"bucket": "b", "permission": "read"}]})), 0)
            .is_ok());
    }
}
