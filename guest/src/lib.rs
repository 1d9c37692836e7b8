//! The spaces component: glue from WIT to the modules that hold the protocol knowledge. Pure modules (encode,
//! sigv4, xml, addressing, retry, multipart, headers, errors, do_api) do no I/O and are unit-tested natively; `http`
//! is the only module that talks to wasi:http; `exchange` signs, sends and retries one call; `client` and `upload`
//! compose them into S3 operations.
//!
//! One crate, two components. The library (world `client`) exports the `storage`, `cdn` and `keys` interfaces
//! (`library.rs`) and imports credentials, metrics and progress from its host. The edge build (feature `edge`,
//! world `edge`) is a `wasi:http/proxy` component that serves the object routes itself (`edge/`), with what the
//! library imports supplied in-process; `host.rs` is the seam between the two.

// The edge build serves the object routes only; the library's copy and key-verification code stays unused there.
#![cfg_attr(feature = "edge", allow(dead_code))]

#[cfg(not(feature = "edge"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "client",
    generate_all,
});

#[cfg(feature = "edge")]
wit_bindgen::generate!({
    path: "../wit",
    world: "edge",
    generate_all,
});

mod addressing;
#[cfg(not(feature = "edge"))]
mod cdn;
mod client;
#[cfg(not(feature = "edge"))]
mod do_api;
#[cfg(not(feature = "edge"))]
mod do_http;
#[cfg(feature = "edge")]
mod edge;
mod encode;
mod errors;
mod exchange;
mod headers;
mod host;
mod http;
#[cfg(not(feature = "edge"))]
mod keys;
#[cfg(not(feature = "edge"))]
mod library;
mod multipart;
mod retry;
mod sigv4;
mod upload;
mod xml;
