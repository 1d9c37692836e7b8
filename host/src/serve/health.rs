//! Liveness, readiness and metrics. `/readyz` never calls upstream itself: a background probe sends one signed
//! HEAD of the bucket every couple of seconds through the component (and so through the circuit breaker, whose
//! half-open probe it becomes when no traffic flows), and the route answers from the last result in microseconds.

use super::App;
use crate::net::breaker::State;
use crate::runtime::session::Session;
use axum::extract::State as Extract;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_api::bodies::{Alive, Circuit, Ready, ALIVE};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often the probe runs; a result older than three intervals counts as no result.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

struct Check {
    at: Instant,
    outcome: Result<u64, String>,
}

#[derive(Default)]
pub(super) struct Readiness {
    last: RwLock<Option<Check>>,
}

impl Readiness {
    fn store(&self, outcome: Result<u64, String>) {
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(Check { at: Instant::now(), outcome });
    }
}

/// Probes the upstream until the process ends.
pub(super) async fn probe(app: Arc<App>) {
    let mut session: Option<Session> = None;
    loop {
        if session.is_none() {
            match Session::open(&app.runtime, &app.cfg).await {
                Ok(s) => session = Some(s),
                Err(e) => app.readiness.store(Err(e.to_string())),
            }
        }
        if let Some(s) = session.as_mut() {
            let outcome = match tokio::time::timeout(PROBE_TIMEOUT, s.health()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => {
                    // A timed-out call leaves the instance mid-call; start the next probe on a fresh one.
                    session = None;
                    Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs()))
                }
            };
            app.readiness.store(outcome);
            if session.as_ref().is_some_and(|s| !s.reusable()) {
                session = None;
            }
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is alive; \
    no upstream call is made", body = Alive)))]
pub(super) async fn healthz() -> Json<Alive> {
    Json(ALIVE)
}

#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "The upstream answered the last probe and no circuit is open", body = Ready),
    (status = 503, description = "Not ready; the body says why",
     body = Ready, headers(("Retry-After" = u64, description = "Seconds until the next probe")))
))]
pub(super) async fn readyz(Extract(app): Extract<Arc<App>>) -> Response {
    let circuits: Vec<Circuit> = app
        .runtime
        .shared()
        .pool
        .circuit_states()
        .into_iter()
        .map(|(authority, s)| Circuit {
            authority,
            state: match s {
                State::Closed => "closed",
                State::HalfOpen => "half-open",
                State::Open => "open",
            },
        })
        .collect();
    let last = app.readiness.last.read().unwrap_or_else(|e| e.into_inner());
    let (latency, error, age) = match &*last {
        Some(c) => {
            let age = c.at.elapsed();
            let stale = age > PROBE_INTERVAL * 3 + PROBE_TIMEOUT;
            let (latency, error) = match &c.outcome {
                Ok(us) if !stale => (Some(*us as f64 / 1000.0), None),
                Ok(_) => (None, Some("the last successful probe is too old".to_string())),
                Err(e) => (None, Some(e.clone())),
            };
            (latency, error, Some(age.as_millis() as u64))
        }
        None => (None, Some("no probe has completed yet".to_string()), None),
    };
    drop(last);
    let ready = latency.is_some() && circuits.iter().all(|c| c.state != "open");
    let body = Ready { ready, upstream_latency_ms: latency, upstream_error: error, checked_ms_ago: age, circuits };
    if ready {
        return Json(body).into_response();
    }
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(PROBE_INTERVAL.as_secs()));
    response
}

#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus text \
    exposition format", body = String, content_type = "text/plain; version=0.0.4")))]
pub(super) async fn metrics(Extract(app): Extract<Arc<App>>) -> Response {
    let text = app.runtime.shared().metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
