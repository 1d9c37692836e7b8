//! The network the component reaches through the host: the pooled outbound HTTP client with its timeouts, the
//! allowlist of authorities, a circuit breaker per endpoint, and the Prometheus metrics of it all.

pub(crate) mod allowlist;
pub(crate) mod breaker;
pub(crate) mod metrics;
pub(crate) mod outbound;
