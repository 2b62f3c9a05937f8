#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from /api/openapi.json against a
# running standalone service and checks that nothing answers 5xx and every
# answer matches the document (status, content type, body schema).
#   tests/api/schemathesis.sh [path/to/callback-listener]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/callback-listener}"
command -v st >/dev/null || python3 -m pip install --quiet schemathesis
python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install --quiet openapi-spec-validator
state="$(mktemp -d)"
port=18777
"$bin" standalone --listen "127.0.0.1:$port" --database-url "sqlite://$state/st.db" >"$state/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$state"' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && break
  sleep 0.1
done
# The document itself, by a validator we did not write (unique operationIds,
# valid references and schemas).
curl -fsS "http://127.0.0.1:$port/api/openapi.json" -o "$state/openapi.json"
python3 -m openapi_spec_validator "$state/openapi.json"
# A known path, so generated requests reach more than the 404 branch.
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/paths" \
  -H 'content-type: application/json' -d '{"path_id":"schemathesis"}'
# Live feeds never end by design, so they are left to the SSE tests. Quota
# changes are left to tests/it/teams.rs: a random quota on `default` would
# turn most generated webhooks into 429s and leave their handling untested.
st run "http://127.0.0.1:$port/api/openapi.json" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --exclude-path-regex 'stream' --exclude-operation-id update_workspace --phases coverage,fuzzing --max-examples "${ST_MAX_EXAMPLES:-20}" \
  --request-timeout 5 --seed 1
