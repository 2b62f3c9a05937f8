#!/usr/bin/env bash
# The whole test suite, as CI runs it: starts what the tests need (NATS with
# JetStream, Postgres), then lint (fmt, clippy, unused dependencies, cargo deny), unit/integration tests in both shapes,
# deploy-manifest checks, browser tests against a running standalone service,
# API fuzzing, decoder fuzzing, the short fault suite and the benchmark
# harness in quick mode.
# Any failure stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "services (NATS JetStream, Postgres)"
scripts/services.sh up

# The current nats-server for the tests that start their own (clusters,
# servers demanding credentials or TLS); Debian's 2.9.10 stays on 4222.
CL_TEST_NATS_SERVER=${CL_TEST_NATS_SERVER:-$(scripts/services.sh nats-current)}
export CL_TEST_NATS_SERVER

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Unused dependencies (cargo-machete reads each crate's sources).
command -v cargo-machete >/dev/null || cargo install cargo-machete --locked
cargo machete
# Licenses, banned and duplicate crate versions, sources (deny.toml); the
# advisories check needs the RustSec database online and runs in the GitHub
# workflow.
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
cargo deny check licenses bans sources

step "unit and integration tests (standalone and split shapes)"
cargo test --workspace --locked

step "deploy files (docker-compose, kubernetes)"
tests/deploy/check.sh

step "browser tests (headless Chromium) against a standalone service"
cargo build --locked --bin callback-listener
state="$(mktemp -d)"
port=18090
# The cross-origin test (tests/browser/cors.test.mjs) serves its page on
# 18091, the one origin listed; its "blocked" half uses another port.
export CL_CORS_ORIGIN="http://127.0.0.1:18091"
target/debug/callback-listener standalone --listen "127.0.0.1:$port" \
  --database-url "sqlite://$state/browser.db" --cors-origins "$CL_CORS_ORIGIN" \
  >"$state/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$state"' EXIT
if ! CL_BASE_URL="http://127.0.0.1:$port" tests/browser/run.sh; then
  echo "browser tests failed; server log:" >&2
  tail -n 50 "$state/server.log" >&2
  exit 1
fi
kill "$server"; wait "$server" 2>/dev/null || true

step "API fuzzing with schemathesis against /api/openapi.json"
tests/api/schemathesis.sh target/debug/callback-listener

step "fuzz smoke run of the decoders (cargo-fuzz)"
tests/fuzz/smoke.sh

step "fault suite, short form (kill -9 / SIGTERM / outages under load; lost and doubled must be 0)"
CL_BIN=target/debug/callback-listener tests/fault/run.sh --short

step "benchmark harness, quick mode (correctness only, never speed)"
bench/run.sh --quick

step "all test steps passed"
