#!/usr/bin/env bash
# bench-normalize: takedown's normalize stage against DuckDB on the same
# >= 1 GB tweets CSV (Twitter IO layout, plain csv), in the same run.
#
#   bash scripts/bench-normalize.sh            # or: just bench-normalize
#
# Environment: BENCH_POSTS (default 1900000 posts, ~1.08 GB), BENCH_REPEAT
# (default 2 runs of each tool, alternating), BENCH_DIR (default a temp dir,
# removed at the end), DUCKDB_NODE_VERSION (default 1.5.6-r.1),
# BENCH_CONTAINER (csv, the default, or gz: the same tweets as one .csv.gz,
# which both tools inflate as they read; bytes and MB/s are then those of the
# compressed file).
#
# takedown: `takedown normalize` on a local dataset holding the file: CSV ->
# accounts, posts (lists parsed, times, ids checked), rejects; Snappy Parquet (pqio format version 4).
# DuckDB: read_csv(all_varchar) -> the same post columns with hashtags, urls
# and mentions parsed into lists and counts cast -> COPY TO Snappy Parquet,
# through the npm package @duckdb/node-api installed into the temp dir.
# Peak RSS of both comes from scripts/peakrss (max RSS of the process tree).
# The machine may be shared: repeat and read the spread, not one number.
set -euo pipefail
cd "$(dirname "$0")/.."
posts="${BENCH_POSTS:-1900000}"
container="${BENCH_CONTAINER:-csv}"
case "$container" in
  csv) suffix= ;;
  gz) suffix=.gz ;;
  *) echo "bench-normalize: BENCH_CONTAINER must be csv or gz, not $container" >&2; exit 2 ;;
esac
repeat="${BENCH_REPEAT:-2}"
duck_version="${DUCKDB_NODE_VERSION:-1.5.6-r.1}"
out="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$out"
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$out"' EXIT

go build -o "$out/takedown" ./cmd/takedown
go build -o "$out/peakrss" ./scripts/peakrss

echo "== generating $posts posts ($container) into $out/src"
mkdir -p "$out/src"
"$out/takedown" --quiet synth --out "$out/src" --posts "$posts" --accounts $(( posts / 34 )) \
  --seed 11 --campaign bench --container "$container" >/dev/null
csv="$out/src/bench_tweets_csv_hashed.csv$suffix"
bytes=$(stat -c %s "$csv")
echo "tweets $container: $bytes bytes"
if [ "$container" = csv ] && [ "$bytes" -lt 1000000000 ] && [ -z "${BENCH_POSTS:-}" ]; then
  echo "bench-normalize: the file is smaller than 1 GB; raise BENCH_POSTS" >&2; exit 1
fi

echo "== installing @duckdb/node-api@$duck_version into $out/duck"
mkdir -p "$out/duck"
cp scripts/bench-normalize-duckdb.mjs "$out/duck/duck.mjs"
(cd "$out/duck" && npm init -y >/dev/null && npm install --no-audit --no-fund "@duckdb/node-api@$duck_version" >/dev/null)

ws="$out/ws"
export TAKEDOWN_WORKSPACE="$ws"
"$out/takedown" --quiet datasets add --format twitter-io bench/nz "$csv"
"$out/takedown" --quiet fetch bench/nz

# measure NAME COMMAND...: runs COMMAND under peakrss and bash's time, and
# prints one line: wall, cpu and peak RSS.
measure() {
  local name=$1; shift
  local log="$out/$name.log"
  local TIMEFORMAT='cpu %U %S'
  { time "$out/peakrss" -- "$@" >"$out/$name.out" 2>"$log.peak"; } 2>"$log.time"
  wall=$(sed -nE 's/.*wall ([0-9.]+) s.*/\1/p' "$log.peak")
  rss=$(sed -nE 's/.*peak RSS ([0-9.]+) MiB.*/\1/p' "$log.peak")
  cpu=$(awk '/^cpu/ { printf "%.1f", $2 + $3 }' "$log.time")
  if [ -z "$wall" ] || grep -q '"exit_code"' "$log.peak"; then
    echo "bench-normalize: $name failed:" >&2; tail -5 "$log.peak" "$out/$name.out" >&2; exit 1
  fi
}

row() { # tool rows wall cpu rss
  awk -v t="$1" -v n="$2" -v w="$3" -v c="$4" -v r="$5" -v b="$bytes" 'BEGIN {
    printf "%-9s %9d %8.1f %9.0f %7.1f %7.1f %9.1f\n", t, n, w, n / w, b / 1e6 / w, c, r }'
}

pairs=""
echo "== normalize: $bytes bytes, $repeat runs each (alternating)"
printf '%-9s %9s %8s %9s %7s %7s %9s\n' tool rows wall_s rows/s MB/s cpu_s peak_MiB
for i in $(seq "$repeat"); do
  rm -rf "$ws/runs/bench/nz/normalize"
  measure takedown "$out/takedown" --quiet --json normalize bench/nz
  tk_rows=$(grep -o '"posts":[0-9]*' "$out/takedown.log.peak" | head -1 | cut -d: -f2)
  row takedown "${tk_rows:-0}" "$wall" "$cpu" "$rss"
  tk_wall=$wall tk_cpu=$cpu
  rm -f "$out/duck.parquet"
  measure duckdb node "$out/duck/duck.mjs" "$csv" "$out/duck.parquet"
  dk_rows=$(sed -nE 's/.*rows=([0-9]+).*/\1/p' "$out/duckdb.out")
  row duckdb "${dk_rows:-0}" "$wall" "$cpu" "$rss"
  pairs+="$(awk -v tn="${tk_rows:-0}" -v tw="$tk_wall" -v tc="$tk_cpu" -v dn="${dk_rows:-0}" -v dw="$wall" -v dc="$cpu" \
    'BEGIN { printf "%.2f %.2f", (tn / tw) / (dn / dw), dc / tc }')"$'\n'
done
# The rows/s ratio of each pair (takedown's over DuckDB's) and DuckDB's CPU
# over takedown's, then their medians: a shared machine moves single runs,
# so read the spread.
printf '%s' "$pairs" | awk '
  { r[NR] = $1; c[NR] = $2; printf "pair %d: rows/s ratio %.2f, cpu ratio %.2f\n", NR, $1, $2 }
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
  }
  END { n = NR; printf "median over %d pairs: rows/s ratio %.2f, cpu ratio %.2f\n", n, median(r, n), median(c, n) }'
echo "outputs: takedown posts.parquet $(stat -c %s "$ws"/runs/bench/nz/normalize/*/posts.parquet) bytes, duckdb $(stat -c %s "$out/duck.parquet") bytes"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
