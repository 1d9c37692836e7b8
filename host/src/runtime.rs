//! The wasmtime side: one engine with the pooling allocator, the component compiled once and cached on disk
//! (keyed by the component's hash and the engine's compatibility hash), a linker with standard WASI, wasi:http
//! and our three imports, and an `InstancePre` from which each store instantiates in microseconds.

use crate::bindings::spaces::storage::{credentials, metrics as metrics_wit, progress, types};
use crate::bindings::{Client, ClientPre};
use crate::credentials::{Credentials, Secret};
use crate::interrupt::Interrupt;
use crate::metrics::{Metrics, OperationEvent};
use crate::outbound::{HttpPool, Outbound};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::error::Context;
use wasmtime::Result;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The component built from `guest/` at build time.
pub static EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("SPACES_COMPONENT_WASM"));

/// The edge build of the same guest (a `wasi:http/proxy` component), for `spaces edge`.
pub static EDGE_COMPONENT: &[u8] = include_bytes!(env!("SPACES_EDGE_WASM"));

/// What every store shares: the HTTP pool, the credentials and the metrics registry.
#[derive(Clone)]
pub struct Shared {
    pub pool: Arc<HttpPool>,
    /// `Err` holds the message the component will pass on when it needs to sign.
    pub credentials: Arc<Result<Credentials, String>>,
    /// The DigitalOcean API token, or what the component should say about its absence.
    pub api_token: Arc<Result<Secret, String>>,
    pub metrics: Arc<Metrics>,
}

/// Told how many more bytes of the current transfer are done.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

/// Told how many paths of a CDN purge have gone out, of how many.
pub type PurgeFn = Arc<dyn Fn(u32, u32) + Send + Sync>;

/// One store's state: WASI contexts, its resource table, and handles on the shared parts.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub table: ResourceTable,
    outbound: Outbound,
    shared: Shared,
    /// Where the component's progress events go, if anyone is watching.
    pub progress: Option<ProgressFn>,
    /// Where the component's purge progress goes, if anyone is watching.
    pub purge_progress: Option<PurgeFn>,
    pub interrupt: Interrupt,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

impl types::Host for HostState {}

impl credentials::Host for HostState {
    async fn get(&mut self) -> Result<credentials::Credentials, String> {
        match &*self.shared.credentials {
            Ok(c) => Ok(credentials::Credentials {
                access_key_id: c.access_key_id.clone(),
                secret_access_key: c.secret_access_key.expose().to_string(),
                session_token: c.session_token.as_ref().map(|t| t.expose().to_string()),
            }),
            Err(message) => Err(message.clone()),
        }
    }

    async fn api_token(&mut self) -> Result<String, String> {
        match &*self.shared.api_token {
            Ok(t) => Ok(t.expose().to_string()),
            Err(message) => Err(message.clone()),
        }
    }
}

impl metrics_wit::Host for HostState {
    async fn record(&mut self, ev: metrics_wit::RequestEvent) {
        tracing::debug!(operation = %ev.operation, method = %ev.method, status = ev.status, attempts = ev.attempts, duration_us = ev.duration_us, "operation");
        self.shared.metrics.record_operation(&OperationEvent {
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
        self.shared.metrics.transferred(bytes);
        if let Some(report) = &self.progress {
            report(bytes);
        }
    }

    async fn purged(&mut self, done: u32, total: u32) {
        if let Some(report) = &self.purge_progress {
            report(done, total);
        }
    }
}

pub struct Runtime {
    engine: Engine,
    pre: ClientPre<HostState>,
    shared: Shared,
}

impl Runtime {
    /// Compiles (or loads from the cache) `component` and links it. `max_instances` bounds concurrent stores.
    pub fn new(component: &[u8], shared: Shared, max_instances: u32) -> Result<Self> {
        let mut pooling = PoolingAllocationConfig::default();
        pooling.total_component_instances(max_instances);
        // The component is several core instances (its code plus the shims that wire up its imports).
        pooling.total_core_instances(max_instances * 8);
        pooling.total_memories(max_instances * 2);
        pooling.total_tables(max_instances * 8);
        pooling.max_memory_size(1 << 32);
        let mut config = Config::new();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config)?;
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

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A fresh store and instance. The component sees no files, environment or sockets: only wasi:http.
    pub async fn instantiate(&self) -> Result<(Store<HostState>, Client)> {
        let interrupt = Interrupt::default();
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: Outbound { pool: Arc::clone(&self.shared.pool), interrupt: interrupt.clone() },
            shared: self.shared.clone(),
            progress: None,
            purge_progress: None,
            interrupt,
        };
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

/// Compiles `bytes` for `engine`, or loads the machine code an earlier run cached for the same bytes and engine.
pub fn load_cached(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let mut digest = Sha256::new();
    digest.update(bytes);
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
            Ok(c) => return Ok(c),
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
    Ok(())
}
