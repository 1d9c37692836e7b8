//! Host-side bindings of the `client` world. WASI types come from wasmtime-wasi and wasmtime-wasi-http so that
//! streams and HTTP resources are the very ones their implementations put in the resource table.

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
    require_store_data_send: true,
});

pub(crate) use exports::spaces::storage::storage;
pub(crate) use spaces::storage::types;
