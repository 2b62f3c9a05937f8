# Shortcuts for the common commands; each target is one script or cargo call,
# so the scripts stay the single source of truth (CI runs .ci/run, not make).
.PHONY: run test lint fmt bench up down services check-deploy

# Standalone catcher on http://127.0.0.1:8080 (in-process bus, SQLite).
run:
	cargo run --release

# Everything CI runs: starts NATS/Postgres, lint, tests, deploy checks, ...
test:
	scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench:
	bench/run.sh

# Split topology as native processes (2 ingest, 2 query); see deploy/local/up.sh.
up:
	deploy/local/up.sh

down:
	deploy/local/down.sh

# NATS JetStream + Postgres on their standard ports, installed/started if needed.
services:
	scripts/services.sh up

check-deploy:
	tests/deploy/check.sh
