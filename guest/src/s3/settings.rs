//! The S3 client's configuration from named settings, for the builds that read their own from the environment (the
//! edge and the blobstore): `SPACES_ENDPOINT`, `SPACES_REGION` (default `nyc3`), `SPACES_PATH_STYLE`,
//! `SPACES_CDN_HOST`. Pure.

use crate::spaces::storage::types::{AddressingStyle, Config};

/// The configuration for `bucket`, each setting read through `var`.
pub(crate) fn storage_config(var: impl Fn(&str) -> Option<String>, bucket: String) -> Config {
    let path_style = var("SPACES_PATH_STYLE").is_some_and(|v| is_set(&v));
    Config {
        endpoint: var("SPACES_ENDPOINT"),
        region: var("SPACES_REGION").unwrap_or_else(|| "nyc3".into()),
        bucket,
        addressing: if path_style { AddressingStyle::Path } else { AddressingStyle::VirtualHost },
        cdn_host: var("SPACES_CDN_HOST"),
        retry: None,
        multipart_threshold: None,
        part_size: None,
        concurrency: None,
    }
}

/// A yes/no setting: anything but empty, `0`, `false` or `no` is yes.
fn is_set(value: &str) -> bool {
    !matches!(value, "" | "0" | "false" | "no")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_make_the_configuration() {
        let from = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let c = storage_config(from(&[("SPACES_PATH_STYLE", "1"), ("SPACES_ENDPOINT", "http://h:1")]), "b".into());
        assert_eq!((c.bucket.as_str(), c.region.as_str(), c.endpoint.as_deref()), ("b", "nyc3", Some("http://h:1")));
        assert!(matches!(c.addressing, AddressingStyle::Path));
        for off in ["", "0", "false", "no"] {
            let c = storage_config(move |k: &str| (k == "SPACES_PATH_STYLE").then(|| off.to_string()), "b".into());
            assert!(matches!(c.addressing, AddressingStyle::VirtualHost), "{off:?}");
        }
        let c = storage_config(from(&[("SPACES_REGION", "ams3"), ("SPACES_CDN_HOST", "cdn.example")]), "b".into());
        assert_eq!((c.region.as_str(), c.cdn_host.as_deref(), c.endpoint), ("ams3", Some("cdn.example"), None));
    }
}
