//! Reaching upstreams through a company proxy, with the variables (lower case too) that curl, aws-cli and rclone
//! read: `HTTPS_PROXY` names the HTTP proxy an `https://` upstream is tunnelled through with CONNECT — TLS runs end
//! to end, so the proxy sees only the host name — and `HTTP_PROXY` the one a plain `http://` request is sent to
//! whole, in absolute form, as HTTP proxies expect; `ALL_PROXY` stands for either, and `NO_PROXY` lists the hosts
//! reached directly. Credentials in a proxy's URL go in `Proxy-Authorization`, on the CONNECT or on each request.

use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tower_service::Service;

/// The environment's proxy settings, read once.
#[derive(Clone)]
pub(crate) struct Proxies(Arc<Matcher>);

impl Proxies {
    pub(crate) fn from_env() -> Self {
        Proxies(Arc::new(Matcher::from_env()))
    }

    /// The `Proxy-Authorization` a plain-HTTP request to `uri` carries: the credentials of the proxy it goes
    /// through, if any. (A tunnel's credentials go on its CONNECT instead.)
    pub(crate) fn authorization(&self, uri: &http::Uri) -> Option<http::HeaderValue> {
        let plain = uri.scheme() == Some(&http::uri::Scheme::HTTP);
        self.0.intercept(uri).filter(|_| plain)?.basic_auth().cloned()
    }
}

/// Connects directly, to the proxy itself for a plain-HTTP destination it covers, or through a CONNECT tunnel for
/// an HTTPS one.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    proxies: Proxies,
}

impl ProxyConnector {
    /// `direct` for everything `proxies` leave alone.
    pub(crate) fn new(direct: HttpConnector, proxies: Proxies) -> Self {
        ProxyConnector { direct, proxies }
    }
}

/// A connection to an upstream, or to the HTTP proxy that forwards to it (then hyper writes absolute-form
/// request targets on it).
pub(crate) struct Upstream {
    io: TokioIo<TcpStream>,
    via_proxy: bool,
}

impl Connection for Upstream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.via_proxy)
    }
}

impl hyper::rt::Read for Upstream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

/// Vectored writes are passed on, not left to the trait's defaults: hyper copies every body chunk into one flat
/// buffer for a connection that cannot write vectored, and queues the chunks themselves for one that can.
impl hyper::rt::Write for Upstream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Upstream, BoxError>> + Send>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<http::Uri> for ProxyConnector {
    type Response = Upstream;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        let Some(proxy) = self.proxies.0.intercept(&dst) else {
            let connecting = self.direct.call(dst);
            return Box::pin(async move { Ok(Upstream { io: connecting.await?, via_proxy: false }) });
        };
        tracing::debug!(proxy = %proxy.uri(), host = ?dst.host(), https, "reaching the upstream through the proxy");
        if https {
            let mut tunnel = Tunnel::new(proxy.uri().clone(), self.direct.clone());
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            Box::pin(async move { Ok(Upstream { io: tunnel.call(dst).await?, via_proxy: false }) })
        } else {
            let connecting = self.direct.call(proxy.uri().clone());
            Box::pin(async move { Ok(Upstream { io: connecting.await?, via_proxy: true }) })
        }
    }
}
