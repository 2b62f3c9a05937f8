#!/usr/bin/env bash
# Stops what deploy/local/up.sh started, by its pid files only (never by name:
# other processes of the same binary on this machine are not ours).
# Order: ingest first (stop accepting), then query (drain), then a private NATS
# (CL_LOCAL_NATS=own: nats.pid; CL_LOCAL_NATS=cluster: nats-n1..n3.pid, together).
# Each process gets SIGTERM (graceful shutdown), then SIGKILL after 10 s.
# Env: CL_LOCAL_STATE (default ./.local). The database and stream are kept.
set -euo pipefail
cd "$(dirname "$0")/../.."

STATE=${CL_LOCAL_STATE:-./.local}
GRACE=10

# Our process only if the pid still runs one of our binaries: a stale pid file
# must not make us kill whatever reused the number.
ours() {
  local cmd
  cmd=$({ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
  [[ $cmd == *callback-listener* || $cmd == *nats-server* ]]
}

# Alive and not a zombie (an unreaped child of an exited up.sh still answers kill -0).
alive() { [[ -e /proc/$1 ]] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }

stop_group() {
  local pids=() f pid
  for f in "$STATE/$1"-*.pid "$STATE/$1.pid"; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
      echo "stopping $(basename "$f" .pid) (pid $pid)"
    fi
    rm -f "$f"
  done
  local deadline=$((SECONDS + GRACE))
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
      echo "pid $pid ignored SIGTERM for ${GRACE} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

[[ -d $STATE ]] || { echo "nothing to stop ($STATE does not exist)"; exit 0; }
stop_group ingest
stop_group query
stop_group nats
echo "stopped"
