//! The spaces component: glue from WIT to the modules that hold the protocol knowledge, split by protocol.
//! `base` is what every service shares (the exchange loop that authorises, sends and retries one call; `http`,
//! the only module that talks to wasi:http; retry; encodings) and never names a service; `s3` is the S3 client
//! (client, upload, sigv4, xml, headers, addressing, multipart, errors); `digitalocean` is API v2 (shapes, HTTP,
//! cdn, keys). Pure modules do no I/O and are unit-tested natively.
//!
//! One crate, three components. The library (world `client`) exports the `storage`, `cdn` and `keys` interfaces
//! (`library.rs`) and imports credentials, metrics and progress from its host. The edge build (feature `edge`,
//! world `edge`) is a `wasi:http/proxy` component that serves the object routes itself (`edge/`), with what the
//! library imports supplied in-process; `host.rs` is the seam between them. The blobstore build (feature
//! `blobstore`, world `blobstore`) exports the standard `wasi:blobstore` interfaces over the same S3 client
//! (`blobstore/`), with settings from the environment and values staged through `wasi:filesystem`.

// The blobstore build uses a subset of the S3 client (no URLs, presigning or health checks, and no metrics to
// report); the library and edge builds use all of it, and the dead-code lint keeps its meaning there.
#![cfg_attr(feature = "blobstore", allow(dead_code))]

/// The bindings wit-bindgen generates for the world this build targets. Their items mirror the WIT (which
/// documents them) and are `pub` as the generator makes them; they are reached through the imports below.
#[allow(missing_docs, unreachable_pub)]
mod bindings {
    #[cfg(not(any(feature = "edge", feature = "blobstore")))]
    wit_bindgen::generate!({
        path: "../wit",
        world: "client",
        generate_all,
        default_bindings_module: "crate::bindings",
    });

    #[cfg(feature = "edge")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "edge",
        generate_all,
        default_bindings_module: "crate::bindings",
    });

    #[cfg(feature = "blobstore")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "blobstore",
        generate_all,
        default_bindings_module: "crate::bindings",
    });
}

use bindings::{exports, spaces, wasi};

#[cfg(all(feature = "edge", feature = "blobstore"))]
compile_error!("features `edge` and `blobstore` each select a component; build one at a time");

// Only the library build encrypts; the others compile the upload and download paths that take a sealer or opener.
#[cfg_attr(any(feature = "edge", feature = "blobstore"), allow(dead_code))]
mod age;
mod base;
#[cfg(feature = "blobstore")]
mod blobstore;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
mod digitalocean;
#[cfg(feature = "edge")]
mod edge;
mod host;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
mod library;
#[cfg(test)]
mod properties;
mod s3;
