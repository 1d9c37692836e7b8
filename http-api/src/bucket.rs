//! The JSON of buckets and their settings — the bucket list, an object's ACL, the bucket's CORS rules and signed
//! browser upload forms — one shape for the service's routes, the CLI's `--json` and files, and the MCP tools.
//! CORS rules are written as `aws s3api get-bucket-cors` writes them, so a rules file moves between the tools.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One bucket these credentials own.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct BucketEntry {
    /// The bucket's name.
    pub name: String,
    /// When it was made (ISO 8601).
    pub created: String,
}

/// `GET /v1/buckets`: every bucket these credentials own at the endpoint.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Buckets {
    /// The buckets, in the store's order (by name).
    pub buckets: Vec<BucketEntry>,
}

/// Who may read an object.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema, clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Readers {
    /// Anyone, at the object's URL (canned ACL `public-read`).
    Public,
    /// Only the owner and holders of a presigned URL (canned ACL `private`).
    Private,
}

impl Readers {
    /// The word people read: `public` or `private`.
    pub fn word(self) -> &'static str {
        match self {
            Readers::Public => "public",
            Readers::Private => "private",
        }
    }
}

/// `GET /v1/acl/{key}`: an object's ACL.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct Access {
    /// The object key.
    pub key: String,
    /// The owner's canonical id.
    pub owner: String,
    /// `public` when the ACL lets everyone read the object, else `private`.
    pub acl: Readers,
    /// Every grant, as `GRANTEE PERMISSION` (an id, or a group URI such as
    /// `http://acs.amazonaws.com/groups/global/AllUsers`).
    pub grants: Vec<String>,
}

/// `PUT /v1/acl/{key}`.
#[derive(Deserialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetAccess {
    /// `public` or `private`.
    pub acl: Readers,
}

/// A bucket's CORS rules, as `aws s3api get-bucket-cors` prints them and `put-bucket-cors` reads them.
#[derive(Serialize, Deserialize, Debug, Default)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct CorsRules {
    /// The rules; a browser request is allowed by the first that matches it. Empty: no CORS configuration.
    #[serde(rename = "CORSRules")]
    pub cors_rules: Vec<CorsRule>,
}

/// One CORS rule.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CorsRule {
    /// Origins allowed: `https://app.example`, `https://*.example` or `*`.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Methods allowed: GET, PUT, POST, DELETE, HEAD.
    #[serde(default)]
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for (`*` for any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_headers: Vec<String>,
    /// Response headers the page's script may read, e.g. `ETag`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
    /// AWS's rules may carry an id; S3 keeps it, Spaces ignores it, and so do we.
    #[serde(default, rename = "ID", skip_serializing)]
    #[cfg_attr(feature = "host", schema(ignore))]
    #[cfg_attr(feature = "host", schemars(skip))]
    pub id: Option<String>,
}

/// `POST /v1/presign-post`: a signed form a browser uploads one file with, straight to the bucket.
#[derive(Deserialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PresignPostBody {
    /// The key the upload is stored under, or a prefix ending in `/`: the file's own name is appended to it.
    pub key: String,
    /// The largest file accepted, in bytes [default: 5 GiB, S3's limit for one POST].
    pub max_size: Option<u64>,
    /// The Content-Type the upload must carry [default: any].
    pub content_type: Option<String>,
    /// Lifetime in seconds, 1-604800 [default: 3600].
    pub expires: Option<u32>,
}

impl PresignPostBody {
    /// Refuses a key the key rules refuse; see [`check_form_key`].
    pub fn check(&self) -> Result<(), String> {
        check_form_key(&self.key)
    }
}

/// An upload form's key must pass the key rules, and its prefix (ending in `/`) must be a folder they accept: a
/// form must not let a browser store what the API itself would refuse (`a/../b`, a leading `/`, `a//`).
pub fn check_form_key(key: &str) -> Result<(), String> {
    match key.strip_suffix('/') {
        Some(prefix) if prefix.is_empty() || prefix.ends_with('/') => {
            Err(format!("an upload form's prefix is a folder such as inbox/ or a/b/, not {key:?}"))
        }
        Some(prefix) => object_keys::check(prefix),
        None => object_keys::check(key),
    }
}

/// A signed browser upload form: POST to `url` as `multipart/form-data`, these fields first, then the file in a
/// field named `file`.
#[derive(Serialize, Debug)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema, schemars::JsonSchema))]
pub struct PresignedPost {
    /// The bucket's URL.
    pub url: String,
    /// The form's fields, the signed policy among them.
    pub fields: BTreeMap<String, String>,
    /// Seconds since the Unix epoch at which the form stops working.
    pub expires_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bodies::parse;

    #[test]
    fn cors_rules_read_and_write_aws_s_shape() {
        let text = r#"{"CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["PUT"],
                       "MaxAgeSeconds": 600, "ID": "uploads"}]}"#;
        let rules: CorsRules = parse(text.as_bytes()).unwrap();
        assert_eq!(rules.cors_rules[0].max_age_seconds, Some(600));
        let written = serde_json::to_value(&rules).unwrap();
        let expected = serde_json::json!({"CORSRules": [{"AllowedOrigins": ["https://app.example"],
                                                          "AllowedMethods": ["PUT"], "MaxAgeSeconds": 600}]});
        assert_eq!(written, expected);
        assert!(parse::<CorsRules>(br#"{"CORSRules": [{"AllowedOrigin": ["x"]}]}"#).is_err(), "a misspelt field");
    }

    #[test]
    fn form_keys_and_prefixes_pass_the_key_rules() {
        for good in ["inbox/", "a.txt", "a/b/"] {
            assert!(check_form_key(good).is_ok(), "{good}");
        }
        for bad in ["", "/", "a/../b", "/inbox/", "a//", "a\u{1}/"] {
            assert!(check_form_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn acl_bodies() {
        assert_eq!(parse::<SetAccess>(br#"{"acl": "public"}"#).unwrap().acl, Readers::Public);
        assert!(parse::<SetAccess>(br#"{"acl": "public-read-write"}"#).is_err());
        assert!(parse::<SetAccess>(br#"{"acl": "private", "owner": "x"}"#).is_err());
        assert_eq!(Readers::Private.word(), "private");
    }
}
