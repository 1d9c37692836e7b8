//! One call authorised, sent and retried: the single place for retries and metrics, for every service the
//! component talks to. What differs between them (S3's SigV4 and XML errors, DigitalOcean's bearer token and JSON
//! errors) is a [`Service`]. An [`Exchange`] is a state machine that never blocks, so a multipart upload can keep
//! several parts in flight side by side; [`execute`] runs one to completion.

use super::http::{self, Attempt, Failure, Payload, Request, Response};
use super::retry::Policy;
use super::target::Target;
use crate::host::metrics::{self, RequestEvent};
use crate::spaces::storage::types::Error;
use crate::wasi::io::poll::Pollable;

/// One request to make: what an exchange signs, sends and retries.
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub method: &'static str,
    pub target: Target,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Payload,
    /// The object the call is about, for error messages.
    pub key: Option<&'a str>,
    /// The caller checks the body's MD5 against the ETag of the answer, so over a transport that shields it
    /// ([`Target::shields_body`]) the body is not signed.
    pub etag_checked: bool,
}

/// How one service authorises requests and explains refusals; the retry loop is the same for all.
pub(crate) trait Service {
    fn retry_policy(&self) -> &Policy;
    /// Authorises one attempt of `call`: adds to `headers` (a signature, a token) and returns the query string to
    /// send. An error is final (no credentials, say).
    fn authorize(&self, call: &Call, headers: &mut Vec<(String, String)>) -> Result<String, Error>;
    /// What a non-2xx answer means: the error, whether another attempt may help, and how many milliseconds the
    /// service asked us to wait first.
    fn refusal(&self, call: &Call, resp: Response) -> Refusal;
}

pub(crate) struct Refusal {
    pub error: Error,
    pub retryable: bool,
    pub wait_ms: Option<u64>,
}

/// A call on its way: between attempts, or with one attempt on the wire.
pub(crate) struct Exchange<'a> {
    call: Call<'a>,
    attempts: u32,
    started_ms: u64,
    started_us: u64,
    state: State,
}

enum State {
    /// The next attempt may start now.
    Ready,
    Sending(Attempt),
    /// Waiting out a backoff until this monotonic time.
    Backoff(u64),
}

/// What became of one attempt.
enum Verdict {
    Done(Result<Response, Error>),
    RetryAt(u64),
}

impl<'a> Exchange<'a> {
    pub(crate) fn new(mut call: Call<'a>) -> Self {
        // Without a length hyper would send a bodiless DELETE or POST chunked, which S3 servers refuse (501).
        if !matches!(call.method, "GET" | "HEAD") {
            call.headers.push(("content-length".into(), call.body.len().to_string()));
        }
        Exchange {
            call,
            attempts: 0,
            started_ms: http::monotonic_ms(),
            started_us: http::monotonic_us(),
            state: State::Ready,
        }
    }

    pub(crate) fn body(&self) -> &Payload {
        &self.call.body
    }

    pub(crate) fn body_len(&self) -> u64 {
        self.call.body.len() as u64
    }

    /// Bytes of the body the current attempt has handed to the host.
    pub(crate) fn body_written(&self) -> u64 {
        match &self.state {
            State::Sending(attempt) => attempt.written(&self.call.body),
            State::Ready | State::Backoff(_) => 0,
        }
    }

    /// What to wait on before [`advance`] can move this exchange further.
    pub(crate) fn pollables(&self) -> Vec<Pollable> {
        match &self.state {
            State::Ready => Vec::new(),
            State::Sending(attempt) => attempt.pollables(),
            State::Backoff(until_ms) => vec![http::alarm_at_ms(*until_ms)],
        }
    }

    fn record(&self, status: u16, received: u64) {
        metrics::record(&RequestEvent {
            operation: self.call.operation.into(),
            method: self.call.method.into(),
            status,
            attempts: self.attempts,
            bytes_sent: self.body_len() * u64::from(self.attempts),
            bytes_received: received,
            duration_us: http::monotonic_us().saturating_sub(self.started_us),
        });
    }
}

/// Authorises, sends and retries one call; returns the first 2xx response. Every call ends in one metrics event.
pub(crate) fn execute(svc: &impl Service, call: Call) -> Result<Response, Error> {
    let mut exchange = Exchange::new(call);
    loop {
        if let Some(outcome) = advance(svc, &mut exchange) {
            return outcome;
        }
        http::wait_any(&exchange.pollables());
    }
}

/// Moves `ex` as far as it goes without blocking; `Some` once it has succeeded or failed for good.
pub(crate) fn advance(svc: &impl Service, ex: &mut Exchange) -> Option<Result<Response, Error>> {
    loop {
        let outcome = match &mut ex.state {
            State::Backoff(until_ms) if http::monotonic_ms() < *until_ms => return None,
            State::Ready | State::Backoff(_) => match start_attempt(svc, ex) {
                Ok(attempt) => {
                    ex.state = State::Sending(attempt);
                    continue;
                }
                Err(Ok(failure)) => Err(failure),
                Err(Err(error)) => return Some(Err(error)),
            },
            State::Sending(attempt) => attempt.advance(&ex.call.body)?,
        };
        match judge(svc, ex, outcome) {
            Verdict::Done(result) => return Some(result),
            Verdict::RetryAt(until_ms) => ex.state = State::Backoff(until_ms),
        }
    }
}

/// Authorises and starts the next attempt. The inner error is final (no credentials); a failure may be retried.
fn start_attempt(svc: &impl Service, ex: &mut Exchange) -> Result<Attempt, Result<Failure, Error>> {
    ex.attempts += 1;
    let mut headers = ex.call.headers.clone();
    let query = svc.authorize(&ex.call, &mut headers).map_err(Err)?;
    let path = &ex.call.target.path;
    let path_and_query = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
    http::start(&Request {
        method: ex.call.method,
        scheme: ex.call.target.scheme,
        authority: &ex.call.target.host,
        path_and_query: &path_and_query,
        headers: &headers,
    })
    .map_err(Ok)
}

/// Turns an attempt's outcome into a result, or into the time of the next attempt.
fn judge(svc: &impl Service, ex: &Exchange, outcome: Result<Response, Failure>) -> Verdict {
    let (error, retry_after_ms, retryable, status) = match outcome {
        Ok(resp) if (200..300).contains(&resp.status) => {
            let length = resp.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            ex.record(resp.status, length);
            return Verdict::Done(Ok(resp));
        }
        Ok(resp) => {
            let status = resp.status;
            let r = svc.refusal(&ex.call, resp);
            (r.error, r.wait_ms, r.retryable, status)
        }
        Err(Failure::Transient { timeout, detail }) => {
            let error = if timeout { Error::Timeout(detail) } else { Error::Transport(detail) };
            (error, None, true, 0)
        }
        Err(Failure::CircuitOpen(m)) => (Error::CircuitOpen(m), None, false, 0),
        Err(Failure::Denied(m)) | Err(Failure::Fatal(m)) => (Error::Transport(m), None, false, 0),
    };
    let now = http::monotonic_ms();
    let elapsed = now.saturating_sub(ex.started_ms);
    let delay = if retryable {
        svc.retry_policy().next_delay(ex.attempts, elapsed, retry_after_ms, http::random_u64())
    } else {
        None
    };
    if let Some(ms) = delay {
        return Verdict::RetryAt(now + ms);
    }
    ex.record(status, 0);
    let attempts = ex.attempts;
    Verdict::Done(Err(match error {
        Error::Transport(m) if retryable => Error::Transport(format!("{m} (after {attempts} attempts)")),
        Error::Timeout(m) if retryable => Error::Timeout(format!("{m} (after {attempts} attempts)")),
        other => other,
    }))
}
