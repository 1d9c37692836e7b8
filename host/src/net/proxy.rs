//! Reaching HTTPS upstreams through a company proxy: `HTTPS_PROXY` (or `ALL_PROXY`) names an HTTP proxy that
//! the connection is tunnelled through with CONNECT, and `NO_PROXY` lists the hosts reached directly — the same
//! variables, lower case too, that curl, aws-cli and rclone read. TLS runs end to end through the tunnel, so the
//! proxy sees only the host name. Plain `http://` upstreams are always reached directly.

use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tower_service::Service;

/// Connects directly, or through a CONNECT tunnel when the environment names a proxy for the destination.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    matcher: Arc<Matcher>,
}

impl ProxyConnector {
    /// `direct` for everything the environment's proxy settings leave alone.
    pub(crate) fn from_env(direct: HttpConnector) -> Self {
        ProxyConnector { direct, matcher: Arc::new(Matcher::from_env()) }
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<TokioIo<TcpStream>, BoxError>> + Send>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<http::Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let https = dst.scheme() == Some(&http::uri::Scheme::HTTPS);
        match self.matcher.intercept(&dst).filter(|_| https) {
            Some(proxy) => {
                tracing::debug!(proxy = %proxy.uri(), host = ?dst.host(), "tunnelling through the proxy");
                let mut tunnel = Tunnel::new(proxy.uri().clone(), self.direct.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.call(dst).await.map_err(Into::into) })
            }
            None => {
                let connecting = self.direct.call(dst);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
        }
    }
}
