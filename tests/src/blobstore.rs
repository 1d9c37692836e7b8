//! The blobstore composition the tests run: the consumer in `tests/blobstore-consumer` (which knows only
//! `wasi:blobstore`), built for the component target and made a component with wasm-tools, plugged into the
//! spaces blobstore component with `wac plug`, and compiled once with `wasmtime compile`; each command then runs
//! it under `wasmtime run` with its settings in the environment and, when asked, a staging directory.

use crate::{tool, Rgw};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The composed component, and the same precompiled for this machine.
pub struct Composition {
    /// `consumer ∘ spaces-blobstore`, whose imports are standard WASI only.
    pub component: PathBuf,
    precompiled: PathBuf,
}

/// Builds the composition once per test process (and reuses the consumer's build across processes).
pub fn composition() -> &'static Composition {
    static BUILT: OnceLock<Composition> = OnceLock::new();
    BUILT.get_or_init(build)
}

fn build() -> Composition {
    let manifest = crate::manifest_dir();
    // A target directory of its own, so this cargo never waits on the one running the tests.
    let target = crate::profile_dir().parent().expect("target dir").join("blobstore-consumer");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(manifest.join(".."))
        .args(["rustc", "--quiet", "-p", "spaces-blobstore-consumer", "--release", "--crate-type", "cdylib"])
        .args(["--target", "wasm32-unknown-unknown"])
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo for the blobstore consumer");
    assert!(status.success(), "building tests/blobstore-consumer failed");
    let core = target.join("wasm32-unknown-unknown/release/spaces_blobstore_consumer.wasm");
    let consumer = target.join("consumer.wasm");
    must(Command::new(tool("wasm-tools")).args(["component", "new"]).arg(&core).arg("-o").arg(&consumer));
    let component = target.join("composed.wasm");
    must(
        Command::new(tool("wac"))
            .arg("plug")
            .arg(&consumer)
            .arg("--plug")
            .arg(crate::blobstore_component_path())
            .arg("-o")
            .arg(&component),
    );
    let precompiled = target.join("composed.cwasm");
    must(Command::new(tool("wasmtime")).arg("compile").arg(&component).arg("-o").arg(&precompiled));
    Composition { component, precompiled }
}

fn must(cmd: &mut Command) {
    let out = crate::run(cmd);
    assert!(out.status.success(), "{cmd:?}: {}", crate::describe(&out));
}

impl Composition {
    /// Runs the consumer's command `args` against `rgw` with `stdin` as its input, staging in `staging` (granted
    /// as the guest directory `/staging`) or with no directory at all; `settings` (environment variables of the
    /// component) are added to, or override, the endpoint and credentials.
    pub fn run(
        &self,
        rgw: &Rgw,
        staging: Option<&Path>,
        settings: &[(&str, &str)],
        args: &[&str],
        stdin: &[u8],
    ) -> Output {
        let mut cmd = Command::new(tool("wasmtime"));
        cmd.args(["run", "--allow-precompiled", "-S", "http"]);
        let base = [
            ("SPACES_ENDPOINT", rgw.endpoint.as_str()),
            ("SPACES_REGION", "us-east-1"),
            ("SPACES_ACCESS_KEY_ID", rgw.access_key.as_str()),
            ("SPACES_SECRET_ACCESS_KEY", rgw.secret_key.as_str()),
        ];
        for (name, value) in base.iter().filter(|(k, _)| !settings.iter().any(|(s, _)| s == k)).chain(settings) {
            cmd.arg("--env").arg(format!("{name}={value}"));
        }
        if let Some(dir) = staging {
            cmd.arg("--dir").arg(format!("{}::/staging", dir.display()));
        }
        cmd.arg(&self.precompiled).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run wasmtime (installed by tests/scripts/setup.sh)");
        let mut input = child.stdin.take().expect("stdin");
        let bytes = stdin.to_vec();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut input, &bytes));
        let out = child.wait_with_output().expect("wait for wasmtime");
        writer.join().expect("stdin writer").expect("write stdin");
        out
    }
}
