//! The smallest wasmtime embedding of the spaces component, for anyone hosting it in their own program: bindings
//! generated from `wit/`, WASI and wasi:http from wasmtime-wasi(-http), and the component's own imports written
//! right here — credentials from the environment, metrics printed, progress ignored. It uploads a file, lists what
//! is under its key, and prints a presigned URL for it. The linker holds only the interfaces of the
//! `wasi:http/proxy` world (what an edge platform offers: io, clocks, random, stdio, http) plus our three: no
//! environment, exit, terminal, file system or sockets, so it shows the component needs no more than its world.
//!
//! ```sh
//! SPACES_ENDPOINT=https://nyc3.digitaloceanspaces.com SPACES_BUCKET=my-space \
//! SPACES_ACCESS_KEY_ID=… SPACES_SECRET_ACCESS_KEY=… \
//!   cargo run -p spaces --example embed -- target/component/spaces-client.wasm FILE KEY
//! ```

use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::{pipe::AsyncReadStream, DynInputStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The host side of the `client` world, generated from the WIT (which documents it).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "client",
        imports: { default: async },
        exports: { default: async },
        with: {
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        },
    });
}

use bindings::{exports, spaces, Client};

use exports::spaces::storage::storage::{ListRequest, PresignMethod, PresignRequest, PutOptions};
use spaces::storage::types::{Acl, AddressingStyle, Config};
use spaces::storage::{credentials, metrics, progress, types};

/// One store's state: the WASI and wasi:http contexts and the table their resources live in.
struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: wasmtime_wasi_http::default_hooks() }
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

impl credentials::Host for Host {
    async fn get(&mut self) -> Result<credentials::Credentials, String> {
        Ok(credentials::Credentials {
            access_key_id: env("SPACES_ACCESS_KEY_ID")?,
            secret_access_key: env("SPACES_SECRET_ACCESS_KEY")?,
            session_token: None,
        })
    }

    async fn api_token(&mut self) -> Result<String, String> {
        env("DIGITALOCEAN_TOKEN")
    }
}

impl metrics::Host for Host {
    async fn record(&mut self, e: metrics::RequestEvent) {
        eprintln!("{} {} -> {} ({} attempts, {} µs)", e.operation, e.method, e.status, e.attempts, e.duration_us);
    }
}

impl progress::Host for Host {
    async fn advanced(&mut self, _bytes: u64) {}
    async fn purged(&mut self, _done: u32, _total: u32) {}
    // This host records no uploads: a failed one is aborted by the component, never resumed.
    async fn upload_started(&mut self, _upload_id: String, _part_size: u64, _sealing: Option<Vec<u8>>) {}
    async fn upload_ended(&mut self, _upload_id: String) {}
}

impl types::Host for Host {}

#[tokio::main]
async fn main() -> wasmtime::Result<()> {
    let [component, file, key] = <[String; 3]>::try_from(std::env::args().skip(1).collect::<Vec<_>>())
        .map_err(|_| wasmtime::format_err!("usage: embed COMPONENT.wasm FILE KEY"))?;

    // Compile once, link the proxy world's interfaces + our three imports, instantiate per store.
    let engine = Engine::default();
    let component = Component::from_file(&engine, &component)?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi_http::p2::add_to_linker_async(&mut linker)?;
    credentials::add_to_linker::<_, HasSelf<Host>>(&mut linker, |h| h)?;
    metrics::add_to_linker::<_, HasSelf<Host>>(&mut linker, |h| h)?;
    progress::add_to_linker::<_, HasSelf<Host>>(&mut linker, |h| h)?;
    types::add_to_linker::<_, HasSelf<Host>>(&mut linker, |h| h)?;
    let host = Host { wasi: WasiCtx::builder().build(), http: WasiHttpCtx::new(), table: ResourceTable::new() };
    let mut store = Store::new(&engine, host);
    let spaces = Client::instantiate_async(&mut store, &component, &linker).await?;
    let storage = spaces.spaces_storage_storage();

    let cfg = Config {
        endpoint: std::env::var("SPACES_ENDPOINT").ok(),
        region: std::env::var("SPACES_REGION").unwrap_or_else(|_| "nyc3".into()),
        bucket: env("SPACES_BUCKET").map_err(wasmtime::Error::msg)?,
        addressing: AddressingStyle::Path,
        cdn_host: None,
        retry: None,
        multipart_threshold: None,
        part_size: None,
        concurrency: None,
    };
    // Every call returns the component's typed error, which names what went wrong.
    let fail = |e: types::Error| wasmtime::format_err!("{e:?}");
    let client = storage.client().call_open(&mut store, &cfg).await?.map_err(fail)?;

    // A body is a wasi:io input stream: here a file, read by wasmtime-wasi as the component asks for bytes.
    let size = std::fs::metadata(&file)?.len();
    let reader: DynInputStream = Box::new(AsyncReadStream::new(tokio::fs::File::open(&file).await?));
    let body: Resource<DynInputStream> = store.data_mut().table.push(reader)?;
    let opts = PutOptions {
        content_type: None,
        cache_control: None,
        acl: Acl::Private,
        metadata: Vec::new(),
        resume: None,
        keep_partial: false,
        encrypt: None,
    };
    let put = storage.client().call_put_object(&mut store, client, &key, body, Some(size), &opts).await?;
    let put = put.map_err(fail)?;
    println!("stored {key}: {} bytes, etag {}", put.size, put.etag);

    let req = ListRequest { prefix: Some(key.clone()), delimiter: None, continuation: None, max_keys: Some(10) };
    for o in storage.client().call_list_objects(&mut store, client, &req).await?.map_err(fail)?.objects {
        println!("listed {} ({} bytes)", o.key, o.size);
    }
    let req = PresignRequest { key, method: PresignMethod::Get, expires_seconds: 600, signed_headers: Vec::new() };
    let url = storage.client().call_presign(&mut store, client, &req).await?.map_err(fail)?;
    println!("{}", url.url);
    client.resource_drop_async(&mut store).await?;
    Ok(())
}
