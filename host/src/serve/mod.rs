//! `spaces serve`: the storage service an application runs beside itself. A small JSON API under `/v1` (bearer
//! token), health, readiness and metrics, the OpenAPI document and a web console at `/`, on hyper/axum. Every
//! request runs in a component instance of its own (reused once it finished a request cleanly, else new from the
//! shared `InstancePre`); all of them share one pooled HTTP client and its circuit breakers. With no endpoint
//! configured it starts an embedded S3 store and talks to that the same way.

mod admission;
mod auth;
mod bucket_routes;
mod cdn;
mod console;
mod embedded;
mod health;
mod keys_routes;
mod objects;
mod openapi;
mod problem;
mod routes;
mod uploads;

use crate::cli::encryption::{DecryptArgs, EncryptArgs};
use crate::config::Connection;
use crate::error::{Failure, Outcome};
use crate::net::listen;
use crate::runtime::bindings::storage::{Decryption, Encryption};
use crate::runtime::bindings::types::{AddressingStyle, ApiConfig, Config};
use crate::runtime::interrupt::{Interrupt, Link};
use crate::runtime::session::Session;
use crate::runtime::Runtime;
use admission::Admission;
use clap::Args;
use problem::Problem;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Objects up to Spaces' own limit for one object.
const DEFAULT_MAX_UPLOAD: u64 = 5 << 40;

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Service")]
pub(crate) struct ServeArgs {
    /// Address and port to listen on; anything but loopback needs a configured token
    #[arg(long, env = "SPACES_LISTEN", default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// File holding the service token [default: SPACES_TOKEN, else ~/.config/spaces/token, generated if missing]
    #[arg(long, env = "SPACES_TOKEN_FILE", value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Where the embedded store keeps its data when no endpoint is configured [default: ~/.local/share/spaces]
    #[arg(long, env = "SPACES_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Requests served at once (each holds one component instance)
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_in_flight: u32,
    /// Requests that may wait for a slot (each for up to 30 s) before more are turned away with 503
    #[arg(long, default_value_t = 1024)]
    pub max_queued: usize,
    /// Largest request body accepted for an object, in bytes [default: 5 TiB]
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_UPLOAD, hide_default_value = true)]
    pub max_upload: u64,
    /// Seconds a client may send nothing of an upload, or read nothing of a download, before it is cut off
    /// and its slot freed
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub client_stall: u64,
    /// On SIGTERM or Ctrl-C, seconds to let requests in flight finish before uploads are aborted
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Encrypt every object stored through the service, in age format, to RECIPIENT (age1…) or to the recipients in
    /// FILE (repeatable, or comma-separated in the environment)
    #[arg(long = "encrypt-to", env = "SPACES_ENCRYPT_TO", value_delimiter = ',', value_name = "RECIPIENT|FILE")]
    pub encrypt_to: Vec<String>,
    /// Decrypt age-encrypted objects read through the service with the identities in FILE (repeatable; the file
    /// must not be readable by others); other objects are served as they are
    #[arg(long = "identity", env = "SPACES_IDENTITY_FILE", value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    #[command(flatten)]
    pub connections: crate::net::listen::Limits,
}

/// What every request handler shares.
pub(crate) struct App {
    runtime: Arc<Runtime>,
    cfg: Config,
    token: auth::Token,
    /// The token's id, naming the caller in audit lines.
    token_id: String,
    admission: Admission,
    readiness: health::Readiness,
    max_upload: u64,
    client_stall: Duration,
    /// DigitalOcean API settings for the `/v1/cdn` and `/v1/keys` routes.
    api: ApiConfig,
    /// What objects stored through the service are encrypted to, and what decrypts those read.
    encrypt: Option<Encryption>,
    decrypt: Option<Decryption>,
    /// Triggered when the shutdown grace period ends: uploads still running abort themselves.
    hard_stop: Interrupt,
    /// Instances that finished a request cleanly, ready for the next (at most `max_in_flight`).
    idle: std::sync::Mutex<Vec<Session>>,
    max_idle: usize,
}

impl App {
    /// A component instance with an open client: one that finished an earlier request cleanly, else a new one.
    /// (Instantiating and opening costs ~150 µs of CPU, a sizeable share of a small request.)
    async fn session(&self) -> Result<Session, Problem> {
        if let Some(s) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(s);
        }
        Session::open(&self.runtime, &self.cfg).await.map_err(Problem::from)
    }

    /// Hands back an instance whose calls all completed (with a result or a typed error). One that trapped, was
    /// interrupted, or is dropped in the middle of a call (the client went away) is never reused.
    fn recycle(&self, session: Session) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if session.reusable() && idle.len() < self.max_idle {
            idle.push(session);
        }
    }

    /// Runs `call` on an instance of its own once a slot is free, and hands the instance back after.
    async fn with_session<T>(&self, call: impl AsyncFnOnce(&mut Session) -> Outcome<T>) -> Result<T, Problem> {
        let _slot = self.admission.admit().await?;
        let mut session = self.session().await?;
        let outcome = call(&mut session).await;
        self.recycle(session);
        outcome.map_err(Problem::from)
    }

    /// Interrupts `session` when the service stops hard, for as long as the link lives.
    fn link(&self, session: &Session) -> Link {
        let interrupt = session.interrupt();
        if self.hard_stop.triggered() {
            interrupt.trigger();
        }
        interrupt.trigger_on(self.hard_stop.next())
    }

    /// One line per mutating request: never the token, only its id.
    fn audit(&self, op: &str, key: &str, status: u16, bytes: u64) {
        tracing::info!(target: "spaces::audit", op, key, status, bytes, caller = %self.token_id, "audit");
    }
}

/// `bytes` random bytes from the OS, as lower-case hex.
fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("the OS gave no randomness: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn data_dir(args: &ServeArgs) -> Result<PathBuf, String> {
    if let Some(d) = &args.data_dir {
        return Ok(d.clone());
    }
    let base = match std::env::var_os("XDG_DATA_HOME") {
        Some(d) => PathBuf::from(d),
        None => Path::new(&std::env::var_os("HOME").ok_or("no HOME: pass --data-dir")?).join(".local/share"),
    };
    Ok(base.join("spaces"))
}

/// The service token: configured, else (on loopback only) read from or generated into the default file.
fn token(args: &ServeArgs) -> Result<(auth::Token, auth::Origin), Failure> {
    let configured = auth::configured(std::env::var("SPACES_TOKEN").ok(), args.token_file.as_deref());
    match configured.map_err(Failure::usage)? {
        Some(t) => Ok(t),
        None if !args.listen.ip().is_loopback() => Err(Failure::usage(format!(
            "refusing to listen on {} without a configured token: set SPACES_TOKEN or --token-file",
            args.listen
        ))),
        None => {
            let path = auth::default_file().ok_or(Failure::usage("no HOME for the token file: set SPACES_TOKEN"))?;
            auth::load_or_generate(&path).map_err(Failure::host)
        }
    }
}

/// Where the service stores: the configured endpoint, or an embedded store it starts (kept running while the
/// returned handle lives). Also says, for the start-up line, what it is.
async fn backend(
    conn: &Connection,
    args: &ServeArgs,
) -> Result<(Runtime, Config, Option<embedded::Embedded>, String), Failure> {
    let instances = args.max_in_flight + 2;
    if let Some(endpoint) = &conn.endpoint {
        let cfg = conn.storage_config().map_err(Failure::usage)?;
        let backend = format!("{endpoint}, bucket {}", cfg.bucket);
        return Ok((conn.runtime(instances, None)?, cfg, None, backend));
    }
    let dir = data_dir(args).map_err(Failure::usage)?;
    let bucket = conn.bucket.clone().unwrap_or_else(|| "spaces".into());
    let store = embedded::start(&dir, &bucket).await.map_err(Failure::host)?;
    let mut local = conn.clone();
    local.endpoint = Some(store.endpoint.clone());
    let runtime = local.runtime(instances, Some(store.credentials.clone()))?;
    let cfg = Config { addressing: AddressingStyle::Path, ..local.storage_config_for(bucket.clone()) };
    let backend = format!("the embedded store in {} (bucket {bucket})", dir.display());
    Ok((runtime, cfg, Some(store), backend))
}

/// Runs the service until SIGTERM or Ctrl-C, then lets requests in flight finish.
pub(crate) async fn run(conn: &Connection, args: &ServeArgs) -> Result<(), Failure> {
    let (token, origin) = token(args)?;
    let (runtime, mut cfg, embedded, backend) = backend(conn, args).await?;
    // With an API token and no CDN host given, `/v1/url/{key}?cdn=true` uses the host DigitalOcean serves the
    // bucket's CDN from, looked up once here rather than on every request.
    crate::digitalocean::cdn::use_served_host(&runtime, &conn.api_config(None), &mut cfg).await;
    let app = Arc::new(App {
        runtime: Arc::new(runtime),
        cfg,
        token_id: token.id(),
        token,
        admission: Admission::new(args.max_in_flight as usize, args.max_queued, Duration::from_secs(30)),
        readiness: health::Readiness::default(),
        max_upload: args.max_upload,
        client_stall: Duration::from_secs(args.client_stall),
        api: conn.api_config(None),
        encrypt: EncryptArgs::new(args.encrypt_to.clone(), false).encryption()?,
        decrypt: DecryptArgs::new(args.identity.clone(), false).decryption()?,
        hard_stop: Interrupt::default(),
        idle: std::sync::Mutex::default(),
        max_idle: args.max_in_flight as usize,
    });
    // Fail before listening if the component cannot even open this configuration.
    let first = app.session().await.map_err(|p| Failure::usage(p.0.detail))?;
    app.recycle(first);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::caused(format!("cannot listen on {}", args.listen), e))?;
    let local = listener.local_addr().map_err(|e| Failure::caused("the listening socket", e))?;
    eprintln!("spaces: serving http://{local} (API under /v1, docs at /openapi.json), storing in {backend}");
    match origin {
        auth::Origin::Environment => eprintln!("spaces: bearer token from SPACES_TOKEN"),
        auth::Origin::File(p) => eprintln!("spaces: bearer token from {}", p.display()),
        auth::Origin::Generated(p, t) => {
            eprintln!("spaces: generated a bearer token, stored in {} (shown this once):", p.display());
            println!("{t}");
        }
    }
    let probe = tokio::spawn(health::probe(Arc::clone(&app)));
    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    let service = hyper_util::service::TowerToHyperService::new(routes::router(Arc::clone(&app)));
    let server = listen::serve(listener, service, args.connections, async move {
        listen::shutdown_signal().await;
        eprintln!("spaces: stopping; finishing requests in flight");
        let _ = stopping_tx.send(());
    });
    let grace = Duration::from_secs(args.shutdown_grace);
    tokio::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = async move {
            if stopping.await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        } => {
            eprintln!("spaces: grace period over; aborting uploads still running");
            app.hard_stop.trigger();
            // Aborting a multipart upload is one request; give the aborts a moment, then leave.
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
    probe.abort();
    drop(embedded);
    Ok(())
}
