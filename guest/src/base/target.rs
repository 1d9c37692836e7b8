//! Where a request goes, for any service: an endpoint (`scheme://host[:port]`) parsed and checked once, and a
//! target (scheme, host, encoded path) that an exchange sends to. Pure.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Host, with `:port` when one was given.
    pub host: String,
}

/// `scheme://host[:port]`, case-insensitive, with an optional trailing slash.
pub(crate) fn parse_endpoint(raw: &str) -> Result<Endpoint, String> {
    let lower = raw.to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(format!("endpoint {raw:?} must start with https:// or http://"));
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    let valid = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && !host.starts_with(':');
    if !valid {
        return Err(format!("endpoint {raw:?} must be a scheme and a host[:port], with no path"));
    }
    Ok(Endpoint { scheme, host: host.to_string() })
}

/// A request's destination: scheme, host header and encoded path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub scheme: &'static str,
    pub host: String,
    pub path: String,
}

impl Target {
    /// The full URL, with an already-encoded query string (may be empty).
    pub(crate) fn url(&self, query: &str) -> String {
        let mut url = [self.scheme, "://", &self.host, &self.path].concat();
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// True when no one between here and the server can alter a request unseen: HTTPS, or a loopback address.
    /// Over such a transport an upload part's body may go unsigned, its MD5 checked against the answer's ETag.
    pub(crate) fn shields_body(&self) -> bool {
        let name = match self.host.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => self.host.rsplit_once(':').map_or(self.host.as_str(), |(name, _port)| name),
        };
        self.scheme == "https"
            || name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = parse_endpoint("HTTPS://Nyc3.DigitalOceanSpaces.com/").unwrap();
        assert_eq!((e.scheme, e.host.as_str()), ("https", "nyc3.digitaloceanspaces.com"));
        assert!(parse_endpoint("ftp://x").is_err());
        assert!(parse_endpoint("https://").is_err());
        assert!(parse_endpoint("https://h/path").is_err());
        assert!(parse_endpoint("https://user@h").is_err());
    }

    #[test]
    fn transports_that_shield_a_body() {
        let t = |scheme, host: &str| Target { scheme, host: host.into(), path: "/".into() }.shields_body();
        assert!(t("https", "nyc3.digitaloceanspaces.com"));
        assert!(t("http", "127.0.0.1:7480") && t("http", "127.9.9.9") && t("http", "[::1]:7480"));
        assert!(t("http", "localhost:9000") && t("http", "b.localhost"));
        assert!(!t("http", "10.0.0.5:7480") && !t("http", "minio.lan") && !t("http", "[2001:db8::1]:80"));
        assert!(!t("http", "localhost.example.com") && !t("http", "127.0.0.1.nip.io"));
    }
}
