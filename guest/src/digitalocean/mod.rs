//! DigitalOcean's API v2 over the exchange loop: the JSON shapes and error mapping (`api`, pure), the bearer-token
//! service and its requests (`http`), and the CDN and Spaces-key operations on top.

pub(crate) mod api;
pub(crate) mod cdn;
pub(crate) mod http;
pub(crate) mod keys;
