#!/usr/bin/env bash
# Benchmarks: Go micro-benchmarks, then the whole pipeline on generated
# archives of growing size, printing throughput and peak memory per stage run.
# Usage: bash scripts/bench.sh [POSTS...]   (default: 30000 300000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(30000 300000 1000000)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/takedown" ./cmd/takedown
go build -o "$out/peakrss" ./scripts/peakrss

echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 3x ./pipeline/... ./internal/... | grep -E '^(Benchmark|ok|PASS)' || true

echo "== whole pipeline (normalize -> summarize) on generated archives"
printf '%-10s %-12s %10s %14s %12s\n' posts stage wall_s posts_per_s peak_MiB
for n in "${sizes[@]}"; do
  src="$out/src-$n"; mkdir -p "$src"
  accounts=$(( n / 30 )); [ "$accounts" -ge 1000 ] || accounts=1000
  "$out/takedown" synth --out "$src" --posts "$n" --accounts "$accounts" --seed 7 --campaign bench >/dev/null
  # Register the generated files as a local dataset by importing them as the demo layout.
  ws="$out/ws-$n"
  for stage in normalize fingerprint cluster summarize; do
    if [ "$stage" = normalize ]; then
      TAKEDOWN_WORKSPACE="$ws" "$out/takedown" --quiet datasets add bench/synthetic "$src"/*
      TAKEDOWN_WORKSPACE="$ws" "$out/takedown" --quiet fetch bench/synthetic
    fi
    res=$( { TAKEDOWN_WORKSPACE="$ws" "$out/peakrss" -- "$out/takedown" --quiet "$stage" bench/synthetic >/dev/null; } 2>&1 | tail -1)
    wall=$(echo "$res" | sed -E 's/.*wall ([0-9.]+) s.*/\1/')
    rss=$(echo "$res" | sed -E 's/.*peak RSS ([0-9.]+) MiB.*/\1/')
    pps=$(awk -v n="$n" -v w="$wall" 'BEGIN { if (w > 0) printf "%.0f", n / w; else print "-" }')
    printf '%-10s %-12s %10s %14s %12s\n' "$n" "$stage" "$wall" "$pps" "$rss"
  done
done
