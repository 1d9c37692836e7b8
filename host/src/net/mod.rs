//! The network: the pooled outbound HTTP client the component reaches the world through, with its timeouts, the
//! allowlist of authorities and a circuit breaker per endpoint; the listener the serving faces accept on; and
//! the Prometheus metrics of it all.

pub(crate) mod allowlist;
pub(crate) mod breaker;
pub(crate) mod listen;
pub(crate) mod metrics;
pub(crate) mod outbound;
pub(crate) mod proxy;
