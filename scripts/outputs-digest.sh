#!/usr/bin/env bash
# Prints the sha256 of every file of every run in a workspace, one line
# each (dataset/stage/run_id/file sha256), sorted; a run's manifest.json is
# hashed without its timings, which differ between two computations of the
# same bytes. Two workspaces whose digests are equal hold byte-identical
# runs: scripts/outputs-digest.sh WS1 > a; scripts/outputs-digest.sh WS2 > b; diff a b
set -euo pipefail
ws=${1:?usage: outputs-digest.sh WORKSPACE}
cd "$ws/runs"
find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
  if [ "$(basename "$f")" = manifest.json ]; then
    sum=$(jq -S 'del(.timings)' "$f" | sha256sum | cut -c1-64)
  else
    sum=$(sha256sum "$f" | cut -c1-64)
  fi
  echo "$f $sum"
done
