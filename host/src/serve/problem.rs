//! Errors as `application/problem+json` (RFC 9457): the component's typed errors and the service's own refusals
//! mapped to the status a client can branch on, with Retry-After where waiting helps.

use crate::bindings::types::Error as E;
use crate::session::Failure;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
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
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:spaces:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-argument", detail)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Failure> for Problem {
    fn from(f: Failure) -> Self {
        let detail = f.to_string();
        let e = match f {
            Failure::Storage(e) => e,
            Failure::Interrupted => {
                return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "shutting-down", detail).retry_after(5)
            }
            Failure::Host(_) => return Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail),
        };
        let (status, kind) = match &e {
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            E::AccessDenied(_) => (StatusCode::FORBIDDEN, "access-denied"),
            E::InvalidArgument(m) if m.starts_with("InvalidRange") => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range-not-satisfiable")
            }
            E::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "invalid-argument"),
            E::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            E::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "precondition-failed"),
            E::NotModified(_) => (StatusCode::NOT_MODIFIED, "not-modified"),
            E::Throttled(s) => {
                let wait = s.map_or(1, u64::from);
                return Problem::new(StatusCode::TOO_MANY_REQUESTS, "throttled", detail).retry_after(wait);
            }
            E::CircuitOpen(m) => {
                let wait = circuit_wait(m).unwrap_or(10);
                return Problem::new(StatusCode::SERVICE_UNAVAILABLE, "circuit-open", detail).retry_after(wait);
            }
            E::Unavailable(_) => (StatusCode::BAD_GATEWAY, "upstream-unavailable"),
            E::Transport(_) => (StatusCode::BAD_GATEWAY, "upstream-unreachable"),
            E::Integrity(_) => (StatusCode::BAD_GATEWAY, "integrity"),
            E::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "upstream-timeout"),
            E::Service(s) if (400..500).contains(&s.status) => {
                (StatusCode::from_u16(s.status).unwrap_or(StatusCode::BAD_REQUEST), "service")
            }
            E::Service(_) => (StatusCode::BAD_GATEWAY, "service"),
        };
        Problem::new(status, kind, detail)
    }
}

/// Bodies, queries and path segments that did not parse are the caller's mistake, told as a problem document.
macro_rules! rejection_is_bad_request {
    ($($t:ty),*) => {$(
        impl From<$t> for Problem {
            fn from(e: $t) -> Self {
                Problem::bad_request(e.body_text())
            }
        }
    )*};
}
rejection_is_bad_request!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::QueryRejection,
    axum::extract::rejection::PathRejection
);

/// The seconds in the host's "… the next attempt goes out in N s" refusal.
fn circuit_wait(message: &str) -> Option<u64> {
    let rest = &message[message.rfind(" in ")? + 4..];
    rest.split_whitespace().next()?.parse().ok()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(s) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_typed_errors_to_statuses() {
        let p = |e| Problem::from(Failure::Storage(e));
        assert_eq!(p(E::NotFound("k".into())).status, 404);
        assert_eq!(p(E::PreconditionFailed("k".into())).status, 412);
        assert_eq!(p(E::Conflict("k".into())).status, 409);
        let t = p(E::Throttled(Some(7)));
        assert_eq!((t.status, t.retry_after), (429, Some(7)));
        let c = p(E::CircuitOpen("failed 5 times in a row; the next attempt goes out in 4 s".into()));
        assert_eq!((c.status, c.retry_after), (503, Some(4)));
        assert_eq!(p(E::Timeout("t".into())).status, 504);
        assert_eq!(p(E::Unavailable("u".into())).status, 502);
        assert!(p(E::NotFound("k".into())).kind.ends_with(":not-found"));
    }
}
