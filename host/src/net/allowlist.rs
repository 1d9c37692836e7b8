//! The outbound allowlist: the authorities the component may reach. Anything else is refused before a socket is
//! opened, so a misconfigured or compromised component cannot talk to arbitrary hosts. Pure.

/// Exact authorities (`host:port`) and wildcard suffixes (`*.example.com:443`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Allowlist {
    exact: Vec<String>,
    suffixes: Vec<(String, u16)>,
}

/// `host:port` with the scheme's default port filled in, lower-cased.
pub(crate) fn normalise(scheme_is_https: bool, authority: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let has_port = authority.rsplit_once(':').is_some_and(|(h, p)| {
        !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() && !authority.ends_with(']')
    });
    if has_port {
        authority
    } else {
        format!("{authority}:{}", if scheme_is_https { 443 } else { 80 })
    }
}

impl Allowlist {
    /// Admits the endpoint's authority and every subdomain of it (virtual-host buckets).
    pub(crate) fn allow_endpoint(&mut self, endpoint_url: &str) -> Result<(), String> {
        let (https, rest) = if let Some(r) = endpoint_url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = endpoint_url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("endpoint {endpoint_url:?} must start with https:// or http://"));
        };
        let authority = normalise(https, rest.trim_end_matches('/'));
        let (host, port) = authority.rsplit_once(':').expect("normalise adds a port");
        let port: u16 = port.parse().map_err(|_| format!("bad port in endpoint {endpoint_url:?}"))?;
        self.exact.push(authority.clone());
        self.suffixes.push((format!(".{host}"), port));
        Ok(())
    }

    /// Admits every host under `domain` on `port` (e.g. all of `digitaloceanspaces.com`).
    pub(crate) fn allow_domain(&mut self, domain: &str, port: u16) {
        self.suffixes.push((format!(".{}", domain.to_ascii_lowercase()), port));
    }

    pub(crate) fn allows(&self, scheme_is_https: bool, authority: &str) -> bool {
        let authority = normalise(scheme_is_https, authority);
        if self.exact.contains(&authority) {
            return true;
        }
        let Some((host, port)) = authority.rsplit_once(':') else {
            return false;
        };
        let Ok(port) = port.parse::<u16>() else {
            return false;
        };
        self.suffixes
            .iter()
            .any(|(suffix, p)| *p == port && host.ends_with(suffix.as_str()) && host.len() > suffix.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_and_its_subdomains_only() {
        let mut a = Allowlist::default();
        a.allow_endpoint("http://127.0.0.1:7480").unwrap();
        assert!(a.allows(false, "127.0.0.1:7480"));
        assert!(!a.allows(false, "127.0.0.1:7481"));
        assert!(!a.allows(false, "127.0.0.1"));
        assert!(!a.allows(false, "example.com:7480"));

        let mut b = Allowlist::default();
        b.allow_endpoint("https://nyc3.digitaloceanspaces.com/").unwrap();
        assert!(b.allows(true, "nyc3.digitaloceanspaces.com"));
        assert!(b.allows(true, "my-bucket.nyc3.digitaloceanspaces.com:443"));
        assert!(!b.allows(false, "my-bucket.nyc3.digitaloceanspaces.com"), "port 80 is not 443");
        assert!(!b.allows(true, "evilnyc3.digitaloceanspaces.com"));
        assert!(!b.allows(true, "nyc3.digitaloceanspaces.com.evil.com"));
        assert!(b.allow_endpoint("ftp://x").is_err());
    }

    #[test]
    fn domains() {
        let mut a = Allowlist::default();
        a.allow_domain("digitaloceanspaces.com", 443);
        assert!(a.allows(true, "b.ams3.digitaloceanspaces.com"));
        assert!(a.allows(true, "ams3.digitaloceanspaces.com"));
        assert!(!a.allows(true, "digitaloceanspaces.com.attacker.net"));
        assert!(!a.allows(true, "127.0.0.1:443"));
    }

    #[test]
    fn normalises_ports_and_case() {
        assert_eq!(normalise(true, "Example.COM"), "example.com:443");
        assert_eq!(normalise(false, "h:8080"), "h:8080");
        assert_eq!(normalise(false, "[::1]"), "[::1]:80");
        assert_eq!(normalise(false, "[::1]:9000"), "[::1]:9000");
    }
}
