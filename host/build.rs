//! Builds the guest component (wasm32-wasip2, profile `component`) and hands its path to the host crate, which
//! embeds it with `include_bytes!`. The nested cargo uses its own target directory so it never waits on the
//! outer build's lock.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().expect("host/ sits in the workspace").to_path_buf();
    for path in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // OUT_DIR is TARGET/PROFILE/build/spaces-HASH/out: keep the component build beside the profiles.
    let target_dir = out.ancestors().nth(4).expect("OUT_DIR layout").join("component");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "-p", "spaces-guest", "--target", "wasm32-wasip2", "--profile", "component"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status()
        .expect("running cargo for the guest component");
    assert!(status.success(), "building the guest component failed (is the wasm32-wasip2 target installed?)");
    let wasm = target_dir.join("wasm32-wasip2/component/spaces_guest.wasm");
    println!("cargo:rustc-env=SPACES_COMPONENT_WASM={}", wasm.display());
}
