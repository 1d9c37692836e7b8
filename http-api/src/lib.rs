//! The HTTP API that `spaces serve` (the host, on axum) and the edge component (a `wasi:http/proxy` guest) both
//! offer, defined once so the two cannot drift: which route a request names, what its headers and JSON bodies
//! mean, the limits, and which status and problem kind each failure becomes. Pure: no I/O, no HTTP library;
//! each face reads its request into these types and writes the answers they describe.

pub mod auth;
pub mod bodies;
pub mod bucket;
pub mod content_type;
pub mod headers;
pub mod problems;
pub mod routes;

pub use object_keys::{check as check_key, from_path as key_from_path};
