//! Request headers with HTTP meaning the service interprets itself: `Range` (one range of bytes) and the
//! `If-Match` / `If-None-Match` entity-tag conditions, evaluated locally for HEAD. Pure.

/// The single byte range a `Range` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// `bytes=FIRST-` or `bytes=FIRST-LAST` (inclusive).
    From { first: u64, last: Option<u64> },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
}

/// `Ok(None)` for headers a server may ignore (other units, several ranges); `Err` for a range that can never
/// be satisfied (416).
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
}

/// Does a header listing entity tags (`"a", W/"b"` or `*`) name `etag` (unquoted)? Weak comparison.
fn lists(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == etag)
}

/// How the conditions of a request decide on an object with `etag`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// `If-Match` failed: 412.
    PreconditionFailed,
    /// `If-None-Match` matched: 304.
    NotModified,
}

pub fn evaluate(etag: &str, if_match: Option<&str>, if_none_match: Option<&str>) -> Verdict {
    if if_match.is_some_and(|h| !lists(h, etag)) {
        return Verdict::PreconditionFailed;
    }
    if if_none_match.is_some_and(|h| lists(h, etag)) {
        return Verdict::NotModified;
    }
    Verdict::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
