//! The edge component's settings, from the environment. (Routes, headers, bodies and statuses are the API's
//! one definition, `http_api`, shared with `spaces serve`.) Pure.

use crate::spaces::storage::types::{AddressingStyle, Config};

/// What the edge component runs with, from `wasi:cli/environment`.
pub(super) struct Settings {
    pub storage: Config,
    /// The bearer token every `/v1` request must carry (`SPACES_TOKEN`); `None` refuses all of them.
    pub token: Option<String>,
}

/// Reads the settings through `var` (the environment): `SPACES_BUCKET` (required), `SPACES_ENDPOINT`,
/// `SPACES_REGION` (default `nyc3`), `SPACES_PATH_STYLE`, `SPACES_CDN_HOST`, `SPACES_TOKEN`.
pub(super) fn settings(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let bucket = var("SPACES_BUCKET").ok_or("SPACES_BUCKET is not set in the component's environment")?;
    let path_style = var("SPACES_PATH_STYLE").is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"));
    Ok(Settings {
        storage: Config {
            endpoint: var("SPACES_ENDPOINT"),
            region: var("SPACES_REGION").unwrap_or_else(|| "nyc3".into()),
            bucket,
            addressing: if path_style { AddressingStyle::Path } else { AddressingStyle::VirtualHost },
            cdn_host: var("SPACES_CDN_HOST"),
            retry: None,
            multipart_threshold: None,
            part_size: None,
            concurrency: None,
        },
        token: var("SPACES_TOKEN").filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_PATH_STYLE", "1"), ("SPACES_TOKEN", "t")])).unwrap();
        assert_eq!((s.storage.bucket.as_str(), s.storage.region.as_str()), ("b", "nyc3"));
        assert!(matches!(s.storage.addressing, AddressingStyle::Path));
        assert_eq!(s.token.as_deref(), Some("t"));
        let s = settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_PATH_STYLE", "0"), ("SPACES_TOKEN", "")])).unwrap();
        assert!(matches!(s.storage.addressing, AddressingStyle::VirtualHost) && s.token.is_none());
        assert!(settings(env(&[])).is_err_and(|e| e.contains("SPACES_BUCKET")));
    }
}
