#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ briefly (FUZZ_SECONDS each, default 10),
# seeded with a few real payloads. The stable toolchain stands in for nightly
# through RUSTC_BOOTSTRAP (cargo-fuzz needs -Z flags); no sanitizer, since
# the decoders are safe Rust and the point is panics and broken invariants.
# The smoke run builds without optimizations (--dev: far quicker to compile,
# and ten seconds per target need no speed).
# The long form is the same with a larger FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
seconds="${FUZZ_SECONDS:-10}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build --dev -s none
mkdir -p corpus/stream_format corpus/path_id corpus/query_string corpus/cursor
printf '{"v":1,"id":"0193a6f0-0000-7000-8000-000000000000","path_id":"p","method":"POST","subpath":"","query_string":"a=1","headers":[["x","y"]],"ip":"127.0.0.1","received_at":"2026-01-01T00:00:00Z","body_size":2}\nhi' \
  > corpus/stream_format/seed
printf 'github-hooks_1' > corpus/path_id/seed
printf 'a=1&a=2&b=%%20x+y' > corpus/query_string/seed
printf '0193a6f0000070008000000000000000' > corpus/cursor/seed
passed=0
for target in stream_format path_id query_string cursor; do
  echo "fuzz: $target for ${seconds}s"
  cargo fuzz run --dev -s none "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=0 2>&1 | tail -n 3
  passed=$((passed + 1))
done
echo "$passed passed, 0 failed"
