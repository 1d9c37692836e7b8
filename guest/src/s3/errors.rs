//! Turns what the service or the connection said into the typed WIT `error`, with text a person can act on.
//! Pure: the HTTP layer hands in status, S3 error document and headers; nothing here does I/O.

use crate::s3::xml::S3Error;
use crate::spaces::storage::types::{Error, ServiceError};

/// What was being worked on, for messages: "object \"a.txt\"" or "bucket \"b\"".
pub(crate) struct Subject<'a> {
    pub bucket: &'a str,
    pub key: Option<&'a str>,
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.key {
            Some(k) => write!(f, "object {k:?} in bucket {:?}", self.bucket),
            None => write!(f, "bucket {:?}", self.bucket),
        }
    }
}

/// The error as one line of text, for faces whose errors are strings (the edge's problem details, the blobstore).
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) fn describe(e: &Error) -> String {
    match e {
        Error::Service(s) => format!("service error {} {}: {}", s.status, s.code, s.message),
        Error::Throttled(_) => "throttled by the service (SlowDown); try again later".into(),
        Error::NotFound(m)
        | Error::AccessDenied(m)
        | Error::InvalidArgument(m)
        | Error::RangeNotSatisfiable(m)
        | Error::Conflict(m)
        | Error::PreconditionFailed(m)
        | Error::NotModified(m)
        | Error::Unavailable(m)
        | Error::CircuitOpen(m)
        | Error::Timeout(m)
        | Error::Integrity(m)
        | Error::Undecryptable(m)
        | Error::Transport(m) => m.clone(),
    }
}

/// The typed error for a non-success answer. `retry_after_s` comes from the `Retry-After` header.
pub(crate) fn from_status(
    status: u16,
    s3: Option<S3Error>,
    request_id: Option<String>,
    subject: &Subject,
    retry_after_s: Option<u32>,
) -> Error {
    let s3 = s3.unwrap_or_default();
    let code = s3.code.as_str();
    let detail = if s3.message.is_empty() { String::new() } else { format!(": {}", s3.message) };
    match (status, code) {
        (_, "NoSuchBucket") => Error::NotFound(format!(
            "bucket {:?} does not exist at this endpoint; check --bucket / SPACES_BUCKET and the region",
            subject.bucket
        )),
        (_, "NoSuchCORSConfiguration") => Error::NotFound(format!("{subject} has no CORS configuration")),
        (_, "NoSuchLifecycleConfiguration") => Error::NotFound(format!("{subject} has no lifecycle configuration")),
        (_, "NoSuchKey") | (404, _) => Error::NotFound(format!("{subject} not found")),
        (_, "SignatureDoesNotMatch") => Error::AccessDenied(
            "the server rejected the request signature: the secret access key does not match the access key id \
             (check SPACES_SECRET_ACCESS_KEY), or the region is wrong (check SPACES_REGION)"
                .into(),
        ),
        (_, "InvalidAccessKeyId") => {
            Error::AccessDenied("the access key id is not known to the server; check SPACES_ACCESS_KEY_ID".into())
        }
        (_, "RequestTimeTooSkewed") => Error::AccessDenied(
            "the server rejected the request time: this machine's clock is too far off; synchronise it (NTP)".into(),
        ),
        (_, "AccessDenied") => Error::AccessDenied(format!(
            "access to {subject} denied{detail}; check that the key has permission for this bucket"
        )),
        (401 | 403, _) => Error::AccessDenied(format!(
            "access to {subject} denied (HTTP {status}{}): the key may lack permission for this bucket, or the \
             secret access key may be wrong (check SPACES_SECRET_ACCESS_KEY)",
            if code.is_empty() { String::new() } else { format!(" {code}") }
        )),
        (_, "BadDigest" | "InvalidDigest") => Error::Integrity(format!(
            "the server received different bytes than were sent for {subject} (Content-MD5 mismatch){detail}"
        )),
        (
            _,
            "EntityTooLarge" | "EntityTooSmall" | "InvalidPart" | "InvalidPartOrder" | "InvalidBucketName"
            | "KeyTooLongError" | "InvalidArgument",
        ) => Error::InvalidArgument(format!("{code} for {subject}{detail}")),
        (416, _) | (_, "InvalidRange") => {
            Error::RangeNotSatisfiable(format!("the range starts beyond the end of {subject}{detail}"))
        }
        (409, _) | (_, "BucketAlreadyExists" | "OperationAborted") => {
            Error::Conflict(format!("{code} for {subject}{detail}"))
        }
        (412, _) | (_, "PreconditionFailed") => {
            Error::PreconditionFailed(format!("{subject} does not match the request's condition (it changed){detail}"))
        }
        (304, _) => Error::NotModified(format!("{subject} still matches the given ETag")),
        (429, _) | (_, "SlowDown") => Error::Throttled(retry_after_s),
        (500 | 502 | 503 | 504, _) => Error::Unavailable(format!(
            "the service answered {status}{} for {subject}{detail}; retries ran out",
            if code.is_empty() { String::new() } else { format!(" {code}") }
        )),
        _ => Error::Service(ServiceError {
            status,
            code: s3.code,
            message: if s3.message.is_empty() { format!("HTTP {status} for {subject}") } else { s3.message },
            request_id: s3.request_id.or(request_id),
        }),
    }
}

/// The same error with `note` appended to its text, so a caller still branches on the original kind.
pub(crate) fn with_note(e: Error, note: &str) -> Error {
    match e {
        Error::NotFound(m) => Error::NotFound(m + note),
        Error::AccessDenied(m) => Error::AccessDenied(m + note),
        Error::InvalidArgument(m) => Error::InvalidArgument(m + note),
        Error::RangeNotSatisfiable(m) => Error::RangeNotSatisfiable(m + note),
        Error::Conflict(m) => Error::Conflict(m + note),
        Error::PreconditionFailed(m) => Error::PreconditionFailed(m + note),
        Error::NotModified(m) => Error::NotModified(m + note),
        Error::Throttled(_) => Error::Unavailable(format!("throttled by the service (SlowDown){note}")),
        Error::Unavailable(m) => Error::Unavailable(m + note),
        Error::CircuitOpen(m) => Error::CircuitOpen(m + note),
        Error::Timeout(m) => Error::Timeout(m + note),
        Error::Integrity(m) => Error::Integrity(m + note),
        Error::Undecryptable(m) => Error::Undecryptable(m + note),
        Error::Service(mut s) => {
            s.message.push_str(note);
            Error::Service(s)
        }
        Error::Transport(m) => Error::Transport(m + note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(code: &str) -> Option<S3Error> {
        Some(S3Error { code: code.into(), message: String::new(), resource: None, request_id: Some("rid".into()) })
    }
    const OBJ: Subject = Subject { bucket: "b", key: Some("k") };

    #[test]
    fn maps_to_the_case_a_caller_branches_on() {
        assert!(
            matches!(from_status(404, s3("NoSuchKey"), None, &OBJ, None), Error::NotFound(m) if m.contains("\"k\""))
        );
        assert!(matches!(from_status(404, None, None, &OBJ, None), Error::NotFound(_)), "HEAD 404 has no body");
        let e = from_status(404, s3("NoSuchBucket"), None, &OBJ, None);
        assert!(matches!(e, Error::NotFound(m) if m.contains("SPACES_BUCKET")));
        let e = from_status(403, s3("SignatureDoesNotMatch"), None, &OBJ, None);
        assert!(matches!(e, Error::AccessDenied(m) if m.contains("SPACES_SECRET_ACCESS_KEY")));
        let e = from_status(403, s3("InvalidAccessKeyId"), None, &OBJ, None);
        assert!(matches!(e, Error::AccessDenied(m) if m.contains("SPACES_ACCESS_KEY_ID")));
        let e = from_status(403, None, None, &OBJ, None);
        assert!(matches!(e, Error::AccessDenied(m) if m.contains("SPACES_SECRET_ACCESS_KEY")), "HEAD 403 has no body");
        let e = from_status(403, s3("AccessDenied"), None, &OBJ, None);
        assert!(matches!(e, Error::AccessDenied(m) if m.contains("permission")));
        assert!(matches!(from_status(400, s3("BadDigest"), None, &OBJ, None), Error::Integrity(_)));
        assert!(matches!(from_status(503, s3("SlowDown"), None, &OBJ, Some(2)), Error::Throttled(Some(2))));
        assert!(matches!(from_status(502, None, None, &OBJ, None), Error::Unavailable(_)));
        assert!(matches!(from_status(409, s3("BucketNotEmpty"), None, &OBJ, None), Error::Conflict(_)));
        assert!(matches!(from_status(412, None, None, &OBJ, None), Error::PreconditionFailed(_)));
        assert!(matches!(from_status(304, None, None, &OBJ, None), Error::NotModified(_)));
        assert!(matches!(from_status(416, s3("InvalidRange"), None, &OBJ, None), Error::RangeNotSatisfiable(_)));
        assert!(matches!(from_status(416, None, None, &OBJ, None), Error::RangeNotSatisfiable(_)), "HEAD-like");
        match from_status(400, s3("MalformedXML"), None, &OBJ, None) {
            Error::Service(s) => {
                assert_eq!((s.status, s.code.as_str(), s.request_id.as_deref()), (400, "MalformedXML", Some("rid")));
                assert!(s.message.contains("HTTP 400"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notes_keep_the_kind() {
        assert!(matches!(with_note(Error::Integrity("x".into()), "; y"), Error::Integrity(m) if m == "x; y"));
        assert!(matches!(with_note(Error::Throttled(Some(1)), "; y"), Error::Unavailable(m) if m.ends_with("; y")));
    }
}
