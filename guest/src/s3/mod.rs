//! S3 over the exchange loop: the client and its operations (`client`, `upload`, and the calls only some builds
//! need: `store_ops`, `library_ops`), how it signs and reads refusals (`service`), and the pure protocol modules —
//! SigV4, XML bodies, object headers, addressing, multipart planning, part MD5s in SIMD lanes (`part_md5`), and
//! errors a person can act on.

pub(crate) mod addressing;
pub(crate) mod client;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) mod cors;
#[cfg_attr(any(feature = "edge", feature = "blobstore"), allow(dead_code))]
pub(crate) mod encrypted;
pub(crate) mod errors;
pub(crate) mod headers;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) mod library_ops;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) mod lifecycle;
pub(crate) mod multipart;
pub(crate) mod part_md5;
#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) mod post_policy;
pub(crate) mod service;
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) mod settings;
pub(crate) mod sigv4;
#[cfg(not(feature = "edge"))]
pub(crate) mod store_ops;
pub(crate) mod upload;
pub(crate) mod xml;
