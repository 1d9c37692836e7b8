//! The only module that touches the network: one HTTP exchange over `wasi:http/outgoing-handler`, plus the
//! clock, sleep and randomness the retry loop needs. Everything above it works on plain values.

use crate::wasi::clocks::{monotonic_clock, wall_clock};
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingResponse, InputStream, Method, OutgoingBody, OutgoingRequest,
    OutputStream, Scheme,
};
use crate::wasi::io::streams::StreamError;

/// Largest chunk moved per stream call; wasmtime accepts 1 MiB per outgoing-body write.
const CHUNK: u64 = 1 << 20;

/// A request ready to send: every header already signed.
pub struct Request<'a> {
    pub method: &'a str,
    pub scheme: &'a str,
    pub authority: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt: refused, reset, timed out.
    Transient { timeout: bool, detail: String },
    /// The host will not send it (allowlist); retrying cannot help.
    Denied(String),
    /// The host's circuit breaker is open for this endpoint.
    CircuitOpen(String),
    /// Anything else that retrying will not fix (TLS certificate, malformed request).
    Fatal(String),
}

/// Sends `req` and waits for the response head.
pub fn send(req: &Request) -> Result<Response, Failure> {
    let fields: Vec<(String, Vec<u8>)> = req.headers.iter().map(|(k, v)| (k.clone(), v.clone().into_bytes())).collect();
    let headers = Fields::from_list(&fields).map_err(|e| Failure::Fatal(format!("invalid request header: {e:?}")))?;
    let request = OutgoingRequest::new(headers);
    let method = match req.method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    let scheme = if req.scheme == "https" { Scheme::Https } else { Scheme::Http };
    let set = request.set_method(&method).is_ok()
        && request.set_scheme(Some(&scheme)).is_ok()
        && request.set_authority(Some(req.authority)).is_ok()
        && request.set_path_with_query(Some(req.path_and_query)).is_ok();
    if !set {
        return Err(Failure::Fatal(format!("the host rejected the request line for {}", req.authority)));
    }
    let body = request.body().map_err(|_| Failure::Fatal("request body unavailable".into()))?;
    let future = outgoing_handler::handle(request, None).map_err(|e| classify(&e, req.authority))?;
    // A server may answer before it has read the whole body (an early 403, or a HEAD that is already done):
    // its answer then explains more than the broken write does.
    let written = write_body(body, req.body);
    future.subscribe().block();
    match (future.get(), written) {
        (Some(Ok(Ok(response))), _) => Ok(Response::new(response)),
        (_, Err(detail)) => Err(Failure::Transient { timeout: false, detail }),
        (Some(Ok(Err(code))), Ok(())) => Err(classify(&code, req.authority)),
        (Some(Err(())) | None, Ok(())) => Err(Failure::Fatal("response future misbehaved".into())),
    }
}

fn write_body(body: OutgoingBody, mut data: &[u8]) -> Result<(), String> {
    if !data.is_empty() {
        let out = body.write().map_err(|_| "request body stream unavailable".to_string())?;
        while !data.is_empty() {
            let permit = out.check_write().map_err(stream_error)?;
            if permit == 0 {
                out.subscribe().block();
                continue;
            }
            let n = permit.min(CHUNK).min(data.len() as u64) as usize;
            out.write(&data[..n]).map_err(stream_error)?;
            data = &data[n..];
        }
        out.blocking_flush().map_err(stream_error)?;
    }
    OutgoingBody::finish(body, None).map_err(|e| format!("finishing request body: {e:?}"))
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "connection closed while sending the body".into(),
        StreamError::LastOperationFailed(err) => err.to_debug_string(),
    }
}

fn classify(code: &ErrorCode, authority: &str) -> Failure {
    let transient = |timeout: bool| Failure::Transient { timeout, detail: format!("{authority}: {code:?}") };
    match code {
        ErrorCode::HttpRequestDenied => Failure::Denied(format!(
            "the host refused to connect to {authority}: it is not in the host's outbound allowlist"
        )),
        ErrorCode::InternalError(Some(m)) if m.starts_with("circuit-open") => {
            Failure::CircuitOpen(format!("{authority}: {m}"))
        }
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => transient(true),
        ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::DestinationUnavailable
        | ErrorCode::HttpProtocolError
        | ErrorCode::HttpResponseIncomplete
        | ErrorCode::DnsError(_) => transient(false),
        other => Failure::Fatal(format!("{authority}: {other:?}")),
    }
}

/// A response whose head has arrived; the body is still on the wire.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    inner: IncomingResponse,
}

impl Response {
    fn new(inner: IncomingResponse) -> Self {
        let headers = inner
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned()))
            .collect();
        Response { status: inner.status(), headers, inner }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Reads the whole body, refusing more than `limit` bytes (XML answers are small; a huge one is a fault).
    pub fn read_body(self, limit: usize) -> Result<Vec<u8>, String> {
        let body = self.into_body()?;
        let mut out = Vec::new();
        loop {
            match body.stream().blocking_read(CHUNK) {
                Ok(chunk) => {
                    out.extend_from_slice(&chunk);
                    if out.len() > limit {
                        return Err(format!("response body exceeds {limit} bytes"));
                    }
                }
                Err(StreamError::Closed) => return Ok(out),
                Err(e) => return Err(format!("reading response body: {}", stream_error(e))),
            }
        }
    }

    pub fn into_body(self) -> Result<Body, String> {
        let body = self.inner.consume().map_err(|_| "response body already taken".to_string())?;
        let stream = body.stream().map_err(|_| "response body stream unavailable".to_string())?;
        Ok(Body { stream: Some(stream), body: Some(body), _response: self.inner })
    }
}

/// A response body being read. The stream is a child of the body and the body of the response, so `Drop`
/// releases them in that order and finishes the body, which lets the host reuse the connection.
pub struct Body {
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    _response: IncomingResponse,
}

impl Body {
    fn stream(&self) -> &InputStream {
        self.stream.as_ref().expect("the stream lives until drop")
    }

    /// Moves the rest of the body into `sink` on the host side, never through component memory. Returns the
    /// bytes moved and how it ended.
    pub fn splice_into(&mut self, sink: &OutputStream, moved: &mut u64) -> SpliceEnd {
        loop {
            match sink.blocking_splice(self.stream(), CHUNK) {
                Ok(n) => *moved += n,
                Err(StreamError::Closed) => return SpliceEnd::Done,
                Err(StreamError::LastOperationFailed(err)) => {
                    // Which side failed? A failed sink stays failed, so if it still accepts writes the response
                    // broke. (wasi:http's `http-error-code` cannot tell: hosts need not attach codes to body errors.)
                    return match sink.check_write() {
                        Ok(_) => SpliceEnd::SourceBroke(err.to_debug_string()),
                        Err(_) => SpliceEnd::SinkBroke(err.to_debug_string()),
                    };
                }
            }
        }
    }
}

/// How moving a body ended.
pub enum SpliceEnd {
    Done,
    /// The connection broke; a ranged request can resume.
    SourceBroke(String),
    /// The destination refused bytes; retrying cannot help.
    SinkBroke(String),
}

impl Drop for Body {
    fn drop(&mut self) {
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            drop(IncomingBody::finish(body));
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    wall_clock::now().seconds
}

/// Monotonic time in milliseconds.
pub fn monotonic_ms() -> u64 {
    monotonic_clock::now() / 1_000_000
}

/// Monotonic time in microseconds.
pub fn monotonic_us() -> u64 {
    monotonic_clock::now() / 1_000
}

pub fn sleep_ms(ms: u64) {
    if ms > 0 {
        monotonic_clock::subscribe_duration(ms * 1_000_000).block();
    }
}

pub fn random_u64() -> u64 {
    crate::wasi::random::random::get_random_u64()
}
