#!/usr/bin/env bash
# Runs the browser tests of the web inspector against a running server, and
# the unit tests of its pure modules (tests/browser/unit/, no server needed).
#
#   CL_BASE_URL=http://127.0.0.1:8080 tests/browser/run.sh
#
# Installs Debian's Chromium when /usr/bin/chromium is missing (and CHROMIUM
# does not point elsewhere) and the test's npm dependencies when absent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base="${CL_BASE_URL:-http://127.0.0.1:8080}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: installing Debian chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y chromium || { as_root apt-get update && as_root apt-get install -y chromium; }
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "run.sh: npm ci in tests/browser" >&2
  (cd "$here" && npm ci --no-audit --no-fund)
fi
# The typed JS client (clients/js) is tested against the same server.
if [ ! -d "$root/clients/js/node_modules/openapi-typescript" ]; then
  echo "run.sh: npm ci in clients/js" >&2
  (cd "$root/clients/js" && npm ci --no-audit --no-fund)
fi

# Fail clearly when nothing is listening, rather than timing out in the browser.
ready=""
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null --max-time 2 "$base/" 2>/dev/null; then ready=1; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "run.sh: no server answering at $base/ (set CL_BASE_URL)" >&2
  exit 1
fi

cd "$root"
export CL_BASE_URL="$base"
exec node --test tests/browser/ clients/js/test/
