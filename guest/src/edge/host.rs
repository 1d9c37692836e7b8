//! The edge build's stand-ins for the library's three imports: credentials from the environment
//! (`SPACES_ACCESS_KEY_ID`, `SPACES_SECRET_ACCESS_KEY`, optional `SPACES_SESSION_TOKEN`), metrics as one JSON
//! line per operation on stderr (where `wasmtime serve`, `jco serve` and `spaces edge` put a component's logs),
//! and progress, which no one watches here, dropped. The environment and stderr are reached through the WASI
//! interfaces the edge world names (`wasi:cli/environment`, and `wasi:cli/stderr` from the proxy world), never
//! through std, which has neither on the component's core target.

use crate::wasi::cli::{environment, stderr};
use std::sync::OnceLock;

/// The value of `name` in the component's environment. The environment is copied out of the host once per
/// instance (it cannot change under one), not once for each of the dozen settings a request reads.
pub(crate) fn env(name: &str) -> Option<String> {
    static ENVIRONMENT: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let all = ENVIRONMENT.get_or_init(environment::get_environment);
    all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// Writes one log line to stderr. A log that cannot be written is not worth failing a request for.
pub(crate) fn log(line: &str) {
    let _ = super::write_all(&stderr::get_stderr(), format!("{line}\n").as_bytes());
}

/// Sends a panic's message to the log before the component traps, so a runtime's log says what went wrong.
pub(crate) fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        log(&serde_json::json!({"event": "panic", "detail": info.to_string()}).to_string());
    }));
}

/// Mirrors WIT `credentials`: `get` reads the environment on every call.
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

    fn var(name: &str) -> Result<String, String> {
        super::env(name).ok_or_else(|| format!("{name} is not set in the component's environment"))
    }

    pub(crate) fn get() -> Result<Credentials, String> {
        Ok(Credentials {
            access_key_id: var("SPACES_ACCESS_KEY_ID")?,
            secret_access_key: var("SPACES_SECRET_ACCESS_KEY")?,
            session_token: super::env("SPACES_SESSION_TOKEN"),
        })
    }
}

/// Mirrors WIT `metrics`: each event becomes a structured log line.
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
        let line = serde_json::json!({
            "event": "operation",
            "operation": e.operation,
            "method": e.method,
            "status": e.status,
            "attempts": e.attempts,
            "bytes_sent": e.bytes_sent,
            "bytes_received": e.bytes_received,
            "duration_us": e.duration_us,
        });
        super::log(&line.to_string());
    }
}

/// Mirrors WIT `progress`: nothing shows a progress bar at the edge.
pub(crate) mod progress {
    pub(crate) fn advanced(_bytes: u64) {}
    /// Nothing records uploads at the edge: a failed one is aborted, never resumed.
    pub(crate) fn upload_started(_upload_id: &str, _part_size: u64) {}
    pub(crate) fn upload_ended(_upload_id: &str) {}
}
