//! Where S3 requests go: bucket/key/region validation, path-style and virtual-host addressing, DigitalOcean's
//! regional and CDN host names. Pure; every S3 URL the component produces is built here.

use crate::base::encode::uri_encode;
pub(crate) use crate::base::target::{parse_endpoint, Endpoint, Target};

/// DigitalOcean's Spaces regions, for error messages.
pub(crate) const DO_REGIONS: &[&str] =
    &["nyc3", "ams3", "sfo2", "sfo3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"];

/// Longest object key S3 accepts, in UTF-8 bytes.
pub(crate) const MAX_KEY_BYTES: usize = 1024;

/// DigitalOcean's endpoint for a region: `https://REGION.digitaloceanspaces.com`.
pub(crate) fn region_endpoint(region: &str) -> String {
    format!("https://{region}.digitaloceanspaces.com")
}

/// The bucket's CDN host on DigitalOcean: `BUCKET.REGION.cdn.digitaloceanspaces.com`.
pub(crate) fn default_cdn_host(bucket: &str, region: &str) -> String {
    format!("{bucket}.{region}.cdn.digitaloceanspaces.com")
}

pub(crate) fn validate_region(region: &str) -> Result<(), String> {
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("region {region:?} is not a region slug; DigitalOcean's are {}", DO_REGIONS.join(", ")));
    }
    Ok(())
}

/// S3 bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
pub(crate) fn validate_bucket(bucket: &str) -> Result<(), String> {
    let bytes = bucket.as_bytes();
    let ok_len = (3..=63).contains(&bytes.len());
    let ok_chars = bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-');
    let ok_ends =
        bytes.first().is_some_and(u8::is_ascii_alphanumeric) && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    if ok_len && ok_chars && ok_ends && !bucket.contains("..") {
        Ok(())
    } else {
        Err(format!(
            "bucket name {bucket:?} is invalid: use 3-63 lower-case letters, digits, dots or hyphens, starting and \
                ending with a letter or digit"
        ))
    }
}

pub(crate) fn validate_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("object key is empty".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("object key is {} bytes; the limit is {MAX_KEY_BYTES} bytes of UTF-8", key.len()));
    }
    Ok(())
}

/// A version id as S3 and RGW make them: printable ASCII, at most 1024 bytes (`null` names the version of an object
/// stored while versioning was off).
pub(crate) fn validate_version_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 1024 || !id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(format!("{id:?} is not a version id"));
    }
    Ok(())
}

/// How one bucket is addressed at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addressing {
    pub endpoint: Endpoint,
    pub bucket: String,
    /// True for path style. Chosen by [`Addressing::new`], which may override a virtual-host request.
    pub path_style: bool,
}

impl Addressing {
    /// Virtual-host addressing is used when asked for and possible: not for an IP or `localhost` endpoint (no
    /// DNS names under it), and not for a dotted bucket over TLS (the wildcard certificate does not cover it).
    pub(crate) fn new(endpoint: Endpoint, bucket: &str, want_path_style: bool) -> Self {
        let hostname = endpoint.host.rsplit_once(':').map_or(endpoint.host.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                endpoint.host.as_str()
            }
        });
        let is_ip = hostname.starts_with('[') || hostname.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let path_style =
            want_path_style || is_ip || hostname == "localhost" || (endpoint.scheme == "https" && bucket.contains('.'));
        Addressing { endpoint, bucket: bucket.to_string(), path_style }
    }

    /// The service itself, for what is asked of no one bucket (ListBuckets).
    #[cfg(not(feature = "edge"))]
    pub(crate) fn service_target(&self) -> Target {
        Target { scheme: self.endpoint.scheme, host: self.endpoint.host.clone(), path: "/".into() }
    }

    /// The bucket itself (listing, health).
    pub(crate) fn bucket_target(&self) -> Target {
        self.target(String::new())
    }

    /// One object. The key is encoded with `/` kept, as S3 signs it.
    pub(crate) fn object_target(&self, key: &str) -> Target {
        let mut path = String::from("/");
        path.push_str(&uri_encode(key, true));
        self.target(path)
    }

    fn target(&self, key_path: String) -> Target {
        let (host, path) = if self.path_style {
            (self.endpoint.host.clone(), format!("/{}{key_path}", self.bucket))
        } else {
            (format!("{}.{}", self.bucket, self.endpoint.host), key_path)
        };
        let path = if path.is_empty() { "/".to_string() } else { path };
        Target { scheme: self.endpoint.scheme, host, path }
    }
}

/// The object's URL on a CDN host.
pub(crate) fn cdn_url(cdn_host: &str, key: &str) -> String {
    format!("https://{cdn_host}/{}", uri_encode(key, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(endpoint: &str, bucket: &str, path: bool) -> Addressing {
        Addressing::new(parse_endpoint(endpoint).unwrap(), bucket, path)
    }

    #[test]
    fn virtual_host_is_the_default_on_spaces() {
        let a = addr(&region_endpoint("nyc3"), "my-bucket", false);
        assert_eq!(
            a.object_target("dir/a b.txt").url(""),
            "https://my-bucket.nyc3.digitaloceanspaces.com/dir/a%20b.txt"
        );
        assert_eq!(a.bucket_target().url("list-type=2"), "https://my-bucket.nyc3.digitaloceanspaces.com/?list-type=2");
    }

    #[test]
    fn path_style_when_asked_or_needed() {
        let a = addr("https://nyc3.digitaloceanspaces.com", "my-bucket", true);
        assert_eq!(a.object_target("k").url(""), "https://nyc3.digitaloceanspaces.com/my-bucket/k");
        assert_eq!(a.bucket_target().path, "/my-bucket");
        assert!(addr("https://nyc3.digitaloceanspaces.com", "my.bucket", false).path_style, "dotted bucket over TLS");
        assert!(!addr("http://s3.internal", "my.bucket", false).path_style);
        assert!(addr("http://127.0.0.1:7480", "b12", false).path_style, "an IP has no subdomains");
        assert!(addr("http://localhost:7480/", "b12", false).path_style);
        assert!(addr("http://[::1]:7480", "b12", false).path_style);
        let a = addr("http://127.0.0.1:7480", "b12", false);
        assert_eq!(a.object_target("日本/x+y").url(""), "http://127.0.0.1:7480/b12/%E6%97%A5%E6%9C%AC/x%2By");
    }

    #[test]
    fn buckets_keys_regions() {
        for ok in ["abc", "my-bucket.v2", "a1b", &"a".repeat(63)] {
            assert!(validate_bucket(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Abc", "-abc", "abc-", "a..b", "a_b", &"a".repeat(64), ""] {
            assert!(validate_bucket(bad).is_err(), "{bad}");
        }
        assert!(validate_key("").is_err());
        assert!(validate_key(&"k".repeat(1024)).is_ok());
        assert!(validate_key(&"k".repeat(1025)).is_err());
        assert!(validate_key(&"é".repeat(513)).is_err(), "the limit counts bytes, not characters");
        assert!(validate_region("nyc3").is_ok());
        assert!(validate_region("NYC3").unwrap_err().contains("nyc3, ams3"));
        assert!(validate_region("").is_err());
    }

    #[test]
    fn cdn_urls() {
        assert_eq!(default_cdn_host("b", "ams3"), "b.ams3.cdn.digitaloceanspaces.com");
        assert_eq!(cdn_url("cdn.example.com", "a/b c"), "https://cdn.example.com/a/b%20c");
    }
}
