#!/usr/bin/env bash
# Installs what building and testing need on a fresh machine, and nothing that is already there:
# the pinned Rust toolchain with the wasm32-unknown-unknown target (and wasm32-wasip2 for tests), rustfmt and clippy;
# curl; (via rgw.sh) Ceph RGW, s3cmd and rclone from Debian's packages; wasm-tools and wasmtime-cli from crates.io, in a cache of their own;
# a Python virtualenv with openapi-spec-validator, which checks the service's OpenAPI document, the official MCP
# SDK, whose client drives `spaces mcp` in the tests, Schemathesis, which fuzzes the service from its OpenAPI
# document, and Selenium, which drives Debian's chromium (with chromium-driver) through the web console; Node.js
# and jco (tests/jco), which run the component outside our host; Debian's age, which checks our encryption both ways.
# With --toolchain-only it installs just the toolchain pieces and curl (enough to build and run the service).
set -euo pipefail
cd "$(dirname "$0")/../.."

channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup run "$channel" rustc --version >/dev/null 2>&1; then
  # RUSTUP_AUTO_INSTALL may be off; if the default toolchain is the pinned version, name it so.
  if rustc +stable --version 2>/dev/null | grep -q "^rustc $channel "; then
    rustup toolchain link "$channel" "$(rustc +stable --print sysroot)"
  else
    rustup toolchain install "$channel" --profile minimal
  fi
fi
installed=$(rustup +"$channel" target list --installed 2>/dev/null || true)
grep -q '^wasm32-unknown-unknown$' <<<"$installed" || rustup +"$channel" target add wasm32-unknown-unknown
for component in rustfmt clippy; do
  rustup +"$channel" component list --installed 2>/dev/null | grep -q "^$component" || rustup +"$channel" component add "$component"
done

if ! command -v curl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
[ "${1:-}" = --toolchain-only ] && exit 0
# The MD5 lanes' tests also run as wasm32-wasip2 programs in wasmtime, where their SIMD128 code is what runs.
grep -q '^wasm32-wasip2$' <<<"$installed" || rustup +"$channel" target add wasm32-wasip2
tests/scripts/rgw.sh install

# wasm-tools checks each component against its world; wasmtime-cli's `wasmtime serve` is a second runtime for the
# edge build, and `wasmtime run` runs the blobstore composition that wac-cli's `wac plug` makes (wac without its
# registry client, which the tests never use). All are pinned and built from crates.io once into a cache outside the
# clone (wasmtime-cli costs ~10 minutes cold), so a reused machine never pays for them again.
tools="${SPACES_TOOLS:-$HOME/.cache/spaces-tools}"
for pinned in wasm-tools:1.258.3:wasm-tools: wasmtime-cli:48.0.8:wasmtime: wac-cli:0.12.0:wac:--no-default-features; do
  IFS=: read -r crate version binary flags <<<"$pinned"
  if ! "$tools/bin/$binary" --version 2>/dev/null | grep -q " $version\b"; then
    # shellcheck disable=SC2086 # $flags is empty or one flag
    env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$tools" $flags "$crate" --version "$version"
  fi
done

# jco, the second runtime the component is tested in, runs on Node.js; its packages are pinned by the lock file.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! cmp -s tests/jco/package-lock.json tests/jco/node_modules/.installed-lock.json; then
  npm ci --prefix tests/jco --no-audit --no-fund --loglevel=error >/dev/null
  cp tests/jco/package-lock.json tests/jco/node_modules/.installed-lock.json
fi

# The console's browser tests: Debian's chromium and its driver (Selenium is told where they are, so it downloads
# nothing).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The age CLI, which must read what `spaces put --encrypt-to` stores and write what `spaces get --identity` reads.
if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq age >/dev/null
fi

# The validator, the MCP SDK and Selenium are not packaged by Debian; they go into a virtualenv beside the build
# cache.
venv="${SPACES_TEST_VENV:-$HOME/.cache/spaces-test-venv}"
if ! "$venv/bin/python" -c 'import openapi_spec_validator, mcp, schemathesis, selenium' 2>/dev/null; then
  if [ ! -x "$venv/bin/pip" ]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q 'openapi-spec-validator>=0.7' 'mcp==2.3.0' 'schemathesis==4.32.5' 'selenium==4.51.0'
fi
