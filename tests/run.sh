#!/usr/bin/env bash
# Runs every test: formatting, lints with warnings denied, unit tests of the guest and host, and the end-to-end
# tests of the real binary and component against Ceph RGW, which this script installs, starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/scripts/setup.sh
export RGW_PORT=${RGW_PORT:-7480}
export RGW_DIR=${RGW_DIR:-/tmp/spaces-rgw-test}
tests/scripts/rgw.sh start
trap 'tests/scripts/rgw.sh stop' EXIT

export SPACES_TEST_ENDPOINT="http://127.0.0.1:$RGW_PORT"
export SPACES_TEST_ACCESS_KEY=${RGW_ACCESS_KEY:-SPACESTESTACCESSKEY0}
export SPACES_TEST_SECRET_KEY=${RGW_SECRET_KEY:-spacesTestSecretKey0000000000000000000000}
export SPACES_TEST_PYTHON="${SPACES_TEST_VENV:-$HOME/.cache/spaces-test-venv}/bin/python"

cargo fmt --all -- --check
# The benchmark is its own workspace (so the tests never build the AWS SDK); its formatting is checked here too.
cargo fmt --manifest-path bench/Cargo.toml -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The guest's edge and blobstore builds (features `edge`, `blobstore`) are two more components from the same crate:
# their lints and unit tests too.
cargo clippy -p spaces-guest --features edge --all-targets -- -D warnings
cargo clippy -p spaces-guest --features blobstore --all-targets -- -D warnings
# The end-to-end tests run the `spaces` binary itself, which `cargo test` does not rebuild; --all-targets keeps
# the feature set identical to the test build's, so wasmtime is compiled once.
cargo build --workspace --all-targets
cargo test --workspace
cargo test -p spaces-guest --features edge --lib
cargo test -p spaces-guest --features blobstore --lib
# The MD5 lanes as the component runs them: built for wasm32 with SIMD128, their tests run in wasmtime.
CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-Ctarget-feature=+simd128" \
  CARGO_TARGET_WASM32_WASIP2_RUNNER="${SPACES_TOOLS:-$HOME/.cache/spaces-tools}/bin/wasmtime" \
  cargo test -p spaces-md5-lanes --target wasm32-wasip2
# The README's install command, into a throwaway root: the installed binary must run. It builds in the usual target
# directory (cargo install would otherwise use a fresh one each time and rebuild everything).
install_root=$(mktemp -d)
cargo install --quiet --locked --path host --root "$install_root" --target-dir "${CARGO_TARGET_DIR:-target}"
"$install_root/bin/spaces" --version
rm -rf "$install_root"
