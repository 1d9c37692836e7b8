//! Request headers the API gives meaning to, and the headers its object answers carry: the upload options
//! (`Content-Type`, `Cache-Control`, `x-spaces-acl`, `x-spaces-meta-*`), one `Range`, and the `If-Match` /
//! `If-None-Match` conditions, evaluated here too for stores that ignore them on a GET.

use crate::content_type;

/// User metadata travels in these request and response headers (`x-amz-meta-*` upstream).
pub const META_PREFIX: &str = "x-spaces-meta-";

/// What an upload's headers ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutHeaders {
    /// Sent, or guessed from the key.
    pub content_type: Option<String>,
    /// `Cache-Control` to store.
    pub cache_control: Option<String>,
    /// `x-spaces-acl: public-read`.
    pub public: bool,
    /// `x-spaces-meta-NAME: VALUE` pairs, names in lower case.
    pub metadata: Vec<(String, String)>,
}

/// A header value as text, or the 400 detail saying it is not visible ASCII.
pub fn text<'a>(name: &str, value: &'a [u8]) -> Result<&'a str, String> {
    match std::str::from_utf8(value) {
        Ok(v) if v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) => Ok(v),
        _ => Err(format!("header {name} is not visible ASCII")),
    }
}

/// Reads the upload options from `headers` (name, value pairs, names in any case). A bad ACL or a value that is
/// not visible ASCII is refused; a missing content type is guessed from `key`.
pub fn put_headers<'h>(
    key: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
) -> Result<PutHeaders, String> {
    let mut put = PutHeaders::default();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "content-type" => put.content_type = Some(text(&name, value)?.to_string()),
            "cache-control" => put.cache_control = Some(text(&name, value)?.to_string()),
            "x-spaces-acl" => {
                put.public = match value {
                    b"private" => false,
                    b"public-read" => true,
                    _ => return Err("x-spaces-acl must be private or public-read".into()),
                }
            }
            _ => {
                if let Some(meta) = name.strip_prefix(META_PREFIX) {
                    put.metadata.push((meta.to_string(), text(&name, value)?.to_string()));
                }
            }
        }
    }
    if put.content_type.is_none() {
        put.content_type = content_type::guess(key).map(String::from);
    }
    Ok(put)
}

/// A `Content-Length` header as a number.
pub fn content_length(value: Option<&[u8]>) -> Result<Option<u64>, String> {
    value
        .map(|v| {
            std::str::from_utf8(v).ok().and_then(|v| v.trim().parse().ok()).ok_or("Content-Length is not a number")
        })
        .transpose()
        .map_err(String::from)
}

/// The single byte range a `Range` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// `bytes=FIRST-` or `bytes=FIRST-LAST` (inclusive).
    From {
        /// First byte.
        first: u64,
        /// Last byte, inclusive; `None` for the rest of the object.
        last: Option<u64>,
    },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
}

/// The largest object a store holds (S3's and Spaces' limit, 5 TiB): a range starting beyond it names no byte.
const MAX_OBJECT_BYTES: u64 = 5 << 40;

/// `Ok(None)` for headers a server may ignore (other units, several ranges); `Err` for a range that can never
/// be satisfied (416): backwards, empty, or starting beyond the largest object there can be.
pub fn parse_range(value: &str) -> Result<Option<Range>, String> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return Ok(None) };
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| format!("range {value:?} is not bytes=FIRST-LAST"));
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => Err(format!("range {value:?} names no bytes")),
        (true, false) => match number(b)? {
            0 => Err(format!("range {value:?} asks for no bytes")),
            n => Ok(Some(Range::Suffix(n))),
        },
        (false, true) => Ok(Some(Range::From { first: number(a)?, last: None })),
        (false, false) => {
            let (first, last) = (number(a)?, number(b)?);
            if last < first {
                return Err(format!("range {value:?} ends before it starts"));
            }
            Ok(Some(Range::From { first, last: Some(last) }))
        }
    }
    .and_then(|range| match range {
        Some(Range::From { first, .. }) if first >= MAX_OBJECT_BYTES => {
            Err(format!("range {value:?} starts beyond the largest object a store can hold"))
        }
        other => Ok(other),
    })
}

/// Does a header listing entity tags (`"a", W/"b"` or `*`) name `etag` (unquoted)? Weak comparison.
fn lists(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == etag)
}

/// How the conditions of a request decide on an object with `etag`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Proceed,
    /// `If-Match` failed: 412.
    PreconditionFailed,
    /// `If-None-Match` matched: 304.
    NotModified,
}

/// Evaluates `If-Match` and `If-None-Match` against an object's ETag.
pub fn evaluate(etag: &str, if_match: Option<&str>, if_none_match: Option<&str>) -> Verdict {
    if if_match.is_some_and(|h| !lists(h, etag)) {
        return Verdict::PreconditionFailed;
    }
    if if_none_match.is_some_and(|h| lists(h, etag)) {
        return Verdict::NotModified;
    }
    Verdict::Proceed
}

/// What an object answer says about the object, whichever store it came from.
pub struct ObjectHead<'a> {
    /// ETag, unquoted.
    pub etag: &'a str,
    /// Bytes in this answer's body.
    pub size: u64,
    /// Stored content type.
    pub content_type: Option<&'a str>,
    /// Stored `Cache-Control`.
    pub cache_control: Option<&'a str>,
    /// `Last-Modified`, as the store gave it.
    pub last_modified: Option<&'a str>,
    /// User metadata.
    pub metadata: &'a [(String, String)],
}

/// The headers of a GET or HEAD answer. Values HTTP cannot carry are for the caller to leave out.
pub fn object_headers(o: &ObjectHead) -> Vec<(String, String)> {
    let mut h = vec![
        ("etag".to_string(), format!("\"{}\"", o.etag)),
        ("content-length".to_string(), o.size.to_string()),
        ("accept-ranges".to_string(), "bytes".to_string()),
    ];
    let optional =
        [("content-type", o.content_type), ("cache-control", o.cache_control), ("last-modified", o.last_modified)];
    h.extend(optional.into_iter().filter_map(|(n, v)| Some((n.to_string(), v?.to_string()))));
    h.extend(o.metadata.iter().map(|(n, v)| (format!("{META_PREFIX}{n}"), v.clone())));
    h
}

/// `Content-Range` of a 206 answer whose body holds `size` bytes from `first`.
pub fn content_range(first: u64, size: u64) -> String {
    let last = (first + size).saturating_sub(1);
    format!("bytes {first}-{last}/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, headers: &[(&str, &str)]) -> Result<PutHeaders, String> {
        put_headers(key, headers.iter().map(|(n, v)| (*n, v.as_bytes())))
    }

    #[test]
    fn upload_headers() {
        let p = put("a/b.png", &[("X-Spaces-Meta-Owner", "me"), ("x-spaces-acl", "public-read")]).unwrap();
        assert_eq!(p.content_type.as_deref(), Some("image/png"), "guessed from the key");
        assert!(p.public);
        assert_eq!(p.metadata, [("owner".to_string(), "me".to_string())]);
        let p = put("a.png", &[("Content-Type", "text/plain"), ("cache-control", "max-age=1")]).unwrap();
        assert_eq!((p.content_type.as_deref(), p.cache_control.as_deref()), (Some("text/plain"), Some("max-age=1")));
        assert!(put("k", &[("x-spaces-acl", "public")]).unwrap_err().contains("x-spaces-acl"));
        assert!(put("k", &[("x-spaces-meta-n", "é")]).unwrap_err().contains("visible ASCII"));
        assert_eq!(put("k", &[]).unwrap(), PutHeaders::default());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99"), Ok(Some(Range::From { first: 0, last: Some(99) })));
        assert_eq!(parse_range("bytes=100-"), Ok(Some(Range::From { first: 100, last: None })));
        assert_eq!(parse_range("bytes=-5"), Ok(Some(Range::Suffix(5))));
        assert_eq!(parse_range("items=0-1"), Ok(None));
        assert_eq!(parse_range("bytes=0-1,4-5"), Ok(None));
        assert!(parse_range("bytes=9-3").is_err());
        assert!(parse_range("bytes=-0").is_err());
        assert!(parse_range("bytes=x-3").is_err());
        assert!(parse_range("bytes=18446744073709551615-").is_err(), "416, not a number overflowing later");
        assert_eq!(content_range(10, 5), "bytes 10-14/*");
    }

    #[test]
    fn conditions() {
        assert_eq!(evaluate("abc", Some("\"abc\""), None), Verdict::Proceed);
        assert_eq!(evaluate("abc", Some("\"x\", \"abc\""), None), Verdict::Proceed);
        assert_eq!(evaluate("abc", Some("\"x\""), None), Verdict::PreconditionFailed);
        assert_eq!(evaluate("abc", None, Some("W/\"abc\"")), Verdict::NotModified);
        assert_eq!(evaluate("abc", None, Some("*")), Verdict::NotModified);
        assert_eq!(evaluate("abc", None, Some("\"x\"")), Verdict::Proceed);
        assert_eq!(evaluate("abc", None, None), Verdict::Proceed);
    }

    #[test]
    fn object_answers_carry_the_same_headers() {
        let meta = [("owner".to_string(), "me".to_string())];
        let o = ObjectHead {
            etag: "e",
            size: 3,
            content_type: Some("text/plain"),
            cache_control: None,
            last_modified: None,
            metadata: &meta,
        };
        let h = object_headers(&o);
        assert!(
            h.contains(&("etag".into(), "\"e\"".into())) && h.contains(&("x-spaces-meta-owner".into(), "me".into()))
        );
        assert!(!h.iter().any(|(n, _)| n == "cache-control"));
    }

    proptest::proptest! {
        #[test]
        fn range_parsing_never_panics_and_what_it_accepts_can_be_served(value in "[ -~]{0,40}") {
            if let Ok(Some(Range::From { first, last })) = parse_range(&value) {
                proptest::prop_assert!(first < MAX_OBJECT_BYTES);
                proptest::prop_assert!(last.is_none_or(|l| l >= first));
            }
            let _ = evaluate("etag", Some(&value), Some(&value));
        }

        #[test]
        fn upload_headers_never_panic(
            name in "[a-zA-Z-]{1,20}",
            value in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let _ = put_headers("k", [(name.as_str(), value.as_slice())]);
        }
    }
}
