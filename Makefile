# Shortcuts for the common commands; each target is one script or cargo call,
# so the scripts stay the single source of truth (CI runs .ci/run, not make).
.PHONY: help run test lint fmt bench up down cluster-up services check-deploy

# `make help` lists every target with the line after its `##`.
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

# Standalone catcher on http://127.0.0.1:8080 (in-process bus, SQLite).
run: ## standalone catcher on http://127.0.0.1:8080
	cargo run --release

# Everything CI runs: starts NATS/Postgres, lint, tests, deploy checks, ...
test: ## the whole test suite, as CI runs it
	scripts/test.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	cargo fmt --all

bench: ## the benchmark (bench/run.sh)
	bench/run.sh

# Split topology as native processes (2 ingest, 2 query); see deploy/local/up.sh.
up: ## split topology as native processes
	deploy/local/up.sh

cluster-up: ## split topology on a private 3-node NATS cluster, R3
	NATS_SERVER_BIN=$$(scripts/services.sh nats-current) deploy/local/up.sh --cluster

down: ## stop what up or cluster-up started
	deploy/local/down.sh

# NATS JetStream + Postgres on their standard ports, installed/started if needed.
services: ## NATS JetStream + Postgres on their standard ports
	scripts/services.sh up

check-deploy: ## static checks of docker-compose and Kubernetes files
	tests/deploy/check.sh
