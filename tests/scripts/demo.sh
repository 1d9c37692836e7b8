#!/usr/bin/env bash
# A first look without any credentials or account: starts a private Ceph RGW on loopback (the S3 engine behind
# Spaces), makes a bucket, and runs a round trip with the `spaces` CLI (put, ls, head, get, presign + curl),
# then stops RGW again. `spaces serve` with its embedded backend replaces this once the service lands.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/scripts/setup.sh
export RGW_PORT=${RGW_PORT:-7490} RGW_DIR=${RGW_DIR:-/tmp/spaces-rgw-demo}
tests/scripts/rgw.sh start
trap 'tests/scripts/rgw.sh stop' EXIT

cargo build --workspace --all-targets --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/spaces"
export SPACES_ENDPOINT="http://127.0.0.1:$RGW_PORT" SPACES_REGION=us-east-1 SPACES_BUCKET=demo
export SPACES_ACCESS_KEY_ID=${RGW_ACCESS_KEY:-SPACESTESTACCESSKEY0}
export SPACES_SECRET_ACCESS_KEY=${RGW_SECRET_KEY:-spacesTestSecretKey0000000000000000000000}
work=$(mktemp -d)
cat >"$work/s3cfg" <<CFG
[default]
access_key = $SPACES_ACCESS_KEY_ID
secret_key = $SPACES_SECRET_ACCESS_KEY
host_base = 127.0.0.1:$RGW_PORT
host_bucket = 127.0.0.1:$RGW_PORT
use_https = False
CFG
s3cmd -c "$work/s3cfg" mb s3://demo >/dev/null

set -x
echo "hello from spaces" >"$work/hello.txt"
"$bin" put "$work/hello.txt" "docs/hello.txt" --meta purpose=demo
"$bin" ls
"$bin" head docs/hello.txt
"$bin" get docs/hello.txt -
url=$("$bin" presign docs/hello.txt --expires 60)
curl -s "$url"
"$bin" url docs/hello.txt --cdn
