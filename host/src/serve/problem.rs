//! Errors as `application/problem+json` (RFC 9457), by the API's one mapping (`http_api::problems`): the
//! component's typed errors and the host's failures become a kind, the kind decides the status. Retry-After goes
//! out where waiting helps.

use crate::error::Failure;
use crate::runtime::bindings::types::Error as E;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub(super) use http_api::problems::Kind;
use utoipa::ToSchema;

/// The kind of a failure, by its type alone.
pub(super) fn kind_of(f: &Failure) -> Kind {
    match f {
        Failure::Interrupted => Kind::ShuttingDown,
        Failure::Host(_) => Kind::Internal,
        Failure::Storage(e) => http_api::kind_of_error!(e, E),
    }
}

/// The problem document of a failure.
pub(super) fn problem(f: &Failure) -> Doc {
    let p = Doc::new(kind_of(f), f.to_string());
    match f {
        Failure::Interrupted => p.retry_after(5),
        Failure::Storage(E::Throttled(s)) => p.retry_after(s.map_or(1, u64::from)),
        Failure::Storage(E::CircuitOpen(m)) => p.retry_after(http_api::problems::circuit_wait(m).unwrap_or(10)),
        _ => p,
    }
}

type Doc = http_api::problems::Problem;

/// A problem as the service answers it: the API's document, sent with its status and headers.
#[derive(Debug)]
pub(super) struct Problem(pub Doc);

/// Documented as the API's problem document itself.
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Doc as utoipa::PartialSchema>::schema()
    }
}

impl ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        <Doc as ToSchema>::name()
    }
}

impl From<Failure> for Problem {
    fn from(f: Failure) -> Self {
        Problem(problem(&f))
    }
}

impl Problem {
    /// The problem of `kind`.
    pub(super) fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Problem(Doc::new(kind, detail))
    }

    /// A 400 `invalid-argument`.
    pub(super) fn bad_request(detail: impl Into<String>) -> Self {
        Problem(Doc::bad_request(detail))
    }

    /// The same problem, telling the client to wait `seconds`.
    pub(super) fn retry_after(self, seconds: u64) -> Self {
        Problem(self.0.retry_after(seconds))
    }

    /// The status it answers with.
    pub(super) fn status(&self) -> u16 {
        self.0.status
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

/// A JSON body over the limit is 413, as everywhere else in the API; one that could not be read is 400.
impl From<axum::extract::rejection::BytesRejection> for Problem {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        let kind = if e.status() == StatusCode::PAYLOAD_TOO_LARGE { Kind::TooLarge } else { Kind::InvalidArgument };
        Problem::new(kind, e.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        let mut response = (status, self.0.to_json()).into_response();
        for (name, value) in self.0.headers() {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(HeaderName::from_static(name), v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_typed_errors_to_statuses() {
        let p = |e| problem(&Failure::Storage(e));
        assert_eq!(p(E::NotFound("k".into())).status, 404);
        assert_eq!(p(E::PreconditionFailed("k".into())).status, 412);
        assert_eq!(p(E::Conflict("k".into())).status, 409);
        assert_eq!(p(E::RangeNotSatisfiable("k".into())).status, 416);
        let t = p(E::Throttled(Some(7)));
        assert_eq!((t.status, t.retry_after), (429, Some(7)));
        let c = p(E::CircuitOpen("5 different requests failed in a row; the next attempt goes out in 4 s".into()));
        assert_eq!((c.status, c.retry_after), (503, Some(4)));
        assert_eq!(p(E::Timeout("t".into())).status, 504);
        assert_eq!(p(E::Unavailable("u".into())).status, 502);
        assert!(p(E::NotFound("k".into())).kind.ends_with(":not-found"));
        assert_eq!(problem(&Failure::host("x")).status, 500);
    }
}
