//! The host's failures as types: the component's typed WIT error, a fault of the host itself with its cause kept
//! as a source (an I/O error, a trap), or an interrupt. Every face decides what a failure means from its kind —
//! the CLI an exit code, the service a status, the MCP server a tool error — never from its message text.

use crate::runtime::bindings::types;
use std::fmt;

/// Why a command, a request or a tool call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The component's typed error (or the host's own refusal of bad input, as `invalid-argument`).
    Storage(types::Error),
    /// The host failed: a file it could not open, a port it could not bind, a trap in the component.
    Host(HostError),
    /// The user pressed Ctrl-C, the service stopped, or an MCP client cancelled.
    Interrupted,
}

/// What the host was doing when it failed, and the error underneath.
#[derive(Debug)]
pub(crate) struct HostError {
    context: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result of anything that can fail with a [`Failure`].
pub(crate) type Outcome<T> = Result<T, Failure>;

impl Failure {
    /// Input the user must correct (exit code 2, HTTP 400).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure::Storage(types::Error::InvalidArgument(message.into()))
    }

    /// A host fault with no underlying error.
    pub(crate) fn host(context: impl Into<String>) -> Self {
        Failure::Host(HostError { context: context.into(), source: None })
    }

    /// A host fault caused by `source`, shown as "CONTEXT: SOURCE".
    pub(crate) fn caused(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Failure::Host(HostError { context: context.into(), source: Some(Box::new(source)) })
    }

    /// A failure the component reported as `not-found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Failure::Storage(types::Error::NotFound(message.into()))
    }

    /// 2 usage, 3 not found, 4 access denied, 5 cannot decrypt, 130 interrupted, 1 anything else.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            Failure::Storage(types::Error::NotFound(_)) => 3,
            Failure::Storage(types::Error::AccessDenied(_)) => 4,
            Failure::Storage(types::Error::Undecryptable(_)) => 5,
            Failure::Storage(types::Error::InvalidArgument(_) | types::Error::RangeNotSatisfiable(_)) => 2,
            Failure::Interrupted => 130,
            _ => 1,
        }
    }
}

impl From<wasmtime::Error> for Failure {
    fn from(e: wasmtime::Error) -> Self {
        // wasmtime's error keeps its chain as text; `{:#}` shows all of it.
        Failure::Host(HostError { context: format!("{e:#}"), source: None })
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{}: {s}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for HostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Host(h) => Some(h),
            Failure::Storage(_) | Failure::Interrupted => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use types::Error as E;
        match self {
            Failure::Host(h) => write!(f, "{h}"),
            Failure::Interrupted => write!(f, "interrupted"),
            Failure::Storage(e) => match e {
                E::NotFound(m) => write!(f, "not found: {m}"),
                E::AccessDenied(m) => write!(f, "access denied: {m}"),
                E::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
                E::RangeNotSatisfiable(m) => write!(f, "range not satisfiable: {m}"),
                E::Conflict(m) => write!(f, "conflict: {m}"),
                E::PreconditionFailed(m) => write!(f, "precondition failed: {m}"),
                E::NotModified(m) => write!(f, "not modified: {m}"),
                E::Throttled(Some(s)) => write!(f, "throttled by the service (SlowDown); retry in {s} s"),
                E::Throttled(None) => {
                    write!(f, "throttled by the service (SlowDown); retries ran out, try again later")
                }
                E::Unavailable(m) => write!(f, "service unavailable: {m}"),
                E::CircuitOpen(m) => write!(f, "circuit open: {m}"),
                E::Timeout(m) => write!(f, "timed out: {m}"),
                E::Integrity(m) => write!(f, "integrity check failed: {m}"),
                E::Undecryptable(m) => write!(f, "cannot decrypt: {m}"),
                E::Service(s) => write!(
                    f,
                    "service error {} {}: {}{}",
                    s.status,
                    s.code,
                    s.message,
                    s.request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default()
                ),
                E::Transport(m) => write!(f, "connection failed: {m}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn host_faults_keep_their_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        let f = Failure::caused("cannot listen on 127.0.0.1:1", io);
        assert_eq!(f.to_string(), "cannot listen on 127.0.0.1:1: address in use");
        let cause = f.source().and_then(|h| h.source()).expect("the io error is kept");
        assert_eq!(cause.to_string(), "address in use");
        assert_eq!(f.exit_code(), 1);
    }

    #[test]
    fn exit_codes_follow_the_kind() {
        assert_eq!(Failure::usage("x").exit_code(), 2);
        assert_eq!(Failure::not_found("x").exit_code(), 3);
        assert_eq!(Failure::Storage(types::Error::AccessDenied("x".into())).exit_code(), 4);
        assert_eq!(Failure::Storage(types::Error::Undecryptable("x".into())).exit_code(), 5);
        assert_eq!(Failure::Interrupted.exit_code(), 130);
    }
}
