//! Object keys as they arrive in request paths and `spaces://BUCKET/KEY` resource URIs: percent-decoded exactly
//! once, then refused if they could mean something other than one plain key (`..` or `.` segments, empty
//! segments, a leading `/`, control characters, more than S3's 1024 bytes). Pure.

/// The key in `path` after `prefix` (e.g. `/v1/objects/`), decoded and checked.
pub fn from_path(path: &str, prefix: &str) -> Result<String, String> {
    let raw = path.strip_prefix(prefix).ok_or("no object key in the path")?;
    let key = percent_decode(raw)?;
    check(&key)?;
    Ok(key)
}

/// A key given in a JSON body or query parameter, checked by the same rules.
pub fn check(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the object key is empty".into());
    }
    if key.len() > 1024 {
        return Err(format!("the object key is {} bytes long; S3 allows at most 1024", key.len()));
    }
    if let Some(c) = key.chars().find(|c| c.is_control()) {
        return Err(format!("the object key {key:?} contains the control character {c:?}"));
    }
    if key.starts_with('/') {
        return Err(format!("the object key {key:?} starts with '/'"));
    }
    for segment in key.split('/') {
        match segment {
            "." | ".." => return Err(format!("the object key {key:?} contains a {segment:?} segment")),
            "" if !key.ends_with('/') || key.contains("//") => {
                return Err(format!("the object key {key:?} contains an empty segment (\"//\")"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `spaces://BUCKET/KEY` URI of an object; the key is percent-encoded except for `/` and RFC 3986's
/// unreserved characters, so [`from_uri`] gives it back exactly.
pub fn to_uri(bucket: &str, key: &str) -> String {
    let mut uri = format!("{URI_SCHEME}{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// The bucket and key of a `spaces://BUCKET/KEY` URI, the key decoded and checked.
pub fn from_uri(uri: &str) -> Result<(String, String), String> {
    let rest = uri.strip_prefix(URI_SCHEME).ok_or_else(|| format!("{uri:?} is not a {URI_SCHEME}BUCKET/KEY URI"))?;
    let (bucket, _) = rest.split_once('/').ok_or_else(|| format!("{uri:?} names no object key after the bucket"))?;
    if bucket.is_empty() {
        return Err(format!("{uri:?} names no bucket"));
    }
    let key = from_path(rest, &format!("{bucket}/"))?;
    Ok((bucket.to_string(), key))
}

/// The scheme of object URIs.
pub const URI_SCHEME: &str = "spaces://";

/// A command-line argument that names a place in a bucket, `spaces://BUCKET/KEY-OR-PREFIX` or
/// `s3://BUCKET/KEY-OR-PREFIX`, written as people type it (not percent-encoded); the key may be empty (the
/// bucket's root). `None` when the argument names no bucket this way (a local path, or a bare key).
pub fn location(arg: &str) -> Option<Result<(String, String), String>> {
    let rest = arg.strip_prefix(URI_SCHEME).or_else(|| arg.strip_prefix("s3://"))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Some(Err(format!("{arg:?} names no bucket (write spaces://BUCKET/PREFIX)")));
    }
    if !key.is_empty() {
        if let Err(e) = check(key) {
            return Some(Err(e));
        }
    }
    Some(Ok((bucket.to_string(), key.to_string())))
}

/// `raw` with each `%XX` decoded, once; an error unless the result is UTF-8.
pub fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("the path {raw:?} has a '%' not followed by two hex digits"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the path {raw:?} does not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_keeps_plain_keys() {
        let k = |p: &str| from_path(p, "/v1/objects/");
        assert_eq!(k("/v1/objects/a/b.txt").unwrap(), "a/b.txt");
        assert_eq!(k("/v1/objects/dir/").unwrap(), "dir/");
        assert_eq!(k("/v1/objects/caf%C3%A9%20%2B1.txt").unwrap(), "café +1.txt");
        assert_eq!(k("/v1/objects/100%2525").unwrap(), "100%25", "decoded once only");
        assert_eq!(k("/v1/objects/a%2Fb").unwrap(), "a/b");
    }

    #[test]
    fn refuses_path_tricks() {
        let k = |p: &str| from_path(p, "/v1/objects/");
        for bad in [
            "/v1/objects/",
            "/v1/objects/../etc/passwd",
            "/v1/objects/a/%2E%2E/b",
            "/v1/objects/a/./b",
            "/v1/objects/a//b",
            "/v1/objects//a",
            "/v1/objects/%2Fa",
            "/v1/objects/a%00b",
            "/v1/objects/a%0Ab",
            "/v1/objects/a%zz",
            "/v1/objects/%FF",
            "/v2/objects/a",
        ] {
            assert!(k(bad).is_err(), "{bad}");
        }
        assert!(check(&"x".repeat(1025)).is_err());
        assert!(check(&"x".repeat(1024)).is_ok());
    }

    #[test]
    fn resource_uris_round_trip() {
        for key in ["a/b.txt", "café +1 & 100%.txt", "dir/", "we?ird#key", "~tilde-_.x"] {
            let uri = to_uri("my-bucket", key);
            assert!(!uri[URI_SCHEME.len()..].contains(['?', '#', ' ', '&']), "{uri}");
            assert_eq!(from_uri(&uri).unwrap(), ("my-bucket".to_string(), key.to_string()), "{uri}");
        }
        assert_eq!(to_uri("b", "café x"), "spaces://b/caf%C3%A9%20x");
        for bad in ["s3://b/k", "spaces://b", "spaces:///k", "spaces://b/", "spaces://b/../k", "spaces://b/a%zz"] {
            assert!(from_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locations_name_a_bucket_and_a_literal_key() {
        let loc = location;
        assert_eq!(loc("spaces://b/a b/c%20d"), Some(Ok(("b".into(), "a b/c%20d".into()))), "not decoded");
        assert_eq!(loc("s3://b/photos/"), Some(Ok(("b".into(), "photos/".into()))));
        assert_eq!(loc("spaces://b"), Some(Ok(("b".into(), String::new()))));
        assert_eq!(loc("spaces://b/"), Some(Ok(("b".into(), String::new()))));
        assert!(matches!(loc("spaces:///k"), Some(Err(_))));
        assert!(matches!(loc("spaces://b/../k"), Some(Err(_))));
        assert_eq!(loc("./spaces:/b"), None);
        assert_eq!(loc("photos/2026"), None);
    }

    proptest::proptest! {
        #[test]
        fn checked_keys_round_trip_through_uris_and_paths(key in "[a-zA-Z0-9 ./_~%+é日-]{1,80}") {
            if check(&key).is_ok() {
                let uri = to_uri("bucket", &key);
                proptest::prop_assert_eq!(from_uri(&uri).unwrap(), ("bucket".to_string(), key.clone()));
            }
            let _ = from_path(&key, "");
            let _ = percent_decode(&key);
        }
    }
}
