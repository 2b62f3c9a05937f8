#!/usr/bin/env bash
# Starts the split topology as native processes: 2 query + 2 ingest sharing one
# JetStream stream and one Postgres database, the way Kubernetes runs it, but
# killable by pid (fault tests) and without containers.
#
# Environment (all optional):
#   CL_BIN                 binary (default target/release/callback-listener, built if missing)
#   CL_LOCAL_STATE         logs, pid files and env file (default ./.local)
#   CL_LOCAL_DB            Postgres database, created if missing (default callback_listener)
#   CL_LOCAL_PG_PORT       Postgres port on 127.0.0.1 (default 5432; user postgres, trust auth),
#                          e.g. a private cluster a fault test may stop
#   CL_LOCAL_INGEST_PORTS  default "8080 8082"
#   CL_LOCAL_QUERY_PORTS   default "8081 8083"
#   CL_STREAM              JetStream stream (default CAPTURES; use a unique one per test run)
#   CL_LOCAL_NATS=own      start a private nats-server (NATS_SERVER_BIN or PATH) on
#                          CL_LOCAL_NATS_PORT (default 4223) with its store in the state
#                          dir, so a test can kill -9 it; CL_LOCAL_NATS_CONF is passed with
#                          -c (default: nats-strict.conf when the server is >= 2.10, "" = none)
#   CL_LOCAL_NATS=cluster  (or the flag --cluster, the same thing) a private 3-node nats-server
#                          cluster with JetStream on loopback (NATS_SERVER_BIN or PATH, >= 2.10):
#                          server names n1..n3, routes between them, each with its own config
#                          file ($STATE/nats-nN.conf), store dir ($STATE/nats-nN/) and pid file
#                          (nats-nN.pid). Ports (three each, in node order):
#                            CL_LOCAL_NATS_PORTS          clients  (default "4231 4232 4233")
#                            CL_LOCAL_NATS_CLUSTER_PORTS  routes   (default "6231 6232 6233")
#                            CL_LOCAL_NATS_MONITOR_PORTS  /jsz, /healthz (default "8231 8232 8233")
#                          CL_LOCAL_NATS_SYNC=always adds `sync_interval: always` (fsync before
#                          every ack; default: the server's own setting, the replicas give the
#                          durability). Waits until the cluster has a JetStream meta leader and
#                          every node's /healthz is ok, then starts the services with the seed
#                          list CL_NATS_URL=nats://127.0.0.1:P1,nats://127.0.0.1:P2,nats://127.0.0.1:P3
#                          and CL_STREAM_REPLICAS (default 3 here, 1 otherwise).
# Other CL_* variables (CL_API_TOKEN, CL_LOG_FORMAT, ...) pass through to every process.
# Writes $CL_LOCAL_STATE/env with the URLs, for tests to source. Stop with down.sh.
set -euo pipefail

for arg in "$@"; do
  case $arg in
    --cluster) export CL_LOCAL_NATS=cluster ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) printf 'local: ERROR: unknown argument %s (only --cluster)\n' "$arg" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

STATE=${CL_LOCAL_STATE:-./.local}
DB=${CL_LOCAL_DB:-callback_listener}
PG_PORT=${CL_LOCAL_PG_PORT:-5432}
read -ra INGEST_PORTS <<<"${CL_LOCAL_INGEST_PORTS:-8080 8082}"
read -ra QUERY_PORTS <<<"${CL_LOCAL_QUERY_PORTS:-8081 8083}"
export CL_STREAM=${CL_STREAM:-CAPTURES}
READY_TIMEOUT=60

say() { printf 'local: %s\n' "$*" >&2; }
die() { printf 'local: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $DB =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "CL_LOCAL_DB must be a plain identifier, got '$DB'"
((${#INGEST_PORTS[@]} > 0 && ${#QUERY_PORTS[@]} > 0)) || die "need at least one ingest and one query port"
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)

# Refuse to start twice over the same state dir: the old pids would be lost.
for f in "$STATE"/*.pid; do
  [[ -e $f ]] || continue
  if kill -0 "$(cat "$f")" 2>/dev/null; then
    die "already running ($f); run deploy/local/down.sh first"
  fi
  rm -f "$f"
done

# The binary: an explicit CL_BIN must exist; the default one is built on demand.
BIN=${CL_BIN:-target/release/callback-listener}
if [[ ! -x $BIN ]]; then
  [[ -z ${CL_BIN:-} ]] || die "CL_BIN=$CL_BIN is not an executable"
  say "building $BIN (cargo build --release)"
  cargo build --release --locked
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# From here on, any failure stops whatever this run already started, so a
# retry starts clean and no half-topology is left behind.
up_ok=0
on_exit() {
  ((up_ok)) && return
  say "start-up failed; stopping what was started"
  CL_LOCAL_STATE="$STATE" "$HERE/down.sh" >&2 || true
}
trap on_exit EXIT

scripts/services.sh up

# starts NAME CMD...: runs CMD in the background with its log and pid file.
start() {
  local name=$1; shift
  "$@" </dev/null >>"$STATE/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

fail_with_log() {
  say "$1"
  # With RUST_BACKTRACE set, the cause sits above a long backtrace: show it first.
  grep -m 5 -E '^Error|ERROR|panicked' "$2" >&2 || true
  say "--- last 30 lines of $2 ---"
  tail -n 30 "$2" >&2 || true
  exit 1
}

# --- NATS: the machine's (default) or a private one ----------------------------
if [[ ${CL_LOCAL_NATS:-system} == own ]]; then
  NATS_BIN=${NATS_SERVER_BIN:-$(command -v nats-server || true)}
  [[ -x $NATS_BIN ]] || die "CL_LOCAL_NATS=own: no nats-server (set NATS_SERVER_BIN, or run scripts/services.sh nats-current)"
  NATS_PORT=${CL_LOCAL_NATS_PORT:-4223}
  nats_ver=$("$NATS_BIN" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  # sync_interval is unknown to servers before 2.10, which would refuse the file.
  if [[ $(printf '%s\n' 2.10.0 "$nats_ver" | sort -V | head -n 1) == 2.10.0 ]]; then
    NATS_CONF=${CL_LOCAL_NATS_CONF-$HERE/nats-strict.conf}
  else
    NATS_CONF=${CL_LOCAL_NATS_CONF-}
  fi
  conf_args=()
  [[ -z $NATS_CONF ]] || conf_args=(-c "$NATS_CONF")
  mkdir -p "$STATE/nats"
  say "starting own nats-server $nats_ver on 127.0.0.1:$NATS_PORT ${NATS_CONF:+(config $NATS_CONF)}"
  start nats "$NATS_BIN" "${conf_args[@]}" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE/nats"
  deadline=$((SECONDS + 20))
  until (: <>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; do
    kill -0 "$(cat "$STATE/nats.pid")" 2>/dev/null || fail_with_log "nats-server exited" "$STATE/nats.log"
    ((SECONDS < deadline)) || fail_with_log "nats-server not listening after 20 s" "$STATE/nats.log"
    sleep 0.2
  done
  export CL_NATS_URL=nats://127.0.0.1:$NATS_PORT
elif [[ ${CL_LOCAL_NATS:-system} == cluster ]]; then
  NATS_BIN=${NATS_SERVER_BIN:-$(command -v nats-server || true)}
  [[ -x $NATS_BIN ]] || die "CL_LOCAL_NATS=cluster: no nats-server (set NATS_SERVER_BIN, or run scripts/services.sh nats-current)"
  nats_ver=$("$NATS_BIN" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
  [[ $(printf '%s\n' 2.10.0 "$nats_ver" | sort -V | head -n 1) == 2.10.0 ]] \
    || die "CL_LOCAL_NATS=cluster needs nats-server >= 2.10 (got $nats_ver); try NATS_SERVER_BIN=\$(scripts/services.sh nats-current)"
  read -ra NC_PORTS <<<"${CL_LOCAL_NATS_PORTS:-4231 4232 4233}"
  read -ra NR_PORTS <<<"${CL_LOCAL_NATS_CLUSTER_PORTS:-6231 6232 6233}"
  read -ra NM_PORTS <<<"${CL_LOCAL_NATS_MONITOR_PORTS:-8231 8232 8233}"
  ((${#NC_PORTS[@]} == 3 && ${#NR_PORTS[@]} == 3 && ${#NM_PORTS[@]} == 3)) \
    || die "CL_LOCAL_NATS_PORTS, _CLUSTER_PORTS and _MONITOR_PORTS need three ports each"
  routes=""
  for p in "${NR_PORTS[@]}"; do routes+="${routes:+, }nats-route://127.0.0.1:$p"; done
  say "starting a 3-node nats-server $nats_ver cluster: clients ${NC_PORTS[*]}, routes ${NR_PORTS[*]}, monitor ${NM_PORTS[*]}"
  seeds=""
  for i in 0 1 2; do
    n=n$((i + 1))
    mkdir -p "$STATE/nats-$n"
    # One file per node: a restart (fault suite, operator) reuses it unchanged.
    cat >"$STATE/nats-$n.conf" <<EOF
# node $n of the local 3-node cluster (written by deploy/local/up.sh)
server_name: $n
listen: 127.0.0.1:${NC_PORTS[$i]}
http: 127.0.0.1:${NM_PORTS[$i]}
jetstream {
  store_dir: "$STATE/nats-$n"
${CL_LOCAL_NATS_SYNC:+  sync_interval: $CL_LOCAL_NATS_SYNC}
}
cluster {
  name: cl-local
  listen: 127.0.0.1:${NR_PORTS[$i]}
  routes: [$routes]
}
EOF
    start "nats-$n" "$NATS_BIN" -c "$STATE/nats-$n.conf"
    seeds+="${seeds:+,}nats://127.0.0.1:${NC_PORTS[$i]}"
  done
  # Ready: every node answers /healthz (JetStream enabled and current) and
  # knows the meta leader; before that, creating the stream would fail.
  meta_leader() {
    curl -s -m 2 "http://127.0.0.1:$1/jsz" 2>/dev/null \
      | python3 -c 'import json,sys; print((json.load(sys.stdin).get("meta_cluster") or {}).get("leader") or "")' 2>/dev/null
  }
  deadline=$((SECONDS + 60))
  for i in 0 1 2; do
    n=n$((i + 1))
    until [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:${NM_PORTS[$i]}/healthz" || true) == 200 \
             && -n $(meta_leader "${NM_PORTS[$i]}") ]]; do
      kill -0 "$(cat "$STATE/nats-$n.pid")" 2>/dev/null || fail_with_log "nats-server $n exited" "$STATE/nats-$n.log"
      ((SECONDS < deadline)) || fail_with_log "nats-server $n: no JetStream meta leader / healthz after 60 s" "$STATE/nats-$n.log"
      sleep 0.3
    done
  done
  say "JetStream meta leader: $(meta_leader "${NM_PORTS[0]}")"
  export CL_NATS_URL=$seeds
  export CL_STREAM_REPLICAS=${CL_STREAM_REPLICAS:-3}
else
  export CL_NATS_URL=${CL_NATS_URL:-nats://127.0.0.1:4222}
fi

# --- Postgres database and schema ---------------------------------------------
if [[ -z $(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -w -Atc "select 1 from pg_database where datname = '$DB'") ]]; then
  say "creating database $DB"
  createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres -w "$DB"
fi
export CL_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/$DB
say "migrating $CL_DATABASE_URL"
"$BIN" migrate >>"$STATE/migrate.log" 2>&1 || fail_with_log "migrate failed" "$STATE/migrate.log"

# Ready means /health/ready is 200: NATS and (for query) Postgres really checked.
deadline=$((SECONDS + READY_TIMEOUT))
wait_ready() {
  local name=$1 port=${1#*-}
  until [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true) == 200 ]]; do
    kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null || fail_with_log "$name exited during start-up" "$STATE/$name.log"
    ((SECONDS < deadline)) || fail_with_log "$name: /health/ready not 200 after ${READY_TIMEOUT} s" "$STATE/$name.log"
    sleep 0.3
  done
}

# --- services: query first so the consumer exists before captures arrive --------
# The first query alone declares the stream, buckets and consumer; the others
# start once it is ready. On a cluster, nats-server 2.15.1 answered neither
# request when one process created an R3 stream while another updated it
# (both timed out), so a fresh cluster's processes are not started at once.
export CL_PUBLIC_URL=${CL_PUBLIC_URL:-http://127.0.0.1:${INGEST_PORTS[0]}}
CL_LISTEN=127.0.0.1:${QUERY_PORTS[0]} start "query-${QUERY_PORTS[0]}" "$BIN" query
wait_ready "query-${QUERY_PORTS[0]}"
for port in "${QUERY_PORTS[@]:1}"; do
  CL_LISTEN=127.0.0.1:$port start "query-$port" "$BIN" query
done
for port in "${INGEST_PORTS[@]}"; do
  CL_LISTEN=127.0.0.1:$port start "ingest-$port" "$BIN" ingest
done

for name in "${QUERY_PORTS[@]/#/query-}" "${INGEST_PORTS[@]/#/ingest-}"; do
  wait_ready "$name"
done
up_ok=1

# For tests and humans: everything needed to talk to this topology.
{
  echo "CL_NATS_URL=$CL_NATS_URL"
  echo "CL_STREAM=$CL_STREAM"
  echo "CL_STREAM_REPLICAS=${CL_STREAM_REPLICAS:-1}"
  [[ ${CL_LOCAL_NATS:-} != cluster ]] || echo "CL_LOCAL_NATS_MONITOR_URLS=\"${NM_PORTS[*]/#/http://127.0.0.1:}\""
  echo "CL_DATABASE_URL=$CL_DATABASE_URL"
  echo "CL_LOCAL_INGEST_URLS=\"${INGEST_PORTS[*]/#/http://127.0.0.1:}\""
  echo "CL_LOCAL_QUERY_URLS=\"${QUERY_PORTS[*]/#/http://127.0.0.1:}\""
} >"$STATE/env"

echo "split topology up (stream $CL_STREAM, R${CL_STREAM_REPLICAS:-1}, nats $CL_NATS_URL, db $DB); state in $STATE"
for port in "${INGEST_PORTS[@]}"; do echo "  ingest  http://127.0.0.1:$port/webhook/{path_id}"; done
for port in "${QUERY_PORTS[@]}"; do echo "  query   http://127.0.0.1:$port/  (API /api/paths)"; done
echo "stop with: deploy/local/down.sh"
