#!/usr/bin/env bash
# Where the time goes under the throughput load of bench/run.sh (64
# connections, 1 KiB JSON POSTs), with perf's cpu-clock sampling: this VM has
# no hardware counters, but the software clock samples fine.
#
#   bench/profile.sh standalone|ingest [SECONDS]
#
# 1. CPU split by process over the whole machine (perf record -a): what the
#    service, the load generator, nats-server, Postgres and the idle loop get.
# 2. The service alone with DWARF call graphs (perf record -p): the heaviest
#    inclusive frames, and self time.
# For `ingest`, deploy/local/up.sh starts 1 ingest + 1 query and the query is
# paused (SIGSTOP) during the load, as in bench/run.sh. Reports are kept in
# the printed directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
ROLE=${1:-}
SECS=${2:-8}
case "$ROLE" in standalone | ingest) ;; *) echo "usage: $0 standalone|ingest [SECONDS]" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
command -v oha >/dev/null || cargo install oha --locked

cargo build --release -p callback-listener -p bench
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
OUT=$(mktemp -d "${TMPDIR:-/tmp}/cl-profile.XXXXXX")
PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null; done
  [[ $ROLE == ingest ]] && CL_LOCAL_STATE="$OUT/local" deploy/local/down.sh >/dev/null 2>&1
  [[ $ROLE == ingest ]] && dropdb -h 127.0.0.1 -U postgres -w --if-exists "$DB" 2>/dev/null
}
trap cleanup EXIT
port() { echo $((20000 + RANDOM % 20000)); }
"$BIN/loadgen" payload >"$OUT/payload.json"

if [[ $ROLE == standalone ]]; then
  P=$(port)
  "$BIN/callback-listener" standalone --listen "127.0.0.1:$P" --database-url "sqlite://$OUT/db.sqlite" >"$OUT/service.log" 2>&1 &
  PID=$!; PIDS+=("$PID")
  API="http://127.0.0.1:$P" WEBHOOK="http://127.0.0.1:$P/webhook/profile"
else
  scripts/services.sh up
  I=$(port) Q=$(port) DB="profile_$$"
  CL_BIN="$BIN/callback-listener" CL_LOCAL_STATE="$OUT/local" CL_LOCAL_DB="$DB" CL_STREAM="PROFILE_$$" \
    CL_LOCAL_INGEST_PORTS="$I" CL_LOCAL_QUERY_PORTS="$Q" deploy/local/up.sh >&2
  PID=$(cat "$OUT/local/ingest-$I.pid")
  PIDS+=("$(cat "$OUT/local/query-$Q.pid")")
  API="http://127.0.0.1:$Q" WEBHOOK="http://127.0.0.1:$I/webhook/profile"
fi
for _ in $(seq 100); do curl -sf -o /dev/null "$API/health/ready" && break; sleep 0.2; done
curl -sf -o /dev/null -X POST "$API/api/paths" -H 'content-type: application/json' -d '{"path_id":"profile"}'
until [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$WEBHOOK" -d probe) == 200 ]]; do sleep 0.1; done
[[ $ROLE == ingest ]] && kill -STOP "${PIDS[0]}"

load() { oha --no-tui --output-format json -z "$1" -c 64 -m POST -H 'content-type: application/json' -D "$OUT/payload.json" "$WEBHOOK"; }
load 2s >/dev/null
perf record -q -F 999 -a -g -o "$OUT/system.data" -- bash -c "$(declare -f load); OUT=$OUT WEBHOOK=$WEBHOOK load ${SECS}s" >"$OUT/load.json" 2>/dev/null
echo "== $ROLE: $(jq -r '.summary.requestsPerSec | floor' "$OUT/load.json") req/s under the system-wide profile"
echo "== CPU by process (share of both cores)"
perf script -i "$OUT/system.data" -F pid,comm --hide-call-graph 2>/dev/null \
  | awk -v me="$PID" -v role="$ROLE" '{ pid = $NF; $NF = ""; sub(/ +$/, ""); n++; count[pid]++
      if (!(pid in name)) name[pid] = $0 }
    END { for (p in count) { label = (p == me) ? "callback-listener " role : (p == 0 ? "(idle)" : name[p])
            share[label] += count[p] }
          for (l in share) printf "%7.2f%%  %s\n", 100 * share[l] / n, l }' | sort -rn | head -8

load $((SECS + 4))s >/dev/null &
load_pid=$!
sleep 2
perf record -q -F 499 --call-graph dwarf,16384 -p "$PID" -o "$OUT/service.data" -- sleep "$SECS" 2>/dev/null
wait "$load_pid"
perf report -i "$OUT/service.data" --children --sort sym --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' >"$OUT/inclusive.txt"
perf report -i "$OUT/service.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' >"$OUT/self.txt"
echo "== $ROLE: heaviest self time"
head -15 "$OUT/self.txt" | cut -c1-140
echo "== reports in $OUT (inclusive.txt, self.txt, *.data for perf report -i)"
