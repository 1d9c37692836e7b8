//! DigitalOcean's API v2 as the faces use it, through the component's `cdn` and `keys` interfaces: sessions on
//! one instance each, the JSON views of endpoints and keys, and key rotation.

pub(crate) mod cdn;
pub(crate) mod keys;
