//! Failures as HTTP answers: each kind of failure has one status and one problem kind
//! (`urn:spaces:problem:KIND`), and every error body is an RFC 9457 problem document of the same shape.

use serde::Serialize;

/// What went wrong, as the API distinguishes it. Both faces map their typed errors onto this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 404 `not-found`.
    NotFound,
    /// 403 `access-denied`.
    AccessDenied,
    /// 400 `invalid-argument`.
    InvalidArgument,
    /// 416 `range-not-satisfiable`.
    RangeNotSatisfiable,
    /// 409 `conflict`.
    Conflict,
    /// 412 `precondition-failed`.
    PreconditionFailed,
    /// 304, no body.
    NotModified,
    /// 429 `throttled`, with Retry-After.
    Throttled,
    /// 502 `upstream-unavailable`: the store answered 5xx and retries ran out.
    Unavailable,
    /// 503 `circuit-open`, with Retry-After.
    CircuitOpen,
    /// 504 `upstream-timeout`.
    Timeout,
    /// 502 `integrity`: the bytes did not match what was promised, or encrypted bytes failed authentication.
    Integrity,
    /// 422 `undecryptable`: the object is encrypted and the identity or passphrase configured does not open it.
    Undecryptable,
    /// 502 `upstream-unreachable`: the connection failed.
    Transport,
    /// `service`: the store's own error answer with this status (a 4xx passes through, anything else is 502).
    Service(u16),
    /// 401 `unauthorized`.
    Unauthorized,
    /// 404 `no-route`.
    NoRoute,
    /// 405 `method-not-allowed`.
    MethodNotAllowed,
    /// 413 `too-large`.
    TooLarge,
    /// 408 `client-stalled`: the request body stopped arriving.
    ClientStalled,
    /// 503 `shutting-down`, with Retry-After.
    ShuttingDown,
    /// 503 `overloaded`, with Retry-After.
    Overloaded,
    /// 503 `no-token`: the edge component has no `SPACES_TOKEN`.
    NoToken,
    /// 500 `misconfigured`.
    Misconfigured,
    /// 502 `rotation-failed`: the new key did not work and was deleted; the old one is unchanged.
    RotationFailed,
    /// 500 `internal`.
    Internal,
}

impl Kind {
    /// The HTTP status and the problem kind's name.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Kind::NotFound => (404, "not-found"),
            Kind::AccessDenied => (403, "access-denied"),
            Kind::InvalidArgument => (400, "invalid-argument"),
            Kind::RangeNotSatisfiable => (416, "range-not-satisfiable"),
            Kind::Conflict => (409, "conflict"),
            Kind::PreconditionFailed => (412, "precondition-failed"),
            Kind::NotModified => (304, "not-modified"),
            Kind::Throttled => (429, "throttled"),
            Kind::Unavailable => (502, "upstream-unavailable"),
            Kind::CircuitOpen => (503, "circuit-open"),
            Kind::Timeout => (504, "upstream-timeout"),
            Kind::Integrity => (502, "integrity"),
            Kind::Undecryptable => (422, "undecryptable"),
            Kind::Transport => (502, "upstream-unreachable"),
            Kind::Service(s) if (400..500).contains(&s) => (s, "service"),
            // The store behind does not offer the operation (s3s-fs has no multipart listing): not a fault.
            Kind::Service(501) => (501, "not-implemented"),
            Kind::Service(_) => (502, "service"),
            Kind::Unauthorized => (401, "unauthorized"),
            Kind::NoRoute => (404, "no-route"),
            Kind::MethodNotAllowed => (405, "method-not-allowed"),
            Kind::TooLarge => (413, "too-large"),
            Kind::ClientStalled => (408, "client-stalled"),
            Kind::ShuttingDown => (503, "shutting-down"),
            Kind::Overloaded => (503, "overloaded"),
            Kind::NoToken => (503, "no-token"),
            Kind::Misconfigured => (500, "misconfigured"),
            Kind::RotationFailed => (502, "rotation-failed"),
            Kind::Internal => (500, "internal"),
        }
    }
}

/// The [`Kind`] of a WIT `error` value. The host's and the component's bindings make two Rust types of the one
/// WIT type, so the mapping is written once here, over the case names: `kind_of_error!(e, Error)` with the
/// caller's error type in scope as `Error`.
#[macro_export]
macro_rules! kind_of_error {
    ($error:expr, $E:ident) => {
        match $error {
            $E::NotFound(_) => $crate::problems::Kind::NotFound,
            $E::AccessDenied(_) => $crate::problems::Kind::AccessDenied,
            $E::InvalidArgument(_) => $crate::problems::Kind::InvalidArgument,
            $E::RangeNotSatisfiable(_) => $crate::problems::Kind::RangeNotSatisfiable,
            $E::Conflict(_) => $crate::problems::Kind::Conflict,
            $E::PreconditionFailed(_) => $crate::problems::Kind::PreconditionFailed,
            $E::NotModified(_) => $crate::problems::Kind::NotModified,
            $E::Throttled(_) => $crate::problems::Kind::Throttled,
            $E::CircuitOpen(_) => $crate::problems::Kind::CircuitOpen,
            $E::Unavailable(_) => $crate::problems::Kind::Unavailable,
            $E::Transport(_) => $crate::problems::Kind::Transport,
            $E::Integrity(_) => $crate::problems::Kind::Integrity,
            $E::Undecryptable(_) => $crate::problems::Kind::Undecryptable,
            $E::Timeout(_) => $crate::problems::Kind::Timeout,
            $E::Service(s) => $crate::problems::Kind::Service(s.status),
        }
    };
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "host", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:spaces:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What happened and what to do, for a person.
    pub detail: String,
    /// Seconds to wait before retrying, also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// The problem of `kind`, explained by `detail`.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        let (status, name) = kind.status();
        Problem {
            kind: format!("urn:spaces:problem:{name}"),
            title: title(status).to_string(),
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// A 400 `invalid-argument`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(Kind::InvalidArgument, detail)
    }

    /// The same problem, telling the client to wait `seconds` (at least 1).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The document as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The headers the answer carries beside `Content-Type: application/problem+json`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("content-type", "application/problem+json".to_string())];
        if let Some(s) = self.retry_after {
            h.push(("retry-after", s.to_string()));
        }
        h
    }
}

/// The reason phrase of `status`.
pub fn title(status: u16) -> &'static str {
    match status {
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        s if (400..500).contains(&s) => "Client Error",
        _ => "Error",
    }
}

/// The seconds in a circuit breaker's "… the next attempt goes out in N s" refusal, for Retry-After.
pub fn circuit_wait(message: &str) -> Option<u64> {
    let rest = &message[message.rfind(" in ")? + 4..];
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_one_status_each() {
        assert_eq!(Kind::Timeout.status(), (504, "upstream-timeout"));
        assert_eq!(Kind::RangeNotSatisfiable.status(), (416, "range-not-satisfiable"));
        assert_eq!(Kind::Service(409).status().0, 409);
        assert_eq!(Kind::Service(500).status().0, 502);
        assert_eq!(Kind::Service(501).status(), (501, "not-implemented"));
        let p = Problem::new(Kind::NotFound, "gone").retry_after(0);
        assert_eq!((p.status, p.title.as_str(), p.retry_after), (404, "Not Found", Some(1)));
        let doc: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(doc["type"], "urn:spaces:problem:not-found");
        assert_eq!(p.headers()[1], ("retry-after", "1".to_string()));
    }

    #[test]
    fn circuit_refusals_say_when_to_retry() {
        assert_eq!(circuit_wait("failed 5 times in a row; the next attempt goes out in 4 s"), Some(4));
        assert_eq!(circuit_wait("no number"), None);
    }
}
