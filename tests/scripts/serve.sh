#!/usr/bin/env bash
# Runs `spaces serve` on its embedded default: no endpoint, no credentials, no account. The embedded S3 store
# keeps its data under ~/.local/share/spaces (or --data-dir); the bearer token is SPACES_TOKEN, or one generated
# into ~/.config/spaces/token and printed on first start. Extra arguments go to `spaces serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/scripts/setup.sh --toolchain-only
# The same build the tests use (--all-targets keeps one feature set), so one wasmtime compile serves both.
cargo build --workspace --all-targets --quiet
exec "${CARGO_TARGET_DIR:-target}/debug/spaces" serve "$@"
