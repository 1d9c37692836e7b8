//! The metrics registry: fed by the component's `metrics` import (one event per S3 operation, with retries) and by
//! the HTTP layer (each request on the wire, connections opened), rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
struct OperationStats {
    count: u64,
    retries: u64,
    bytes_sent: u64,
    bytes_received: u64,
    latency: Histogram,
}

/// One operation as the component reports it.
pub(crate) struct OperationEvent<'a> {
    pub operation: &'a str,
    pub status: u16,
    pub attempts: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duration: Duration,
}

#[derive(Default)]
pub(crate) struct Metrics {
    operations: Mutex<BTreeMap<(String, &'static str), OperationStats>>,
    requests: Mutex<BTreeMap<(String, &'static str), Histogram>>,
    connections_opened: AtomicU64,
    refused: AtomicU64,
    transferred: AtomicU64,
    /// Requests the service answered, by method, route and status class.
    served: Mutex<BTreeMap<(String, String, &'static str), Histogram>>,
    /// Per authority: circuit state (0 closed, 1 half-open, 2 open) and requests refused by the open circuit.
    circuits: Mutex<BTreeMap<String, (u8, u64)>>,
}

/// `2xx`…`5xx`, or `error` when no response arrived.
pub(crate) fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "error",
    }
}

impl Metrics {
    pub(crate) fn record_operation(&self, ev: &OperationEvent) {
        let mut ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        let s = ops.entry((ev.operation.to_string(), status_class(ev.status))).or_default();
        s.count += 1;
        s.retries += u64::from(ev.attempts.saturating_sub(1));
        s.bytes_sent += ev.bytes_sent;
        s.bytes_received += ev.bytes_received;
        s.latency.observe(ev.duration.as_secs_f64());
    }

    /// One request on the wire; `status` is `None` when it failed without a response.
    pub(crate) fn record_request(&self, method: &str, status: Option<u16>, duration: Duration) {
        let mut reqs = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let class = status.map_or("error", status_class);
        reqs.entry((method.to_string(), class)).or_default().observe(duration.as_secs_f64());
    }

    /// One request `spaces serve` answered; `duration` runs to its response head.
    pub(crate) fn record_served(&self, method: &str, route: &str, status: u16, duration: Duration) {
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        let key = (method.to_string(), route.to_string(), status_class(status));
        served.entry(key).or_default().observe(duration.as_secs_f64());
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Object bytes the component reports as moved (its progress events).
    pub(crate) fn transferred(&self, bytes: u64) {
        self.transferred.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A request the allowlist refused.
    pub(crate) fn request_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn circuit_state(&self, authority: &str, state: u8) {
        let mut circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        circuits.entry(authority.to_string()).or_default().0 = state;
    }

    /// A request the open circuit refused.
    pub(crate) fn circuit_rejected(&self, authority: &str) {
        let mut circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        let entry = circuits.entry(authority.to_string()).or_default();
        entry.0 = 2;
        entry.1 += 1;
    }

    /// Prometheus text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_operations(&mut out);
        let reqs = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        family(
            &mut out,
            "spaces_http_request_duration_seconds",
            "histogram",
            "Upstream HTTP requests, time to response head.",
        );
        for ((method, class), h) in reqs.iter() {
            h.render(
                &mut out,
                "spaces_http_request_duration_seconds",
                &format!("method=\"{method}\",status=\"{class}\""),
            );
        }
        let requests: u64 = reqs.values().map(|h| h.count).sum();
        drop(reqs);
        let opened = self.connections_opened.load(Ordering::Relaxed);
        family(&mut out, "spaces_http_connections_opened_total", "counter", "New upstream connections.");
        let _ = writeln!(out, "spaces_http_connections_opened_total {opened}");
        family(&mut out, "spaces_http_connections_reused_total", "counter", "Requests served on a pooled connection.");
        let _ = writeln!(out, "spaces_http_connections_reused_total {}", requests.saturating_sub(opened));
        family(&mut out, "spaces_http_refused_total", "counter", "Requests refused by the outbound allowlist.");
        let _ = writeln!(out, "spaces_http_refused_total {}", self.refused.load(Ordering::Relaxed));
        family(
            &mut out,
            "spaces_transferred_bytes_total",
            "counter",
            "Object bytes uploaded or downloaded, each counted once.",
        );
        let _ = writeln!(out, "spaces_transferred_bytes_total {}", self.transferred.load(Ordering::Relaxed));
        let served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        if !served.is_empty() {
            family(
                &mut out,
                "spaces_serve_request_duration_seconds",
                "histogram",
                "Requests answered by the service, to the response head.",
            );
        }
        for ((method, route, class), h) in served.iter() {
            h.render(
                &mut out,
                "spaces_serve_request_duration_seconds",
                &format!("method=\"{method}\",route=\"{route}\",status=\"{class}\""),
            );
        }
        drop(served);
        let circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        family(
            &mut out,
            "spaces_circuit_state",
            "gauge",
            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
        );
        for (authority, (state, _)) in circuits.iter() {
            let _ = writeln!(out, "spaces_circuit_state{{authority=\"{authority}\"}} {state}");
        }
        family(&mut out, "spaces_circuit_rejected_total", "counter", "Requests failed fast by an open circuit.");
        for (authority, (_, rejected)) in circuits.iter() {
            let _ = writeln!(out, "spaces_circuit_rejected_total{{authority=\"{authority}\"}} {rejected}");
        }
        out
    }
}

impl Metrics {
    /// The component's operations: counts, retries, bytes and latency by operation and status class.
    fn render_operations(&self, out: &mut String) {
        let ops = self.operations.lock().unwrap_or_else(|e| e.into_inner());
        family(out, "spaces_operations_total", "counter", "S3 operations completed by the component.");
        for ((op, class), s) in ops.iter() {
            let _ = writeln!(out, "spaces_operations_total{{operation=\"{op}\",status=\"{class}\"}} {}", s.count);
        }
        family(out, "spaces_operation_retries_total", "counter", "Attempts beyond the first.");
        for ((op, class), s) in ops.iter() {
            let _ =
                writeln!(out, "spaces_operation_retries_total{{operation=\"{op}\",status=\"{class}\"}} {}", s.retries);
        }
        family(out, "spaces_bytes_sent_total", "counter", "Body bytes sent, retries included.");
        for ((op, class), s) in ops.iter() {
            let _ = writeln!(out, "spaces_bytes_sent_total{{operation=\"{op}\",status=\"{class}\"}} {}", s.bytes_sent);
        }
        family(out, "spaces_bytes_received_total", "counter", "Body bytes announced by responses.");
        for ((op, class), s) in ops.iter() {
            let _ = writeln!(
                out,
                "spaces_bytes_received_total{{operation=\"{op}\",status=\"{class}\"}} {}",
                s.bytes_received
            );
        }
        family(out, "spaces_operation_duration_seconds", "histogram", "Operation latency, retries included.");
        for ((op, class), s) in ops.iter() {
            s.latency.render(
                out,
                "spaces_operation_duration_seconds",
                &format!("operation=\"{op}\",status=\"{class}\""),
            );
        }
        drop(ops);
    }
}

/// The `# HELP` and `# TYPE` lines that open a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_reuse() {
        let m = Metrics::default();
        m.record_operation(&OperationEvent {
            operation: "put-object",
            status: 200,
            attempts: 3,
            bytes_sent: 30,
            bytes_received: 0,
            duration: Duration::from_millis(20),
        });
        m.record_operation(&OperationEvent {
            operation: "get-object",
            status: 404,
            attempts: 1,
            bytes_sent: 0,
            bytes_received: 0,
            duration: Duration::from_millis(2),
        });
        m.record_request("PUT", Some(503), Duration::from_millis(5));
        m.record_request("PUT", Some(200), Duration::from_millis(5));
        m.record_request("GET", None, Duration::from_millis(5));
        m.connection_opened();
        let text = m.render();
        assert!(text.contains("spaces_operations_total{operation=\"put-object\",status=\"2xx\"} 1"), "{text}");
        assert!(text.contains("spaces_operation_retries_total{operation=\"put-object\",status=\"2xx\"} 2"));
        assert!(text.contains("spaces_operations_total{operation=\"get-object\",status=\"4xx\"} 1"));
        assert!(text.contains(
            "spaces_operation_duration_seconds_bucket{operation=\"put-object\",status=\"2xx\",le=\"0.025\"} 1"
        ));
        assert!(text.contains(
            "spaces_operation_duration_seconds_bucket{operation=\"put-object\",status=\"2xx\",le=\"0.01\"} 0"
        ));
        assert!(text.contains("spaces_http_request_duration_seconds_count{method=\"GET\",status=\"error\"} 1"));
        assert!(text.contains("spaces_http_connections_reused_total 2"));
    }
}
