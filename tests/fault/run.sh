#!/usr/bin/env bash
# Fault suite (issue 8): steady webhook load while processes are killed,
# stopped and restarted, in both shapes; then every capture that got a 2xx
# must be stored exactly once. Prints a table and "N passed, M failed";
# exits non-zero on any loss, double or service that did not recover.
#
#   tests/fault/run.sh            long form: 2,000 req/s for 30 s per run
#   tests/fault/run.sh --short    CI form: 300 req/s for 8 s per run (cluster runs: until 10 s after the fault) (~8 min)
#   tests/fault/run.sh --only 'kill -9 query,stop postgres'   some runs only
#   tests/fault/run.sh --rate 1000 --duration 20               other load
#   tests/fault/run.sh --short --only cluster                  the cluster runs only
#
# Runs: baseline, kill -9 query / ingest / nats-server (down 5 s), Postgres
# stopped 10 s (immediate stop, i.e. a crash), SIGTERM ingest / query /
# nats-server, all on the split topology of deploy/local/up.sh (2 ingest +
# 2 query) with a private current nats-server; kill -9 nats-server again on
# Debian's 2.9.10 (/usr/sbin/nats-server) when it is installed; the cluster
# runs on deploy/local/up.sh --cluster (3 current nats-server nodes, seed
# lists, CL_STREAM_REPLICAS=3, 2 ingest + 2 query, 3 live feeds held open on
# each query): baseline, kill -9 of the stream leader with its store deleted
# and an empty replacement 5 s later, rolling restart of the 3 nodes, SIGSTOP
# of the stream leader for 10 s, the kill -9 again with Postgres restarted
# during the node loss; the cluster runs also check every live feed got every
# stored capture once, all in one order, and print the 2xx share in the 10 s
# after the fault and the longest stretch without a 2xx; kill -9 and SIGTERM
# of the standalone process (SQLite).
#
# Nothing shared is touched: Postgres is a private cluster (initdb) in the
# state dir, nats-server a private one (CL_LOCAL_NATS=own), ports are free
# ones, processes are stopped by pid only. The machine's NATS on 4222 and
# Postgres on 5432 are left alone.
#
# Environment:
#   CL_BIN             binary (default target/debug/callback-listener, built if missing;
#                      for the long form a release build is closer to production:
#                      CL_BIN=target/release/callback-listener)
#   NATS_SERVER_BIN    the current nats-server (default: scripts/services.sh nats-current)
#   CL_FAULT_NATS_OLD  the older server for one run (default /usr/sbin/nats-server if present; "" = skip)
#   CL_FAULT_STATE     state dir (default a new temp dir, removed after a passing run)
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf 'fault: %s\n' "$*" >&2; }

BIN=${CL_BIN:-target/debug/callback-listener}
if [[ ! -x $BIN ]]; then
  [[ -z ${CL_BIN:-} ]] || { say "CL_BIN=$CL_BIN is not an executable"; exit 1; }
  say "building $BIN"
  cargo build --locked --bin callback-listener
fi

NATS_CURRENT=${NATS_SERVER_BIN:-$(scripts/services.sh nats-current)}
NATS_OLD=${CL_FAULT_NATS_OLD-/usr/sbin/nats-server}
[[ -z $NATS_OLD || -x $NATS_OLD ]] || NATS_OLD=""

# The machine's services are only needed by up.sh's own check; ours are private.
scripts/services.sh up

keep_state=${CL_FAULT_STATE:+1}
STATE=${CL_FAULT_STATE:-$(mktemp -d /tmp/cl-fault.XXXXXX)}
mkdir -p "$STATE"
chmod 755 "$STATE"   # the private Postgres runs as user postgres and lives in here

# A copy, so a parallel cargo build replacing target/ cannot change the binary
# between a kill and its restart.
cp "$BIN" "$STATE/callback-listener"

status=0
python3 tests/fault/fault.py --bin "$STATE/callback-listener" --nats-current "$NATS_CURRENT" --nats-old "$NATS_OLD" \
  --state "$STATE" "$@" || status=$?
if ((status == 0)) && [[ -z $keep_state ]]; then
  rm -rf "$STATE"
else
  say "logs and per-run attempts kept in $STATE"
fi
exit "$status"
