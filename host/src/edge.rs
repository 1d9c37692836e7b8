//! `spaces edge`: runs a `wasi:http/proxy` component as a local HTTP server, the way an edge platform would — by
//! default the edge build of spaces embedded in this binary, or any proxy component given with `--component`.
//! Every request gets a fresh instance from one `ProxyPre`. The component's environment is its configuration:
//! this command's endpoint, region, bucket, addressing, CDN host, credentials and `SPACES_TOKEN`, and nothing else.
//! Its outbound requests go through the same pooled HTTP client, allowlist and circuit breakers as the CLI's.

use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::net::listen;
use crate::net::metrics::Metrics;
use crate::net::outbound::HttpPool;
use crate::runtime::interrupt::Interrupt;
use crate::runtime::{engine, load_cached, ComponentBytes, Sandbox};
use clap::Args;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::sync::Arc;
use wasmtime::component::Linker;
use wasmtime::Store;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

/// One request's store: WASI with the environment and stderr only.
type EdgeState = Sandbox<()>;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Edge")]
pub(crate) struct EdgeArgs {
    /// Address and port to listen on
    #[arg(long, env = "SPACES_EDGE_LISTEN", default_value = "127.0.0.1:7071")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub connections: listen::Limits,
}

struct Edge {
    pre: ProxyPre<EdgeState>,
    env: Vec<(String, String)>,
    pool: Arc<HttpPool>,
}

/// The component's environment, from this command's configuration.
fn environment(conn: &Connection) -> Outcome<Vec<(String, String)>> {
    let bucket =
        conn.bucket.clone().ok_or_else(|| Failure::usage("no bucket: pass --bucket NAME or set SPACES_BUCKET"))?;
    let creds = conn.credentials().map_err(Failure::usage)?;
    let mut env = vec![
        ("SPACES_BUCKET".to_string(), bucket),
        ("SPACES_REGION".to_string(), conn.region.clone()),
        ("SPACES_ACCESS_KEY_ID".to_string(), creds.access_key_id.clone()),
        ("SPACES_SECRET_ACCESS_KEY".to_string(), creds.secret_access_key.expose().to_string()),
    ];
    let optional = [
        ("SPACES_ENDPOINT", conn.endpoint.clone()),
        ("SPACES_CDN_HOST", conn.cdn_host.clone()),
        ("SPACES_PATH_STYLE", conn.path_style.then(|| "1".to_string())),
        ("SPACES_SESSION_TOKEN", creds.session_token.as_ref().map(|t| t.expose().to_string())),
        ("SPACES_TOKEN", std::env::var("SPACES_TOKEN").ok()),
    ];
    env.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))));
    Ok(env)
}

/// Serves until SIGTERM or Ctrl-C.
pub(crate) async fn run(conn: &Connection, args: &EdgeArgs) -> Outcome<()> {
    let env = environment(conn)?;
    if !env.iter().any(|(k, _)| k == "SPACES_TOKEN") {
        eprintln!("spaces: SPACES_TOKEN is not set: the edge component will refuse every /v1 request");
    }
    let bytes = match &conn.component {
        Some(path) => {
            ComponentBytes::read(path).map_err(|e| Failure::usage(format!("reading {}: {e}", path.display())))?
        }
        None => ComponentBytes::edge(),
    };
    let engine = engine(None)?;
    let component = load_cached(&engine, &bytes).map_err(|e| Failure::host(format!("loading the component: {e:#}")))?;
    let mut linker: Linker<EdgeState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Failure::from)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Failure::from)?;
    let pre = linker
        .instantiate_pre(&component)
        .and_then(ProxyPre::new)
        .map_err(|e| Failure::usage(format!("not a wasi:http/proxy component: {e:#}")))?;
    let pool = conn.pool(&Arc::new(Metrics::default()))?;
    let edge = Arc::new(Edge { pre, env, pool });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::caused(format!("cannot listen on {}", args.listen), e))?;
    let local = listener.local_addr().map_err(|e| Failure::caused("the listening socket", e))?;
    eprintln!("spaces: serving http://{local} with a wasi:http/proxy component (one instance per request)");
    let service = hyper::service::service_fn(move |req| {
        let edge = Arc::clone(&edge);
        async move { Ok::<_, std::convert::Infallible>(edge.handle(req).await.unwrap_or_else(failed)) }
    });
    listen::serve(listener, service, args.connections, listen::shutdown_signal()).await;
    Ok(())
}

/// The answer when the component trapped or sent no response: 500, and the reason in the log, not the body.
fn failed(e: wasmtime::Error) -> hyper::Response<HyperOutgoingBody> {
    tracing::warn!(error = %format!("{e:#}"), "the edge component failed a request");
    let body = http_body_util::Full::new(bytes::Bytes::from_static(b"the component failed this request\n"))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = hyper::Response::new(body);
    *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

impl Edge {
    /// Runs one request through a fresh instance; the response streams back while the instance keeps writing.
    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> wasmtime::Result<hyper::Response<HyperOutgoingBody>> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr();
        for (k, v) in &self.env {
            wasi.env(k, v);
        }
        let state = EdgeState::new(wasi.build(), Arc::clone(&self.pool), Interrupt::default(), ());
        let mut store = Store::new(self.pre.engine(), state);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(store, req, out).await
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let e = match task.await {
                    Ok(Ok(())) => wasmtime::format_err!("the component sent no response"),
                    Ok(Err(e)) => e,
                    Err(e) => e.into(),
                };
                Err(e.context("the component sent no response"))
            }
        }
    }
}
