#!/usr/bin/env bash
# bench-summarize: peak memory of the stages after cluster at whole-archive
# scale. Generates a seeded synthetic release with `takedown synth` (POSTS
# posts by POSTS/20 accounts), runs fetch to cluster on it (normalize
# measured), then summarize (its published run removed first, so each call
# recomputes it), and prints the wall time, user+system CPU and peak RSS of
# normalize and summarize, and the sha256 of the summarize outputs.
#
# Usage: bash scripts/bench-summarize.sh [POSTS]   (default 2000000)
# Env:   BENCH_DIR (default /tmp/takedown-bench-summarize) keeps the release
#        and the workspace between runs (delete it to start over);
#        TAKEDOWN_BIN, a takedown binary to measure instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
posts="${1:-2000000}"
accounts=$((posts / 20))
dir="${BENCH_DIR:-/tmp/takedown-bench-summarize}"
name="s${posts}"
ds="local/$name"
bin="$dir/bin"; mkdir -p "$bin"
td="${TAKEDOWN_BIN:-}"
if [ -z "$td" ]; then go build -o "$bin/takedown" ./cmd/takedown; td="$bin/takedown"; fi
go build -o "$bin/peakrss" ./scripts/peakrss
export TAKEDOWN_WORKSPACE="$dir/ws-$name"

timecmd=()
if [ -x /usr/bin/time ]; then timecmd=(/usr/bin/time -f 'cpu %U %S'); fi
printf '%-22s %8s %8s %9s  %s\n' run wall_s cpu_s peak_MiB load
measure() {
  local label=$1; shift
  local log="$dir/last.log"
  "$bin/peakrss" -- "${timecmd[@]}" "$td" --json "$@" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
  local wall rss cpu
  wall=$(sed -nE 's/.*wall ([0-9.]+) s.*/\1/p' "$log" | tail -1)
  rss=$(sed -nE 's/.*peak RSS ([0-9.]+) MiB.*/\1/p' "$log" | tail -1)
  cpu=$(awk '/^cpu /{ printf "%.1f", $2 + $3 }' "$log")
  printf '%-22s %8s %8s %9s  %s\n' "$label" "$wall" "${cpu:--}" "$rss" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
}

if [ ! -f "$dir/$name/.done" ]; then
  rm -rf "$dir/$name" "$TAKEDOWN_WORKSPACE"
  mkdir -p "$dir/$name"
  measure "synth $posts" synth --out "$dir/$name" --posts "$posts" --accounts "$accounts" --seed 3
  touch "$dir/$name/.done"
fi
if [ ! -d "$TAKEDOWN_WORKSPACE/runs/$ds/cluster" ]; then
  "$td" --quiet datasets add "$ds" "$dir/$name"/*.zip "$dir/$name"/*truth* >/dev/null
  "$td" --quiet fetch "$ds"
  measure normalize normalize "$ds"
  "$td" --quiet fingerprint "$ds"
  "$td" --quiet cluster "$ds"
fi
rm -rf "$TAKEDOWN_WORKSPACE/runs/$ds/summarize"
measure summarize summarize "$ds"
printf '  sha256'
for t in release_summary cluster_summary daily_timeline top_entities coordination_share sensitivity; do
  printf ' %s %.12s' "$t" "$(sha256sum "$("$td" path -d "$ds" "$t")" | cut -d' ' -f1)"
done
echo
