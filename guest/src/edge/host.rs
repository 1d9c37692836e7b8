//! The edge's log: one JSON line per event on stderr (where `wasmtime serve`, `jco serve` and `spaces edge` put a
//! component's logs), written through `wasi:cli/stderr` of the proxy world, never through std, which has no stderr
//! on the component's core target.

use crate::host::metrics::RequestEvent;
use crate::wasi::cli::stderr;

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

/// Each upstream operation becomes a structured log line.
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
    log(&line.to_string());
}
