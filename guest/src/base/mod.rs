//! What every service the component talks to shares, and nothing about any one of them: the exchange loop that
//! authorises, sends and retries a call; the only module that talks to wasi:http; retry policy and backoff;
//! encodings; where a request goes.

pub(crate) mod encode;
pub(crate) mod exchange;
pub(crate) mod http;
pub(crate) mod retry;
pub(crate) mod target;

use crate::spaces::storage::types::Error;

/// The caller's input refused, before anything was sent.
pub(crate) fn invalid(m: String) -> Error {
    Error::InvalidArgument(m)
}
