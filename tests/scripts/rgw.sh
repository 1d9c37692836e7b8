#!/usr/bin/env bash
# Runs a one-node Ceph cluster (monitor + memstore OSD + radosgw) on loopback for the end-to-end tests: Spaces runs
# on Ceph RGW, so this is the real S3 engine, verifying SigV4 as strictly as Spaces does.
#   tests/scripts/rgw.sh install   apt-installs radosgw, ceph-mon, ceph-osd, s3cmd, rclone, openssl when missing
#   tests/scripts/rgw.sh start     starts everything (retrying from scratch if a daemon does not come up)
#   tests/scripts/rgw.sh stop      stops the daemons this script started (by their pid files) and removes the data
#   tests/scripts/rgw.sh kill-gateway / start-gateway   SIGKILLs radosgw alone (by its pid file), or starts it
#                                  again on the same cluster: the fault tests' outage, with the data kept
# Settings (env): RGW_DIR (state, default /tmp/spaces-rgw), RGW_PORT (7480), MON_PORT (RGW_PORT + 1000, so
# clusters on different RGW ports, e.g. the tests' and the benchmark's, never share a monitor), RGW_TLS_PORT
# (RGW_PORT + 2000: the same gateway over HTTPS, with a certificate for 127.0.0.1 and localhost from a CA made
# at each start, RGW_DIR/tls/ca.pem),
# RGW_ACCESS_KEY / RGW_SECRET_KEY (the test user's keys).
set -euo pipefail

RGW_DIR=${RGW_DIR:-/tmp/spaces-rgw}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-$((RGW_PORT + 1000))}
RGW_TLS_PORT=${RGW_TLS_PORT:-$((RGW_PORT + 2000))}
RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-SPACESTESTACCESSKEY0}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-spacesTestSecretKey0000000000000000000000}
CONF="$RGW_DIR/ceph.conf"

log() { echo "rgw.sh: $*" >&2; }

install() {
  local missing=()
  for cmd in radosgw ceph-mon ceph-osd s3cmd rclone openssl; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq radosgw ceph-mon ceph-osd ceph-common s3cmd rclone openssl >/dev/null
}

stop() {
  for pidfile in "$RGW_DIR"/run/client.*.pid "$RGW_DIR"/run/osd.*.pid "$RGW_DIR"/run/mon.*.pid; do
    if [ -f "$pidfile" ]; then
      local pid; pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
  done
  rm -rf "$RGW_DIR"
}

make_certificates() { # dir: a CA of its own, and a server certificate it signed for 127.0.0.1 and localhost
  local dir=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=spaces test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san.ext" -out "$dir/server.pem" 2>/dev/null
}

wait_for() { # seconds, description, command...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up within ${secs}s"; return 1
}

start_once() {
  stop
  if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "port $RGW_PORT is already served by another process; stop it or set RGW_PORT"; return 1
  fi
  if (echo >"/dev/tcp/127.0.0.1/$MON_PORT") 2>/dev/null; then
    log "monitor port $MON_PORT is taken by another process; stop it or set MON_PORT"; return 1
  fi
  mkdir -p "$RGW_DIR"/{run,log,mon,osd,rgw,tls}
  make_certificates "$RGW_DIR/tls"
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-8589934592}
run dir = $RGW_DIR/run
log file = $RGW_DIR/log/\$name.log
pid file = $RGW_DIR/run/\$name.pid
admin socket = $RGW_DIR/run/\$name.asok
mon data = $RGW_DIR/mon/\$id
osd data = $RGW_DIR/osd/\$id
keyring = $RGW_DIR/keyring
mon warn on pool no redundancy = false
[mon.a]
mon addr = v1:127.0.0.1:$MON_PORT
[client.rgw.spaces]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT ssl_endpoint=127.0.0.1:$RGW_TLS_PORT ssl_certificate=$RGW_DIR/tls/server.pem ssl_private_key=$RGW_DIR/tls/server.key tcp_nodelay=1
rgw data = $RGW_DIR/rgw
rgw dns name = 127.0.0.1
rgw max put size = 6442450944
# Overwritten and deleted objects free their space within seconds instead of hours, so repeated 1 GiB benchmark
# runs do not fill the in-memory store (a full OSD makes RGW hold every write until its clients time out).
rgw gc obj min wait = 0
rgw gc processor period = 5
CONF
  ceph-authtool --create-keyring "$RGW_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$RGW_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$RGW_DIR/monmap" --keyring "$RGW_DIR/keyring"
  ceph-mon -c "$CONF" -i a
  wait_for 20 "ceph-mon" ceph -c "$CONF" --connect-timeout 2 mon stat || return 1
  local uuid id; uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph -c "$CONF" osd create "$uuid")
  mkdir -p "$RGW_DIR/osd/$id"
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" 2>"$RGW_DIR/log/osd-mkfs.log" >/dev/null
  ceph-osd -c "$CONF" -i "$id" 2>>"$RGW_DIR/log/osd.stderr"
  wait_for 30 "ceph-osd" sh -c "ceph -c '$CONF' osd stat | grep -q '1 up'" || return 1
  radosgw -c "$CONF" -n client.rgw.spaces
  wait_for 60 "radosgw on port $RGW_PORT" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/" || return 1
  wait_for 10 "radosgw over TLS on port $RGW_TLS_PORT" \
    curl -sf --cacert "$RGW_DIR/tls/ca.pem" -o /dev/null "https://127.0.0.1:$RGW_TLS_PORT/" || return 1
  radosgw-admin -c "$CONF" user create --uid=tester --display-name=tester \
    --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" >/dev/null
}

start() {
  install
  for attempt in 1 2 3; do
    if start_once; then
      log "radosgw ready on http://127.0.0.1:$RGW_PORT (attempt $attempt)"
      return 0
    fi
    log "start attempt $attempt failed; logs:"; tail -n 5 "$RGW_DIR"/log/*.log >&2 2>/dev/null || true
  done
  stop
  return 1
}

kill_gateway() {
  local pidfile; pidfile=$(ls "$RGW_DIR"/run/client.rgw.*.pid)
  kill -9 "$(cat "$pidfile")"
  wait_for 10 "radosgw to stop" sh -c "! curl -s -o /dev/null http://127.0.0.1:$RGW_PORT/"
}

start_gateway() { # a start that does not come up is killed and tried once more, as `start` retries
  for attempt in 1 2; do
    radosgw -c "$CONF" -n client.rgw.spaces
    if wait_for 60 "radosgw on port $RGW_PORT" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
      return 0
    fi
    local pidfile; pidfile=$(ls "$RGW_DIR"/run/client.rgw.*.pid 2>/dev/null) && kill -9 "$(cat "$pidfile")" 2>/dev/null
    log "radosgw restart attempt $attempt failed"
  done
  return 1
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  kill-gateway) kill_gateway ;;
  start-gateway) start_gateway ;;
  *) echo "usage: $0 install|start|stop|kill-gateway|start-gateway" >&2; exit 2 ;;
esac
