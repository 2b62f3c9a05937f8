#!/usr/bin/env bash
# Body storage at volume (issue 18): how many bytes of Postgres a capture takes.
#   bench/storage.sh                 1,000,000 captures per body size (1 KiB and 20 KiB)
#   bench/storage.sh --quick         20,000 per size
#   bench/storage.sh N               N per size (or STORAGE_N=N)
# Environment (optional):
#   STORAGE_SIZES="1024 20480"       body sizes in bytes
#   STORAGE_COMPRESSIONS="pglz lz4"  compression of captures.body: "schema" (whatever the
#                                    migrations leave), or a method for
#                                    ALTER TABLE captures ALTER COLUMN body SET COMPRESSION
#   STORAGE_CHUNK=20000              rows per INSERT ... SELECT statement (one transaction each)
#   PGHOST/PGPORT                    default 127.0.0.1:5432, user postgres, trust auth
# For each size and compression it creates a scratch database, applies the
# project's Postgres migrations (migrations/*.sql in order, with psql; the same
# SQL sqlx applies), sets the compression, inserts N captures shaped like real
# ones (UUIDv7-shaped ids, positions, a wire-order header list as the ingest
# records it, header_names, JSON bodies of exactly the size with per-row ids,
# timestamps, hashes and words, so compression is not unrealistically good),
# generated server-side with INSERT ... SELECT generate_series, with every index
# of the schema maintained on the way (as in production), then prints the
# bytes of heap, TOAST and indexes per capture and per million, and drops the
# database. Prints a markdown table on stdout; progress on stderr.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"

N=${STORAGE_N:-1000000}
case "${1:-}" in
  --quick) N=20000 ;;
  "") ;;
  *[!0-9]*) echo "usage: $0 [--quick | N]" >&2; exit 2 ;;
  *) N=$1 ;;
esac
read -ra SIZES <<<"${STORAGE_SIZES:-1024 20480}"
read -ra COMPRESSIONS <<<"${STORAGE_COMPRESSIONS:-pglz lz4}"
CHUNK=${STORAGE_CHUNK:-20000}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=postgres

say() { printf '== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }
psql_db() { psql -w -X -v ON_ERROR_STOP=1 -Atq -d "$@"; }

scripts/services.sh up >&2

# Disk: each run's database is dropped before the next; the largest one
# (N x 20 KiB, before compression, plus WAL) must fit.
max_size=0
for s in "${SIZES[@]}"; do ((s > max_size)) && max_size=$s; done
need_gb=$(awk -v n="$N" -v s="$max_size" 'BEGIN { printf "%.1f", n * s * 1.5 / 1e9 }')
data_dir=$(psql_db postgres -c 'show data_directory' 2>/dev/null || echo /)
[[ -d $data_dir ]] || data_dir=/
avail_gb=$(df -P -B1 "$data_dir" | awk 'NR == 2 { printf "%.1f", $4 / 1e9 }')
note "disk: $avail_gb GB free where Postgres keeps its data; the largest run needs up to about $need_gb GB"
awk -v a="$avail_gb" -v n="$need_gb" 'BEGIN { exit !(a > n + 5) }' \
  || { echo "not enough disk: $avail_gb GB free, need about $need_gb GB (+5 GB spare); use a smaller N" >&2; exit 1; }

SCRATCH=""
cleanup() {
  [[ -n $SCRATCH ]] && dropdb -w --if-exists "$SCRATCH" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT

# Body generator: a GitHub-push-like JSON document of exactly SIZE bytes for
# row G. Per row: delivery id, timestamps, repository and sender ids; per
# commit: a 40-hex sha, a tree id, 4-14 words out of 64, author, file path;
# the tail is a "note" of words padded to the exact size.
GEN_SQL=$(cat <<'SQL'
CREATE FUNCTION pg_temp.words(seed bigint, n int) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg((ARRAY['fix','add','update','remove','refactor','bump','merge','revert',
    'the','a','for','in','of','to','and','with','handler','parser','config','test','tests',
    'docs','readme','release','version','dependency','build','ci','lint','typo','error',
    'timeout','retry','cache','index','query','schema','migration','endpoint','webhook',
    'payload','header','signature','token','session','user','admin','api','client','server',
    'logging','metrics','alerts','dashboard','deploy','rollback','feature','flag','bug',
    'issue','review','cleanup','performance','memory'])[1 + abs(hashint8(seed * 131 + i)) % 64], ' ')
  FROM generate_series(1, n) AS i
$$;
CREATE FUNCTION pg_temp.body_json(g bigint, size int, ts timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  repo text := 'acme-' || (g % 97) || '/service-' || (g % 13);
  sha text;
  doc text;
  i int := 0;
  tail text;
BEGIN
  doc := '{"ref":"refs/heads/' || (ARRAY['main','develop','release','feature/x'])[1 + g % 4] ||
    '","before":"' || md5('b' || g) || substr(md5('c' || g), 1, 8) ||
    '","after":"' || md5('a' || g) || substr(md5('d' || g), 1, 8) ||
    '","delivery":"' || md5('e' || g)::uuid ||
    '","created_at":"' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
    '","repository":{"id":' || (100000 + g % 9973) || ',"full_name":"' || repo ||
    '","private":' || (g % 3 = 0) || ',"html_url":"https://github.com/' || repo ||
    '","default_branch":"main","stargazers_count":' || (g % 1711) || '},"pusher":{"name":"dev' || (g % 211) ||
    '","email":"dev' || (g % 211) || '@example.com"},"sender":{"login":"dev' || (g % 211) ||
    '","id":' || (5000000 + g % 211) || ',"type":"User","site_admin":false},"commits":[';
  LOOP
    sha := md5(g || ':' || i) || substr(md5(i || ':' || g), 1, 8);
    tail := CASE WHEN i > 0 THEN ',' ELSE '' END ||
      '{"id":"' || sha || '","tree_id":"' || md5(sha) || substr(md5('t' || sha), 1, 8) ||
      '","distinct":true,"message":"' || pg_temp.words(g * 1000 + i, 4 + abs(hashint8(g + i)) % 11) ||
      '","timestamp":"' || to_char((ts - (i * interval '37 seconds')) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
      '","url":"https://github.com/' || repo || '/commit/' || sha ||
      '","author":{"name":"Dev ' || ((g + i) % 211) || '","email":"dev' || ((g + i) % 211) ||
      '@example.com","username":"dev' || ((g + i) % 211) || '"},"added":[],"removed":[],"modified":["src/module_' ||
      ((g * 7 + i) % 53) || '/file_' || ((g + i * 13) % 101) || '.rs"]}';
    -- Leave room for the closing note ('],"note":"' + at least a word + '"}').
    EXIT WHEN octet_length(doc) + octet_length(tail) + 40 > size;
    doc := doc || tail;
    i := i + 1;
  END LOOP;
  doc := doc || '],"note":"';
  tail := pg_temp.words(g * 7919, 2 + (size - octet_length(doc)) / 5);
  RETURN doc || rpad(tail, size - octet_length(doc) - 2, ' ') || '"}';
END
$$;
SQL
)

ROWS=()
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
per() { awk -v b="$1" -v n="$N" 'BEGIN { printf "%.0f", b / n }'; }
gb_per_m() { awk -v b="$1" -v n="$N" 'BEGIN { printf "%.2f", b / n * 1e6 / 1e9 }'; }

for size in "${SIZES[@]}"; do
  for comp in "${COMPRESSIONS[@]}"; do
    SCRATCH="bench_storage_$$_${size}_${comp}"
    say "$N captures with $size-byte JSON bodies, body compression: $comp (database $SCRATCH)"
    createdb -w "$SCRATCH"
    for f in migrations/*.sql; do psql_db "$SCRATCH" -f "$f" >/dev/null; done
    if [[ $comp != schema ]]; then
      psql_db "$SCRATCH" -c "ALTER TABLE captures ALTER COLUMN body SET COMPRESSION $comp"
    fi
    col=$(psql_db "$SCRATCH" -c "SELECT format_type(atttypid, atttypmod) || ', attstorage ' || attstorage::text ||
      ', attcompression ' || COALESCE(NULLIF(attcompression::text, ''), '(default: ' || current_setting('default_toast_compression') || ')')
      FROM pg_attribute WHERE attrelid = 'captures'::regclass AND attname = 'body'")
    note "captures.body: $col"
    psql_db "$SCRATCH" -c "INSERT INTO paths (path_id, created_at) SELECT 'hook-' || p, now() FROM generate_series(0, 19) AS p"
    base_ms=$(( $(date +%s) * 1000 - 86400000 * 30 ))
    t0=$(date +%s.%N)
    for ((from = 0; from < N; from += CHUNK)); do
      to=$((from + CHUNK < N ? from + CHUNK : N))
      psql_db "$SCRATCH" <<SQL
$GEN_SQL
INSERT INTO captures (id, path_id, method, subpath, query_string, headers, header_names, body, ip,
                      user_agent, content_type, body_size, received_at, position)
SELECT (lpad(to_hex($base_ms + g * 2), 12, '0') || '7' || lpad(to_hex(g % 4096), 3, '0') ||
        '8' || substr(md5('u' || g), 1, 15))::uuid,
       'hook-' || (g % 20), 'POST', '', '',
       jsonb_build_array(
         jsonb_build_array('host', 'hooks.example.com'),
         jsonb_build_array('user-agent', 'GitHub-Hookshot/' || substr(md5('ua' || (g % 7)), 1, 7)),
         jsonb_build_array('content-length', '$size'),
         jsonb_build_array('accept', '*/*'),
         jsonb_build_array('content-type', 'application/json'),
         jsonb_build_array('x-github-delivery', md5('e' || g)::uuid::text),
         jsonb_build_array('x-github-event', 'push'),
         jsonb_build_array('x-github-hook-id', (400000000 + g % 997)::text),
         jsonb_build_array('x-hub-signature-256', 'sha256=' || md5('s' || g) || md5('t' || g)),
         jsonb_build_array('x-forwarded-for', '140.82.' || (g % 256) || '.' || (g * 7 % 256))),
       '["Host","User-Agent","Content-Length","Accept","Content-Type","X-GitHub-Delivery","X-GitHub-Event","X-GitHub-Hook-ID","X-Hub-Signature-256","X-Forwarded-For"]',
       convert_to(pg_temp.body_json(g, $size, to_timestamp(($base_ms + g * 2) / 1000.0)), 'UTF8'),
       '140.82.' || (g % 256) || '.' || (g * 7 % 256),
       'GitHub-Hookshot/' || substr(md5('ua' || (g % 7)), 1, 7), 'application/json', $size,
       to_timestamp(($base_ms + g * 2) / 1000.0), g + 1
FROM generate_series($from, $to - 1) AS g;
SQL
      if (( (to / CHUNK) % 10 == 0 || to == N )); then
        note "$to rows, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
      fi
    done
    t1=$(date +%s.%N)
    psql_db "$SCRATCH" -c "UPDATE capture_head SET last = $N"
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    rate=$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.0f", n / (b - a) }')
    # Vacuum sets the visibility map (as autovacuum would) and takes nothing away: no row was deleted.
    psql_db "$SCRATCH" -c "VACUUM (ANALYZE) captures"
    IFS='|' read -r heap toast table idx trgm total raw stored inline_n pglz_n lz4_n wrong < <(psql_db "$SCRATCH" -c "
      SELECT pg_relation_size(c.oid),
             COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0),
             pg_table_size(c.oid), pg_indexes_size(c.oid),
             pg_relation_size('captures_body_trgm'), pg_total_relation_size(c.oid),
             (SELECT sum(body_size) FROM captures), (SELECT sum(pg_column_size(body)) FROM captures),
             (SELECT count(*) FILTER (WHERE pg_column_compression(body) IS NULL) FROM captures),
             (SELECT count(*) FILTER (WHERE pg_column_compression(body) = 'pglz') FROM captures),
             (SELECT count(*) FILTER (WHERE pg_column_compression(body) = 'lz4') FROM captures),
             (SELECT count(*) FILTER (WHERE octet_length(body) <> body_size OR NOT (convert_from(body, 'UTF8')::jsonb ? 'commits'))
                FROM (SELECT * FROM captures LIMIT 1000) s)
      FROM pg_class c WHERE c.oid = 'captures'::regclass")
    ((wrong == 0)) || { echo "generated bodies are not $size-byte JSON documents ($wrong of the first 1000)" >&2; exit 1; }
    note "inserted in $secs s ($rate rows/s); heap $(mib "$heap") MiB, TOAST $(mib "$toast") MiB, indexes $(mib "$idx") MiB (trigram $(mib "$trgm")), total $(mib "$total") MiB"
    note "bodies: $(mib "$raw") MiB raw, $(mib "$stored") MiB as stored; values uncompressed $inline_n, pglz $pglz_n, lz4 $lz4_n"
    ROWS+=("| $size B | $comp | $(per "$heap") | $(per "$toast") | $(per "$table") | $(per "$idx") ($(per "$trgm")) | $(per "$total") | $(gb_per_m "$total") GB | $(awk -v r="$raw" -v s="$stored" 'BEGIN { printf "%.2f", s / r }') | $secs s ($rate/s) |")
    dropdb -w "$SCRATCH"; SCRATCH=""
  done
done

echo
echo "Body storage, $N captures per row, PostgreSQL $(psql_db postgres -c 'show server_version'), $(date -u +%Y-%m-%dT%H:%MZ); bytes per capture"
echo
echo "| body | compression | heap | TOAST (+ its index) | table (heap + TOAST + maps) | indexes (of which trigram) | total | total per million | body stored / raw | insert time |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
