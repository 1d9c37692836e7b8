//! The edge component's settings, from the environment. (Routes, headers, bodies and statuses are the API's
//! one definition, `http_api`, shared with `spaces serve`.) Pure.

use crate::s3::settings::storage_config;
use crate::spaces::storage::types::Config;

/// What the edge component runs with, from `wasi:cli/environment`.
pub(super) struct Settings {
    pub storage: Config,
    /// The bearer token every `/v1` request must carry (`SPACES_TOKEN`); `None` refuses all of them.
    pub token: Option<String>,
}

/// Reads the settings through `var` (the environment): `SPACES_BUCKET` (required), `SPACES_TOKEN`, and the S3
/// client's own (`s3::settings`).
pub(super) fn settings(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
    let bucket = var("SPACES_BUCKET").ok_or("SPACES_BUCKET is not set in the component's environment")?;
    let token = var("SPACES_TOKEN").filter(|t| !t.is_empty());
    Ok(Settings { storage: storage_config(var, bucket), token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let s = settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_TOKEN", "t")])).unwrap();
        assert_eq!((s.storage.bucket.as_str(), s.token.as_deref()), ("b", Some("t")));
        assert!(settings(env(&[("SPACES_BUCKET", "b"), ("SPACES_TOKEN", "")])).unwrap().token.is_none());
        assert!(settings(env(&[])).is_err_and(|e| e.contains("SPACES_BUCKET")));
    }
}
