//! The wasmtime side: one engine with the pooling allocator, the component compiled once and cached on disk
//! (keyed by the component's hash and the engine's compatibility hash; entries unused for a month pruned), a
//! linker with standard WASI, wasi:http and our three imports, and an `InstancePre` from which each store
//! instantiates in microseconds.

pub(crate) mod bindings;
pub(crate) mod interrupt;
pub(crate) mod session;
pub(crate) mod streams;

use crate::credentials::{Credentials, Secret};
use crate::net::metrics::{Metrics, OperationEvent};
use crate::net::outbound::{HttpPool, Outbound};
use bindings::spaces::storage::{credentials, metrics as metrics_wit, progress, types};
use bindings::{Client, ClientPre};
use interrupt::Interrupt;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::error::Context;
use wasmtime::Result;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// A component to compile, with the SHA-256 that keys its compiled code in the cache.
pub(crate) struct ComponentBytes {
    bytes: Cow<'static, [u8]>,
    digest: Cow<'static, str>,
}

impl ComponentBytes {
    /// The component built from `guest/` at build time.
    pub(crate) fn library() -> Self {
        Self::embedded(include_bytes!(env!("SPACES_COMPONENT_WASM")), env!("SPACES_COMPONENT_SHA256"))
    }

    /// The edge build of the same guest (a `wasi:http/proxy` component), for `spaces edge`.
    pub(crate) fn edge() -> Self {
        Self::embedded(include_bytes!(env!("SPACES_EDGE_WASM")), env!("SPACES_EDGE_SHA256"))
    }

    /// A built-in component: its digest was computed at build time, so a start that finds the compiled code cached
    /// neither copies nor reads these bytes (a megabyte of the binary left unread, a few milliseconds saved).
    fn embedded(bytes: &'static [u8], digest: &'static str) -> Self {
        ComponentBytes { bytes: Cow::Borrowed(bytes), digest: Cow::Borrowed(digest) }
    }

    /// A component file's bytes.
    pub(crate) fn read(path: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        let digest = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(ComponentBytes { bytes: Cow::Owned(bytes), digest: Cow::Owned(digest) })
    }
}

/// What every store shares: the HTTP pool, the credentials and the metrics registry.
#[derive(Clone)]
pub(crate) struct Shared {
    pub pool: Arc<HttpPool>,
    /// `Err` holds the message the component will pass on when it needs to sign.
    pub credentials: Arc<Result<Credentials, String>>,
    /// The DigitalOcean API token, or what the component should say about its absence.
    pub api_token: Arc<Result<Secret, String>>,
    pub metrics: Arc<Metrics>,
}

/// Told how many more bytes of the current transfer are done.
pub(crate) type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// Told how many paths of a CDN purge have gone out, of how many.
pub(crate) type PurgeFn = Arc<dyn Fn(u32, u32) + Send + Sync>;

/// What the component says about the multipart upload of the transfer it is running.
pub(crate) enum UploadEvent<'a> {
    /// Started or resumed under this id, in parts of this size; `sealing` is what an encrypted upload is resumed
    /// with (a secret, WIT `progress.upload-started`).
    Started { upload_id: &'a str, part_size: u64, sealing: Option<&'a [u8]> },
    /// Completed or aborted: nothing of it remains.
    Ended { upload_id: &'a str },
}

/// Told of each multipart upload as it starts and ends (to record it, so a crash does not lose it).
pub(crate) type UploadWatch = Arc<dyn Fn(UploadEvent) + Send + Sync>;

/// One store's sandbox: WASI with only what `wasi` grants, wasi:http through the shared pool, the resource table,
/// and `state`, what the face running the component keeps beside them. Every component the host runs (the
/// library, an edge proxy) lives in one.
pub(crate) struct Sandbox<T> {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    /// The store's resources (streams, HTTP handles).
    pub table: ResourceTable,
    outbound: Outbound,
    /// The face's own state.
    pub state: T,
}

impl<T> Sandbox<T> {
    /// A sandbox whose outbound requests go through `pool`, failed by `interrupt` when it triggers.
    pub(crate) fn new(wasi: WasiCtx, pool: Arc<HttpPool>, interrupt: Interrupt, state: T) -> Self {
        let outbound = Outbound::new(pool, interrupt);
        Sandbox { wasi, http: WasiHttpCtx::new(), table: ResourceTable::new(), outbound, state }
    }

    /// A component call ended: the store's next requests belong to another call, as the breakers count them.
    pub(crate) fn call_ended(&mut self) {
        self.outbound.next_call();
    }
}

impl<T: Send> WasiView for Sandbox<T> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl<T: Send> WasiHttpView for Sandbox<T> {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// What the library component's host keeps per store: handles on the shared parts and who is watching.
pub(crate) struct ClientState {
    shared: Shared,
    /// Where the component's progress events go, if anyone is watching.
    pub progress: Option<ProgressFn>,
    /// Where the component's purge progress goes, if anyone is watching.
    pub purge_progress: Option<PurgeFn>,
    /// Who hears of multipart uploads starting and ending, if anyone.
    pub uploads: Option<UploadWatch>,
    /// Triggered to fail the running call its own way.
    pub interrupt: Interrupt,
}

/// A store of the library component.
pub(crate) type HostState = Sandbox<ClientState>;

/// The engine every component runs on: with `Some(n)`, the pooling allocator sized for `n` stores at once (a
/// store then instantiates in microseconds); with `None`, memory allocated on demand, without a bound.
pub(crate) fn engine(max_instances: Option<u32>) -> Result<Engine> {
    let Some(max_instances) = max_instances else { return Engine::new(&Config::new()) };
    let mut pooling = PoolingAllocationConfig::default();
    pooling.total_component_instances(max_instances);
    // A component is several core instances (its code plus the shims that wire up its imports).
    pooling.total_core_instances(max_instances * 8);
    pooling.total_memories(max_instances * 2);
    pooling.total_tables(max_instances * 8);
    pooling.max_memory_size(1 << 32);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config)
}

impl types::Host for HostState {}

impl credentials::Host for HostState {
    async fn get(&mut self) -> Result<credentials::Credentials, String> {
        match &*self.state.shared.credentials {
            Ok(c) => Ok(credentials::Credentials {
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.expose().to_string(),
                session_token: c.session_token.as_ref().map(|t| t.expose().to_string()),
            }),
            Err(message) => Err(message.clone()),
        }
    }

    async fn api_token(&mut self) -> Result<String, String> {
        match &*self.state.shared.api_token {
            Ok(t) => Ok(t.expose().to_string()),
            Err(message) => Err(message.clone()),
        }
    }
}

impl metrics_wit::Host for HostState {
    async fn record(&mut self, ev: metrics_wit::RequestEvent) {
        let (operation, method) = (&ev.operation, &ev.method);
        let (status, attempts, duration_us) = (ev.status, ev.attempts, ev.duration_us);
        tracing::debug!(%operation, %method, status, attempts, duration_us, "operation");
        self.state.shared.metrics.record_operation(&OperationEvent {
            operation: &ev.operation,
            status: ev.status,
            attempts: ev.attempts,
            bytes_sent: ev.bytes_sent,
            bytes_received: ev.bytes_received,
            duration: Duration::from_micros(ev.duration_us),
        });
    }
}

impl progress::Host for HostState {
    async fn advanced(&mut self, bytes: u64) {
        self.state.shared.metrics.transferred(bytes);
        if let Some(report) = &self.state.progress {
            report(bytes);
        }
    }

    async fn purged(&mut self, done: u32, total: u32) {
        if let Some(report) = &self.state.purge_progress {
            report(done, total);
        }
    }

    async fn upload_started(&mut self, upload_id: String, part_size: u64, sealing: Option<Vec<u8>>) {
        if let Some(watch) = &self.state.uploads {
            watch(UploadEvent::Started { upload_id: &upload_id, part_size, sealing: sealing.as_deref() });
        }
    }

    async fn upload_ended(&mut self, upload_id: String) {
        if let Some(watch) = &self.state.uploads {
            watch(UploadEvent::Ended { upload_id: &upload_id });
        }
    }
}

pub(crate) struct Runtime {
    engine: Engine,
    pre: ClientPre<HostState>,
    shared: Shared,
}

impl Runtime {
    /// Compiles (or loads from the cache) `component` and links it. `max_instances` bounds concurrent stores.
    pub(crate) fn new(component: &ComponentBytes, shared: Shared, max_instances: u32) -> Result<Self> {
        let engine = engine(Some(max_instances))?;
        let component = load_cached(&engine, component)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        credentials::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        metrics_wit::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        progress::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        types::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
        let pre = ClientPre::new(linker.instantiate_pre(&component)?)?;
        Ok(Runtime { engine, pre, shared })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A fresh store and instance. The component sees no files, environment or sockets: only wasi:http.
    pub(crate) async fn instantiate(&self) -> Result<(Store<HostState>, Client)> {
        let interrupt = Interrupt::default();
        let state =
            ClientState { shared: self.shared.clone(), progress: None, purge_progress: None, uploads: None, interrupt };
        let pool = Arc::clone(&self.shared.pool);
        let state = Sandbox::new(WasiCtx::builder().build(), pool, state.interrupt.clone(), state);
        let mut store = Store::new(&self.engine, state);
        let client = self.pre.instantiate_async(&mut store).await?;
        Ok((store, client))
    }
}

/// Where compiled components are kept: `$SPACES_CACHE_DIR`, else `$XDG_CACHE_HOME/spaces`, else `~/.cache/spaces`.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SPACES_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(Path::new(&d).join("spaces"));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/spaces"))
}

/// Compiles `component` for `engine`, or loads the machine code an earlier run cached for the same bytes and engine.
pub(crate) fn load_cached(engine: &Engine, component: &ComponentBytes) -> Result<Component> {
    let bytes = &component.bytes;
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(component.digest.as_bytes());
    digest.update(engine_hash.finish().to_le_bytes());
    let key: String = digest.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    let Some(dir) = cache_dir() else {
        return Component::new(engine, bytes).context("compiling the component");
    };
    let path = dir.join(format!("component-{key}.cwasm"));
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` of this engine configuration; the key covers the
        // component bytes and the engine's compatibility hash, and wasmtime re-checks the header on load.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => {
                // In use: its age restarts, so pruning (below) takes only entries no run has loaded for a while.
                let _ =
                    std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
                return Ok(c);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable compiled-component cache entry")
            }
        }
    }
    let component = Component::new(engine, bytes).context("compiling the component")?;
    if let Err(e) = write_cache(&dir, &path, &component) {
        tracing::warn!(path = %path.display(), error = %e, "could not cache the compiled component");
    }
    Ok(component)
}

fn write_cache(dir: &Path, path: &Path, component: &Component) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, path)?;
    prune_cache(dir, SystemTime::now());
    Ok(())
}

/// Cache entries no run has loaded for this long are removed when a new one is written.
const CACHE_UNUSED: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Removes the compiled components (and interrupted writes of them) in `dir` unused for [`CACHE_UNUSED`]: every
/// build of spaces, and every `--component` file run, leaves an entry of about 2 MiB that would otherwise stay
/// forever. An entry still wanted by some other installed version is compiled again on its next run.
fn prune_cache(dir: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours =
            name.to_str().is_some_and(|n| n.starts_with("component-") && (n.ends_with(".cwasm") || n.contains(".tmp")));
        let unused = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > CACHE_UNUSED));
        if ours && unused {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
