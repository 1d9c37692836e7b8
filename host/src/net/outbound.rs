//! Outbound HTTP for the component: our `WasiHttpHooks::send_request`. wasmtime's default opens a new TCP+TLS
//! connection per request; this keeps a pooled hyper client (keep-alive per authority, rustls with webpki roots),
//! refuses authorities outside the allowlist, fails fast while an authority's circuit breaker is open, applies
//! connect / first-byte / between-bytes timeouts, and counts every request and new connection in the metrics.

use super::allowlist::Allowlist;
use super::breaker::{Breakers, State};
use super::metrics::Metrics;
use super::proxy::{Proxies, ProxyConnector};
use crate::runtime::interrupt::Interrupt;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use wasmtime_wasi_http::{Error, RequestOptions, WasiHttpHooks};

type WasiBody = wasmtime_wasi_http::WasiBody;

/// The TLS roots every upstream connection trusts: the bundled webpki roots, the platform's store (which honours
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`), as aws-cli and rclone trust, and the certificates of `ca_bundle` (PEM), for
/// a private CA. A bundle that cannot be read, or holds no certificate, is the user's to fix.
pub(crate) fn tls_config(ca_bundle: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        // The platform store may hold certificates rustls cannot use; the others still count.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_bundle {
        let shown = path.display();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("cannot read the CA bundle {shown}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("the CA bundle {shown} holds no PEM certificate"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| format!("a certificate in {shown} is not usable: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Timeouts applied when the component does not set its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
    pub pool_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            between_bytes: Duration::from_secs(60),
            pool_idle: Duration::from_secs(90),
        }
    }
}

/// Counts connections the pool opens; requests minus these are reuses.
#[derive(Clone)]
struct CountingConnector<C> {
    inner: C,
    opened: Arc<AtomicU64>,
}

impl<C: tower_service::Service<http::Uri>> tower_service::Service<http::Uri> for CountingConnector<C> {
    type Response = C::Response;
    type Error = C::Error;
    type Future = C::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        self.opened.fetch_add(1, Ordering::Relaxed);
        self.inner.call(uri)
    }
}

type Connector = CountingConnector<hyper_rustls::HttpsConnector<ProxyConnector>>;

/// The process-wide pool: one per runtime, shared by every component instance.
pub(crate) struct HttpPool {
    client: Client<Connector, WasiBody>,
    allowlist: Allowlist,
    breakers: Breakers,
    timeouts: Timeouts,
    metrics: Arc<Metrics>,
    opened: Arc<AtomicU64>,
    proxies: Proxies,
}

impl HttpPool {
    pub(crate) fn new(
        allowlist: Allowlist,
        timeouts: Timeouts,
        breaker: super::breaker::Settings,
        tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let proxies = Proxies::from_env();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeouts.connect));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(http, proxies.clone()));
        let opened = Arc::new(AtomicU64::new(0));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(timeouts.pool_idle)
            .pool_max_idle_per_host(64)
            .build(CountingConnector { inner: https, opened: Arc::clone(&opened) });
        let breakers = Breakers::new(breaker);
        Arc::new(HttpPool { client, allowlist, breakers, timeouts, metrics, opened, proxies })
    }

    /// The circuit breaker's state per upstream that has failed since its last success.
    pub(crate) fn circuit_states(&self) -> Vec<(String, super::breaker::State)> {
        self.breakers.states()
    }

    async fn send(
        self: Arc<Self>,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        call: u64,
    ) -> Result<http::Response<WasiBody>, Error> {
        let https = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        let authority = request.uri().authority().map(|a| a.to_string()).unwrap_or_default();
        if !self.allowlist.allows(https, &authority) {
            self.metrics.request_refused();
            tracing::warn!(%authority, "outbound request refused: not in the allowlist");
            return Err(Error::HttpRequestDenied);
        }
        if let Err(refusal) = self.breakers.admit(&authority, Instant::now()) {
            self.metrics.circuit_rejected(&authority);
            return Err(Error::InternalError(Some(format!(
                "circuit-open: {} different requests failed in a row; the next attempt goes out in {} s",
                refusal.failures,
                refusal.retry_after.as_secs().max(1)
            ))));
        }
        let first_byte = options.and_then(|o| o.first_byte_timeout).unwrap_or(self.timeouts.first_byte);
        let between_bytes = options.and_then(|o| o.between_bytes_timeout).unwrap_or(self.timeouts.between_bytes);
        if let Some(credentials) = self.proxies.authorization(request.uri()) {
            request.headers_mut().insert(http::header::PROXY_AUTHORIZATION, credentials);
        }
        let method = request.method().to_string();
        let before = self.opened.load(Ordering::Relaxed);
        let started = Instant::now();
        let result = self.answer(request, first_byte, between_bytes).await;
        for _ in before..self.opened.load(Ordering::Relaxed) {
            self.metrics.connection_opened();
        }
        // No answer, or an answer saying the service is down, counts against the endpoint; anything else means
        // it is up (a 404 is a healthy server's answer).
        // A 503 is S3 asking us to slow down: the component backs off and retries, and an open circuit would turn a
        // burst of throttling in a batch into files failed at once.
        let up = matches!(&result, Ok(Ok(r)) if !matches!(r.status().as_u16(), 500 | 502 | 504));
        let state = self.breakers.record(&authority, up, call, Instant::now());
        self.metrics.circuit_state(&authority, state as u8);
        if state == State::Open && !up {
            tracing::info!(%authority, "circuit open: failing fast until a probe succeeds");
        }
        let response = match result {
            Err(timeout) => {
                self.metrics.record_request(&method, None, started.elapsed());
                return Err(timeout);
            }
            Ok(Err(e)) => {
                self.metrics.record_request(&method, None, started.elapsed());
                tracing::debug!(%authority, error = ?e, "upstream request failed");
                return Err(classify(&e));
            }
            Ok(Ok(r)) => r,
        };
        self.metrics.record_request(&method, Some(response.status().as_u16()), started.elapsed());
        Ok(response.map(|incoming| IdleTimeoutBody::new(incoming, between_bytes).boxed_unsync()))
    }
}

impl HttpPool {
    /// Sends `request` and waits for the response head. While the body is going out the deadline is
    /// `between_bytes` after the last chunk the connection took (a server that stopped reading); once all of it is
    /// sent, `first_byte` for the answer. So a large upload over a slow link never runs into the first-byte limit.
    async fn answer(
        &self,
        request: http::Request<WasiBody>,
        first_byte: Duration,
        between_bytes: Duration,
    ) -> Result<Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>, Error> {
        let (progress, mut sent) = watch::channel(false);
        let request = request.map(|inner| WatchedBody { inner, progress }.boxed_unsync());
        let response = self.client.request(request);
        tokio::pin!(response);
        loop {
            let done = *sent.borrow();
            tokio::select! {
                r = &mut response => return Ok(r),
                changed = sent.changed() => {
                    if changed.is_err() {
                        // The connection dropped the body (all sent, or given up): only the answer is left.
                        let answer = tokio::time::timeout(first_byte, response).await;
                        return answer.map_err(|_| Error::ConnectionReadTimeout);
                    }
                }
                () = tokio::time::sleep(if done { first_byte } else { between_bytes }) => {
                    return Err(if done { Error::ConnectionReadTimeout } else { Error::ConnectionWriteTimeout });
                }
            }
        }
    }
}

/// A request body that tells [`HttpPool::answer`] about each chunk the connection takes (which restarts its
/// timer) and whether the end has gone out.
struct WatchedBody {
    inner: WasiBody,
    progress: watch::Sender<bool>,
}

impl Body for WatchedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => this.progress.send_modify(|_| {}),
            Poll::Ready(None) => this.progress.send_modify(|done| *done = true),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Maps a pooled-client failure to the wasi:http error the component branches on.
fn classify(e: &hyper_util::client::legacy::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        // A certificate the roots do not vouch for (or one for another name) is final: retrying cannot help.
        if let Some(tls) = tls_error(s) {
            return match tls {
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
                    Error::TlsCertificateError
                }
                _ => Error::TlsProtocolError,
            };
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::TimedOut => Error::ConnectionTimeout,
                std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
                _ if e.is_connect() => Error::ConnectionRefused,
                _ => Error::ConnectionTerminated,
            };
        }
        source = s.source();
    }
    if e.is_connect() {
        Error::ConnectionRefused
    } else {
        Error::ConnectionTerminated
    }
}

/// The TLS error inside `e`, however many I/O errors wrap it (the connector nests them).
fn tls_error<'a>(mut e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        e = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// A response body that fails when no bytes arrive for `idle`.
struct IdleTimeoutBody {
    inner: hyper::body::Incoming,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimeoutBody {
    fn new(inner: hyper::body::Incoming, idle: Duration) -> Self {
        IdleTimeoutBody { inner, idle, timer: Box::pin(tokio::time::sleep(idle)) }
    }
}

impl Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer.as_mut().reset(tokio::time::Instant::now() + this.idle);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Numbers the stores, so each call has an id of its own for the circuit breakers.
static STORES: AtomicU64 = AtomicU64::new(0);

/// The per-store hooks object: a handle on the shared pool, the store's interrupt, and which call of which
/// store its requests belong to (the breakers count a call's retries and parts once).
pub(crate) struct Outbound {
    pub pool: Arc<HttpPool>,
    pub interrupt: Interrupt,
    call: u64,
}

impl Outbound {
    /// The hooks of a new store.
    pub(crate) fn new(pool: Arc<HttpPool>, interrupt: Interrupt) -> Self {
        Outbound { pool, interrupt, call: STORES.fetch_add(1, Ordering::Relaxed) << 32 }
    }

    /// The store's next component call begins: its requests are another call's.
    pub(crate) fn next_call(&mut self) {
        self.call = (self.call & !0xffff_ffff) | ((self.call + 1) & 0xffff_ffff);
    }
}

type SendFuture = Box<
    dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>>
        + Send,
>;

impl WasiHttpHooks for Outbound {
    /// Bytes a request body buffers on the host per write (two writes fit). A multipart upload keeps several
    /// bodies open at once, so wasmtime's 1 MiB default would cost memory without sending any faster; 128 KiB
    /// sends a 1 GiB upload as fast and with the same CPU as 256 KiB, and holds ~1.5 MiB less at four parts.
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        128 << 10
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let pool = Arc::clone(&self.pool);
        let interrupted = self.interrupt.next();
        let call = self.call;
        Box::new(async move {
            let response = tokio::select! {
                r = pool.send(request, options, call) => r?,
                () = interrupted => return Err(Error::InternalError(Some("interrupted".into()))),
            };
            // The pool drives its connections itself; there is no per-request connection task to hand back.
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}
