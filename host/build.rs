//! Builds the guest crate's three components and hands two of them to the host crate, which embeds them with
//! `include_bytes!`: the library (world `client`) and the edge build (feature `edge`, a `wasi:http/proxy` server).
//! The third, the blobstore build (feature `blobstore`, the `wasi:blobstore` interfaces), is built beside them.
//!
//! The guest is compiled for `wasm32-unknown-unknown`, not `wasm32-wasip2`, and made a component here with
//! wit-component. wasip2's start-up code (wasi-libc) imports `wasi:cli` environment, exit, stdio and terminal
//! interfaces at std's own WASI version whatever the program uses, so such a component needs more than its world and
//! a host that links exactly the world refuses it. From a bare core module, the component imports precisely what the
//! wit-bindgen bindings call, at the one WASI version of `wit/deps`. The nested cargo uses target directories of its
//! own so it never waits on the outer build's lock, one per build so each keeps its own artefact. It is built with
//! SIMD128 (WebAssembly 2.0, on by default in wasmtime and V8), which the part MD5s' lanes use.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest's core-module target: no WASI of its own, so every import is one the WIT names.
const CORE_TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().expect("host/ sits in the workspace").to_path_buf();
    // Relative to host/, so a target directory shared by two checkouts (CI's clone and a working copy) watches
    // each checkout's own sources rather than whichever built last.
    for path in [
        "guest/src",
        "guest/Cargo.toml",
        "md5-lanes",
        "object-keys",
        "times",
        "http-api",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed=../{path}");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is TARGET/PROFILE/build/spaces-HASH/out: keep the component builds beside the profiles.
    let target = out.ancestors().nth(4).expect("OUT_DIR layout").to_path_buf();
    let library = build(&root, &target.join("component"), &[], "spaces-client.wasm");
    embed("SPACES_COMPONENT", &library);
    let edge = build(&root, &target.join("component-edge"), &["--features", "edge"], "spaces-edge.wasm");
    embed("SPACES_EDGE", &edge);
    // Not embedded: the blobstore component is for other hosts to compose with their own (`wac plug`).
    build(&root, &target.join("component-blobstore"), &["--features", "blobstore"], "spaces-blobstore.wasm");
}

/// Hands the component at `path` to the host crate as `{name}_WASM`, with its SHA-256 as `{name}_SHA256`: the
/// compiled-code cache is keyed by it, and a run that finds its cache entry then never reads the embedded bytes.
fn embed(name: &str, path: &Path) {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(std::fs::read(path).expect("reading the component back"));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env={name}_WASM={}", path.display());
    println!("cargo:rustc-env={name}_SHA256={hex}");
}

/// Builds the guest into `target_dir` with `extra` arguments and makes it the component `name` there; returns the
/// component's path.
fn build(root: &Path, target_dir: &Path, extra: &[&str], name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "-p", "spaces-guest", "--target", CORE_TARGET, "--profile", "component"])
        .args(extra)
        .arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("running cargo for the guest component");
    assert!(status.success(), "building the guest failed (is the {CORE_TARGET} target installed?)");
    let core = std::fs::read(target_dir.join(CORE_TARGET).join("component/spaces_guest.wasm")).expect("core module");
    let component = wit_component::ComponentEncoder::default()
        .module(&core)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("making the component from the guest's core module: {e:#}"));
    let path = target_dir.join(name);
    std::fs::write(&path, component).expect("writing the component");
    path
}
