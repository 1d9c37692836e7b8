#!/usr/bin/env bash
# The benchmark (not a test): builds the release `spaces` and the bench program, starts a private RGW on
# loopback, and prints spaces side by side with aws-sdk-s3, rclone, awscli and curl-presigned, with ratios.
# Knobs (environment): BENCH_LARGE_MIB (1024), BENCH_RUNS (3), BENCH_SETTLE_S (7), BENCH_SMALL_COUNT (2000),
# BENCH_SMALL_BYTES (16384), BENCH_CONCURRENCY (16), BENCH_DIR (/tmp/spaces-bench), BENCH_SERVICE_COUNT (3000),
# BENCH_SERVICE_CONCURRENCY (32), BENCH_SYNC_FILES (10000), BENCH_SYNC_JOBS (16), BENCH_RESUME_MIB (1024),
# BENCH_ONLY (large,small,crypt,presign,service,sync: the sections to run). The large section prints the client's
# CPU-seconds per GiB beside MiB/s for every client, the GET into a file and into /dev/null, and an upload sweep
# of 1, 2, 4 and 8 parts in flight.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/scripts/setup.sh
# awscli, the anchor of the sync section, in a virtualenv of its own (the tests do not need it).
bench_venv="${BENCH_VENV:-$HOME/.cache/spaces-bench-venv}"
if [ ! -x "$bench_venv/bin/aws" ]; then
  python3 -m venv "$bench_venv"
  "$bench_venv/bin/pip" install -q awscli
fi
export BENCH_AWS="$bench_venv/bin/aws"
export RGW_PORT=${RGW_PORT:-7481}
export RGW_DIR=${RGW_DIR:-/tmp/spaces-rgw-bench}
tests/scripts/rgw.sh start
trap 'tests/scripts/rgw.sh stop' EXIT

target=${CARGO_TARGET_DIR:-target}
cargo build --release -p spaces
CARGO_TARGET_DIR="$target/bench" cargo build --release --manifest-path bench/Cargo.toml

export BENCH_ENDPOINT="http://127.0.0.1:$RGW_PORT"
export BENCH_ACCESS_KEY=${RGW_ACCESS_KEY:-SPACESTESTACCESSKEY0}
export BENCH_SECRET_KEY=${RGW_SECRET_KEY:-spacesTestSecretKey0000000000000000000000}
export SPACES_BIN="$target/release/spaces"
"$target/bench/release/spaces-bench"
