//! The only module that touches the network: one HTTP exchange over `wasi:http/outgoing-handler`, plus the
//! clock, sleep and randomness the retry loop needs. Everything above it works on plain values.

use crate::wasi::clocks::{monotonic_clock, wall_clock};
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingBody, IncomingResponse, InputStream, Method, OutgoingBody,
    OutgoingRequest, OutputStream, Scheme,
};
use crate::wasi::io::poll::{self, Pollable};
use crate::wasi::io::streams::StreamError;

/// Largest chunk moved per stream call; wasmtime accepts 1 MiB per outgoing-body write.
const CHUNK: u64 = 1 << 20;

/// A request ready to send: every header already signed. The body is handed to [`Attempt::advance`].
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub scheme: &'a str,
    pub authority: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a [(String, String)],
}

/// A request body as the chunks it was read in, so that a part is never copied into one big buffer.
#[derive(Default)]
pub(crate) struct Payload {
    chunks: Vec<Vec<u8>>,
    len: usize,
}

impl Payload {
    pub(crate) fn push(&mut self, chunk: Vec<u8>) {
        self.len += chunk.len();
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn chunks(&self) -> &[Vec<u8>] {
        &self.chunks
    }

    /// The bytes from `at` on, at most `max` of them, as far as the chunk that holds `at` reaches; empty at the end.
    pub(crate) fn piece(&self, mut at: usize, max: usize) -> &[u8] {
        for c in &self.chunks {
            if at < c.len() {
                return &c[at..c.len().min(at + max)];
            }
            at -= c.len();
        }
        &[]
    }

    pub(crate) fn into_chunks(self) -> Vec<Vec<u8>> {
        self.chunks
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        let mut p = Payload::default();
        p.push(bytes);
        p
    }
}

/// Why no response arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Worth another attempt: refused, reset, timed out.
    Transient { timeout: bool, detail: String },
    /// The host will not send it (allowlist); retrying cannot help.
    Denied(String),
    /// The host's circuit breaker is open for this endpoint.
    CircuitOpen(String),
    /// Anything else that retrying will not fix (TLS certificate, malformed request).
    Fatal(String),
}

/// One request on the wire. It never blocks: [`Attempt::advance`] writes what the host will take now and checks
/// for the answer, and [`Attempt::pollables`] says what to wait for, so several attempts can run side by side.
pub(crate) struct Attempt {
    // Dropped before `future`: a body's stream and the body itself are children of the request.
    writer: Option<Writer>,
    write_error: Option<String>,
    future: FutureIncomingResponse,
    authority: String,
}

/// The request body being written: the stream must be dropped before the body is finished.
struct Writer {
    out: Option<OutputStream>,
    body: OutgoingBody,
    /// Position of the next byte to write: chunk index and offset within it.
    chunk: usize,
    offset: usize,
    flushing: bool,
}

/// Starts sending `req`; its body follows through [`Attempt::advance`].
pub(crate) fn start(req: &Request) -> Result<Attempt, Failure> {
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
    let out = body.write().map_err(|_| Failure::Fatal("request body stream unavailable".into()))?;
    let future = outgoing_handler::handle(request, None).map_err(|e| classify(&e, req.authority))?;
    Ok(Attempt {
        writer: Some(Writer { out: Some(out), body, chunk: 0, offset: 0, flushing: false }),
        write_error: None,
        future,
        authority: req.authority.to_string(),
    })
}

impl Attempt {
    /// Writes as much of `body` as the host accepts without waiting (finishing it after the last byte), then
    /// returns the answer if it has arrived. `body` must be the same bytes on every call.
    pub(crate) fn advance(&mut self, body: &Payload) -> Option<Result<Response, Failure>> {
        if let Some(w) = &mut self.writer {
            match w.pump(body) {
                Ok(false) => {}
                Ok(true) => {
                    let w = self.writer.take().expect("checked above");
                    if let Err(e) = OutgoingBody::finish(w.body, None) {
                        self.write_error = Some(format!("finishing request body: {e:?}"));
                    }
                }
                Err(e) => {
                    self.write_error = Some(e);
                    self.writer = None;
                }
            }
        }
        // The outcome explains more than a broken body write does: a server may answer before reading the whole
        // body (an early 403), and a host that refuses a request (allowlist, open circuit, interrupt) closes the
        // body stream as it says why. A write that broke with no reason given is a transient failure.
        match (self.future.get()?, self.write_error.take()) {
            (Ok(Ok(response)), _) => Some(Ok(Response::new(response))),
            (Ok(Err(code)), _) => Some(Err(classify(&code, &self.authority))),
            (Err(()), Some(detail)) => Some(Err(Failure::Transient { timeout: false, detail })),
            (Err(()), None) => Some(Err(Failure::Fatal("response future misbehaved".into()))),
        }
    }

    /// Bytes of `body` handed to the host so far (all of them once the body is finished).
    pub(crate) fn written(&self, body: &Payload) -> u64 {
        match &self.writer {
            Some(w) => {
                body.chunks()[..w.chunk.min(body.chunks().len())].iter().map(|c| c.len() as u64).sum::<u64>()
                    + w.offset as u64
            }
            None => body.len() as u64,
        }
    }

    /// What to wait on before `advance` can do more: room in the body stream, or the answer.
    pub(crate) fn pollables(&self) -> Vec<Pollable> {
        let mut list = vec![self.future.subscribe()];
        if let Some(out) = self.writer.as_ref().and_then(|w| w.out.as_ref()) {
            list.push(out.subscribe());
        }
        list
    }
}

impl Writer {
    /// True once every byte is written and flushed.
    fn pump(&mut self, body: &Payload) -> Result<bool, String> {
        let Some(out) = &self.out else { return Ok(true) };
        while let Some(data) = body.chunks().get(self.chunk) {
            if self.offset == data.len() {
                self.chunk += 1;
                self.offset = 0;
                continue;
            }
            let permit = out.check_write().map_err(stream_error)?;
            if permit == 0 {
                return Ok(false);
            }
            let n = permit.min(CHUNK).min((data.len() - self.offset) as u64) as usize;
            out.write(&data[self.offset..self.offset + n]).map_err(stream_error)?;
            self.offset += n;
        }
        if !self.flushing {
            out.flush().map_err(stream_error)?;
            self.flushing = true;
        }
        // A flush is complete when the stream accepts writes again.
        if out.check_write().map_err(stream_error)? == 0 {
            return Ok(false);
        }
        self.out = None;
        Ok(true)
    }
}

/// Writes all of `bytes` into `sink`, waiting whenever it is full.
pub(crate) fn write_all(sink: &OutputStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        let permit = sink.check_write().map_err(stream_error)?;
        if permit == 0 {
            sink.subscribe().block();
            continue;
        }
        let n = permit.min(bytes.len() as u64) as usize;
        sink.write(&bytes[..n]).map_err(stream_error)?;
        bytes = &bytes[n..];
    }
    Ok(())
}

/// Blocks until at least one of `pollables` is ready.
pub(crate) fn wait_any(pollables: &[Pollable]) {
    if !pollables.is_empty() {
        let refs: Vec<&Pollable> = pollables.iter().collect();
        poll::poll(&refs);
    }
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
        ErrorCode::TlsCertificateError => Failure::Fatal(format!(
            "{authority} presented a TLS certificate that is not trusted, or not for that name: the host running the \
             component must trust its CA (spaces: --ca-bundle FILE or AWS_CA_BUNDLE), or the endpoint's name is wrong"
        )),
        ErrorCode::InternalError(Some(m)) if m.starts_with("circuit-open") => {
            Failure::CircuitOpen(format!("{authority} {}", m.trim_start_matches("circuit-open:").trim()))
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
pub(crate) struct Response {
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

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Reads the whole body, refusing more than `limit` bytes (XML answers are small; a huge one is a fault).
    pub(crate) fn read_body(self, limit: usize) -> Result<Vec<u8>, String> {
        self.into_body()?.read_to_end(limit)
    }

    pub(crate) fn into_body(self) -> Result<Body, String> {
        let body = self.inner.consume().map_err(|_| "response body already taken".to_string())?;
        let stream = body.stream().map_err(|_| "response body stream unavailable".to_string())?;
        Ok(Body { stream: Some(stream), body: Some(body), _response: self.inner })
    }
}

/// A response body being read. The stream is a child of the body and the body of the response, so `Drop`
/// releases them in that order and finishes the body, which lets the host reuse the connection.
pub(crate) struct Body {
    stream: Option<InputStream>,
    body: Option<IncomingBody>,
    _response: IncomingResponse,
}

impl Body {
    fn stream(&self) -> &InputStream {
        self.stream.as_ref().expect("the stream lives until drop")
    }

    /// Reads the rest of the body into memory, refusing more than `limit` bytes.
    pub(crate) fn read_to_end(&self, limit: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk()? {
            out.extend_from_slice(&chunk);
            if out.len() > limit {
                return Err(format!("response body exceeds {limit} bytes"));
            }
        }
        Ok(out)
    }

    /// The next bytes of the body, waiting for them; `None` at its end.
    pub(crate) fn next_chunk(&self) -> Result<Option<Vec<u8>>, String> {
        match self.stream().blocking_read(CHUNK) {
            Ok(chunk) => Ok(Some(chunk)),
            Err(StreamError::Closed) => Ok(None),
            Err(e) => Err(format!("reading response body: {}", stream_error(e))),
        }
    }

    /// Moves the rest of the body into `sink` on the host side, never through component memory, telling
    /// `moved` about every chunk. Returns how it ended.
    pub(crate) fn splice_into(&mut self, sink: &OutputStream, moved: &mut dyn FnMut(u64)) -> SpliceEnd {
        loop {
            match sink.blocking_splice(self.stream(), CHUNK) {
                Ok(n) => moved(n),
                // Closed is the source's end — or a destination that closed: told apart as failures are.
                Err(StreamError::Closed) => {
                    return match sink.check_write() {
                        Ok(_) => SpliceEnd::Done,
                        Err(_) => SpliceEnd::SinkBroke("the destination closed".into()),
                    }
                }
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
pub(crate) enum SpliceEnd {
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
pub(crate) fn unix_now() -> u64 {
    wall_clock::now().seconds
}

/// Monotonic time in milliseconds.
pub(crate) fn monotonic_ms() -> u64 {
    monotonic_clock::now() / 1_000_000
}

/// Monotonic time in microseconds.
pub(crate) fn monotonic_us() -> u64 {
    monotonic_clock::now() / 1_000
}

/// Ready once the monotonic clock reaches `ms`.
pub(crate) fn alarm_at_ms(ms: u64) -> Pollable {
    monotonic_clock::subscribe_instant(ms * 1_000_000)
}

pub(crate) fn random_u64() -> u64 {
    crate::wasi::random::random::get_random_u64()
}
