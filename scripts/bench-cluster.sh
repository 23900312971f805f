#!/usr/bin/env bash
# bench-cluster: the coordination-network-toolkit comparison. Generates the
# 1M-row takedown-like CSV on which the reference toolkit (CNT) was timed
# (232 s on a quiet 2-core machine: preprocess 33 s, co_tweet 12.8 s,
# co_retweet 78.8 s, co_link 1.7 s, co_similar_tweet 105.5 s), runs
# normalize, fingerprint and cluster on it through a local dataset with the
# signals of the toolkit's four networks (co_text for co_tweet, co_repost for
# co_retweet, co_url for co_link, near_text for co_similar_tweet), and prints
# wall time and peak RSS per stage, edges per signal, what the viral-item bound
# left out and the scores against the planted groups (takedown eval with the
# generator's truth file); then the cluster stage again with the default
# signals (co_reply and co_hashtag_seq added), with --window auto and with
# --compat cnt (the toolkit's own networks, after the fingerprint stage again
# with the toolkit's keys), each with its wall time, peak RSS
# and stats.
#
# Usage: bash scripts/bench-cluster.sh [ROWS]   (default 1000000)
# Env:   BENCH_DIR (default /tmp/takedown-bench-cluster) keeps the generated
#        CSV between runs; the workspace is made fresh every time.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
dir="${BENCH_DIR:-/tmp/takedown-bench-cluster}"
gen="../shared/bench/takedown_like_csv.py"
mkdir -p "$dir"
name="r$rows"
if [ ! -s "$dir/$name.csv" ] || [ ! -s "$dir/$name.truth.csv" ]; then
  echo "== generating $dir/$name.csv ($rows rows) with $gen"
  python3 "$gen" --rows "$rows" --out "$dir/$name"
fi
bin="$dir/bin"; mkdir -p "$bin"
go build -o "$bin/takedown" ./cmd/takedown
go build -o "$bin/peakrss" ./scripts/peakrss
ws="$dir/ws"; rm -rf "$ws"
export TAKEDOWN_WORKSPACE="$ws"
td="$bin/takedown"
"$td" --quiet datasets add --format cnt "local/$name" "$dir/$name.csv"
"$td" --quiet fetch "local/$name"

echo "== $rows rows, $(nproc) cores; stage wall time and peak RSS (timings are noisy on a shared machine)"
printf '%-12s %8s %10s\n' stage wall_s peak_MiB
total=0
# measure LABEL ARGS...: runs takedown ARGS under peakrss, prints a row, adds the wall to total.
measure() {
  local label=$1; shift
  local res wall rss
  res=$( { "$bin/peakrss" -- "$td" --quiet "$@" >/dev/null; } 2>&1 | tail -1)
  wall=$(echo "$res" | sed -E 's/.*wall ([0-9.]+) s.*/\1/')
  rss=$(echo "$res" | sed -E 's/.*peak RSS ([0-9.]+) MiB.*/\1/')
  last_wall=$wall
  printf '%-12s %8s %10s\n' "$label" "$wall" "$rss"
}
signals=co_text,co_repost,co_url,near_text # the toolkit's four networks
for stage in normalize fingerprint cluster; do
  measure "$stage" "$stage" --signals "$signals" "local/$name"
  total=$(awk -v a="$total" -v b="$last_wall" 'BEGIN { printf "%.2f", a + b }')
done
printf '%-12s %8s   (reference toolkit: 232 s; 50x target: 4.6 s)\n' total "$total"

# cluster_stats: the stats of the newest cluster run.
cluster_stats() {
  local manifest
  manifest=$(ls -t "$ws"/runs/local/"$name"/cluster/*/manifest.json | head -1)
  python3 - "$manifest" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))["stats"]
for k in ("candidate_edges_by_signal", "edges_by_signal", "bounded_items_by_signal", "cnt_edges_by_type"):
    if k in st:
        print(f"{k:28s}", " ".join(f"{s}={n}" for s, n in sorted(st[k].items())))
for k in ("window_ms", "window_estimated", "window_estimate_urls", "edge_rows", "evidence_rows",
          "cluster_pairs", "low_affinity_pairs", "clusters", "clustered_accounts", "largest_cluster",
          "bounded_items", "bounded_posts"):
    if k in st:
        print(f"{k:28s} {st[k]}")
PY
}

echo "== cluster stats"
cluster_stats
echo "== quality against the planted groups"
"$td" eval --truth "$dir/$name.truth.csv" "local/$name"

echo "== cluster with the default signals (co_hashtag_seq and co_reply added)"
measure "cluster dflt" cluster "local/$name"
cluster_stats
"$td" eval --truth "$dir/$name.truth.csv" "local/$name"

echo "== --window auto (CooRnet's coordination interval estimated from the URLs)"
measure "cluster auto" cluster --window auto "local/$name"
cluster_stats
"$td" eval --truth "$dir/$name.truth.csv" "local/$name"

echo "== --compat cnt (also the coordination-network-toolkit's co_tweet/co_retweet/co_link networks)"
# The toolkit's text and URL keys are computed only when --compat cnt asks
# for them, so the fingerprint stage runs again first.
measure "fprint cnt" fingerprint --compat cnt "local/$name"
measure "cluster cnt" cluster --compat cnt "local/$name"
cluster_stats
run=$(dirname "$(ls -t "$ws"/runs/local/"$name"/cluster/*/manifest.json | head -1)")
echo "cnt_edges.csv: $(($(wc -l <"$run/cnt_edges.csv") - 1)) rows, cnt_edges.graphml: $(wc -c <"$run/cnt_edges.graphml") bytes"
