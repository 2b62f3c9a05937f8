#!/usr/bin/env bash
# The whole test suite, as CI runs it: starts what the tests need (NATS with
# JetStream, Postgres), then lint, unit/integration tests in both shapes,
# deploy-manifest checks, browser tests, the benchmark harness in quick mode
# and the short fault suite. Any failure stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "services (NATS JetStream, Postgres)"
scripts/services.sh up

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "unit and integration tests (standalone and split shapes)"
cargo test --workspace --locked

for extra in tests/deploy/check.sh tests/browser/run.sh bench/run.sh tests/fault/run.sh; do
  if [[ -x "$extra" ]]; then
    step "$extra"
    case "$extra" in
      bench/run.sh) "$extra" --quick ;;
      tests/fault/run.sh) "$extra" --short ;;
      *) "$extra" ;;
    esac
  fi
done

step "all test steps passed"
