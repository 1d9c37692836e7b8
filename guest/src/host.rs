//! What the component asks of whoever runs it: credentials to sign with, somewhere for metrics and progress to go.
//! The library build imports these (WIT `credentials`, `metrics`, `progress`) from its host. The edge and blobstore
//! builds, which may import nothing of ours, supply them in-process: credentials from the component's environment
//! (`wasi:cli/environment`, through the bindings, never std, which has none on the component's core target),
//! metrics to the edge's log (the blobstore has none), and progress, which no one watches there, dropped.
//! Everything else reaches them through here.

#[cfg(not(any(feature = "edge", feature = "blobstore")))]
pub(crate) use crate::spaces::storage::{credentials, metrics, progress};

/// The value of `name` in the component's environment. The environment is copied out of the host once per
/// instance (it cannot change under one), not once for each of the dozen settings a request reads.
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) fn env(name: &str) -> Option<String> {
    use std::sync::OnceLock;
    static ENVIRONMENT: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let all = ENVIRONMENT.get_or_init(crate::wasi::cli::environment::get_environment);
    all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A setting the build cannot work without; set but empty counts as not set.
#[cfg(any(feature = "edge", feature = "blobstore"))]
fn required(name: &str) -> Result<String, String> {
    env(name).filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is not set in the component's environment"))
}

/// Mirrors WIT `credentials`: `get` reads `SPACES_ACCESS_KEY_ID`, `SPACES_SECRET_ACCESS_KEY` and the optional
/// `SPACES_SESSION_TOKEN` from the environment on every call.
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) mod credentials {
    /// An access key pair. Its `Debug` never shows the secret.
    #[derive(Clone)]
    pub(crate) struct Credentials {
        pub access_key_id: String,
        pub secret_access_key: String,
        pub session_token: Option<String>,
    }

    impl std::fmt::Debug for Credentials {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
        }
    }

    pub(crate) fn get() -> Result<Credentials, String> {
        Ok(Credentials {
            access_key_id: super::required("SPACES_ACCESS_KEY_ID")?,
            secret_access_key: super::required("SPACES_SECRET_ACCESS_KEY")?,
            session_token: super::env("SPACES_SESSION_TOKEN"),
        })
    }
}

/// Mirrors WIT `metrics`: each event goes to the edge's log; the blobstore's world has nowhere to write one.
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) mod metrics {
    /// One upstream operation, retries included.
    pub(crate) struct RequestEvent {
        pub operation: String,
        pub method: String,
        pub status: u16,
        pub attempts: u32,
        pub bytes_sent: u64,
        pub bytes_received: u64,
        pub duration_us: u64,
    }

    pub(crate) fn record(e: &RequestEvent) {
        #[cfg(feature = "edge")]
        crate::edge::host::record(e);
        #[cfg(feature = "blobstore")]
        let _ = e;
    }
}

/// Mirrors WIT `progress`: nothing shows a progress bar in these builds.
#[cfg(any(feature = "edge", feature = "blobstore"))]
pub(crate) mod progress {
    pub(crate) fn advanced(_bytes: u64) {}
    /// Nothing records uploads here: a failed one is aborted, never resumed.
    pub(crate) fn upload_started(_upload_id: &str, _part_size: u64, _sealing: Option<&[u8]>) {}
    pub(crate) fn upload_ended(_upload_id: &str) {}
}
