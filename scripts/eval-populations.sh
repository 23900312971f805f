#!/usr/bin/env bash
# eval-populations: the cluster stage's quality table (docs/evaluation.md).
# Generates the synthetic populations of the table with `takedown synth`
# (3000 accounts, about 100,000 posts each: seeds 1-3 and seed 1 with three
# times the viral hard negatives, on which the defaults were chosen; seeds 4
# and 5 and seed 5 with three times the viral activity, held out), runs
# the pipeline to the cluster stage with the default parameters (or the
# cluster flags given as arguments) and prints one row per population from
# `takedown eval -o json`.
#
# Usage: bash scripts/eval-populations.sh [CLUSTER FLAGS...]
# Env:   EVAL_DIR (default /tmp/takedown-eval) keeps the generated archives.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${EVAL_DIR:-/tmp/takedown-eval}"
mkdir -p "$dir"
go build -o "$dir/takedown" ./cmd/takedown
td="$dir/takedown"
ws="$dir/ws"; rm -rf "$ws"
export TAKEDOWN_WORKSPACE="$ws"
printf '%-22s %7s %7s %7s %7s %16s %8s\n' population B3_P B3_R B3_F1 pair_F1 organic_FP groups
for pop in s1:1:1 s2:2:1 s3:3:1 s1v3:1:3 s4:4:1 s5:5:1 s5v3:5:3; do
  IFS=: read -r name seed viral <<<"$pop"
  out="$dir/$name"
  if [ ! -d "$out" ]; then
    "$td" --quiet synth --out "$out" --posts 100000 --accounts 3000 --seed "$seed" --viral-factor "$viral"
  fi
  "$td" --quiet datasets add "local/$name" "$out"/* >/dev/null
  "$td" --quiet run --to cluster "$@" "local/$name"
  "$td" eval -o json "local/$name" | python3 -c '
import json, sys
seed, viral = sys.argv[1:3]
r = json.load(sys.stdin)
label = f"seed {seed}" + (f", viral x{viral}" if viral != "1" else "")
org = "%d/%d (%.2f%%)" % (r["organic_clustered"], r["organic_accounts"], 100 * r["organic_fp_share"])
grp = "%d/%d" % (r["groups_recovered"], r["planted_groups"])
print("%-22s %7.4f %7.4f %7.4f %7.4f %16s %8s" % (label, r["bcubed_precision"], r["bcubed_recall"],
      r["bcubed_f1"], r["pairwise_f1"], org, grp))
' "$seed" "$viral"
done
