//! Object headers both ways: the headers a PUT sends (content type, cache control, ACL, user metadata) and the
//! `object-meta` read back from a HEAD or GET. User metadata values that are not plain printable ASCII travel
//! RFC 2047-encoded (`=?UTF-8?B?…?=`), as S3 itself returns them, so unicode values round-trip.

use crate::spaces::storage::types::{Acl, ObjectMeta};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

const META_PREFIX: &str = "x-amz-meta-";

/// What a new object is stored with.
pub(crate) struct ObjectHeaders<'a> {
    pub content_type: Option<&'a str>,
    pub cache_control: Option<&'a str>,
    pub acl: Acl,
    pub metadata: &'a [(String, String)],
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn plain_value(v: &str) -> bool {
    v.bytes().all(|b| (0x20..0x7f).contains(&b)) && v.trim() == v
}

fn encode_value(v: &str) -> String {
    if plain_value(v) && !v.starts_with("=?") {
        v.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", B64.encode(v))
    }
}

fn decode_value(v: &str) -> String {
    v.strip_prefix("=?UTF-8?B?")
        .or_else(|| v.strip_prefix("=?utf-8?b?"))
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(|b64| B64.decode(b64).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| v.to_string())
}

/// Validates and renders the headers; errors name the offending field.
pub(crate) fn object_headers(h: &ObjectHeaders) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, value) in [("content-type", h.content_type), ("cache-control", h.cache_control)] {
        if let Some(v) = value {
            if !plain_value(v) || v.is_empty() {
                return Err(format!("{name} {v:?} must be non-empty printable ASCII"));
            }
            out.push((name.to_string(), v.to_string()));
        }
    }
    let acl = match h.acl {
        Acl::Private => "private",
        Acl::PublicRead => "public-read",
    };
    out.push(("x-amz-acl".into(), acl.into()));
    let mut seen = std::collections::HashSet::new();
    let mut size = 0;
    for (name, value) in h.metadata {
        let lower = name.to_ascii_lowercase();
        if !is_token(&lower) {
            return Err(format!("metadata name {name:?} must be letters, digits or -_. (an HTTP token)"));
        }
        if !seen.insert(lower.clone()) {
            return Err(format!("metadata name {name:?} given twice"));
        }
        let encoded = encode_value(value);
        size += lower.len() + encoded.len();
        out.push((format!("{META_PREFIX}{lower}"), encoded));
    }
    if size > 2048 {
        return Err(format!("user metadata is {size} bytes; S3 allows 2 KiB"));
    }
    Ok(out)
}

/// Metadata of `key` from response headers (names already lower-case). `None` when `etag` or the length is
/// missing, which a conforming server never does.
pub(crate) fn object_meta(key: &str, headers: &[(String, String)]) -> Option<ObjectMeta> {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut metadata: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(META_PREFIX).map(|n| (n.to_string(), decode_value(v))))
        .collect();
    metadata.sort();
    Some(ObjectMeta {
        key: key.to_string(),
        size: get("content-length")?.trim().parse().ok()?,
        etag: crate::s3::xml::unquote_etag(&get("etag")?),
        last_modified: get("last-modified"),
        content_type: get("content-type"),
        cache_control: get("cache-control"),
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<'a>(meta: &'a [(String, String)]) -> ObjectHeaders<'a> {
        ObjectHeaders { content_type: Some("text/plain"), cache_control: None, acl: Acl::PublicRead, metadata: meta }
    }

    #[test]
    fn renders_and_round_trips_unicode_metadata() {
        let meta = vec![("Author".to_string(), "Zoë 日本".to_string()), ("plain".to_string(), "a b".to_string())];
        let out = object_headers(&h(&meta)).unwrap();
        assert!(out.contains(&("x-amz-acl".into(), "public-read".into())));
        assert!(out.contains(&("x-amz-meta-plain".into(), "a b".into())));
        let author = out.iter().find(|(k, _)| k == "x-amz-meta-author").unwrap();
        assert!(author.1.starts_with("=?UTF-8?B?"));

        let mut response: Vec<(String, String)> = out.clone();
        response.push(("content-length".into(), "12".into()));
        response.push(("etag".into(), "\"abc\"".into()));
        let m = object_meta("k", &response).unwrap();
        assert_eq!(m.size, 12);
        assert_eq!(m.etag, "abc");
        assert_eq!(m.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.metadata, vec![("author".into(), "Zoë 日本".into()), ("plain".into(), "a b".into())]);
    }

    #[test]
    fn rejects_bad_names_values_and_sizes() {
        assert!(object_headers(&h(&[("bad name".into(), "v".into())])).is_err());
        assert!(object_headers(&h(&[("".into(), "v".into())])).is_err());
        assert!(object_headers(&h(&[("a".into(), "1".into()), ("A".into(), "2".into())])).is_err());
        assert!(object_headers(&h(&[("big".into(), "x".repeat(3000))])).is_err());
        let bad_type = ObjectHeaders { content_type: Some("text/\nplain"), ..h(&[]) };
        assert!(object_headers(&bad_type).is_err());
    }

    #[test]
    fn values_that_look_encoded_are_encoded_again() {
        assert_ne!(encode_value("=?UTF-8?B?eA==?="), "=?UTF-8?B?eA==?=");
        assert_eq!(decode_value(&encode_value("=?UTF-8?B?eA==?=")), "=?UTF-8?B?eA==?=");
        assert_eq!(decode_value("=?UTF-8?B?not base64!?="), "=?UTF-8?B?not base64!?=");
    }

    #[test]
    fn missing_length_or_etag_is_none() {
        assert!(object_meta("k", &[("etag".into(), "x".into())]).is_none());
        assert!(object_meta("k", &[("content-length".into(), "1".into())]).is_none());
    }
}
