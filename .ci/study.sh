#!/usr/bin/env bash
# CI part for studies: a two-dataset study (the demo and a synthetic local
# release) with a cluster-window sweep runs, a second run is all cache hits,
# status and verify pass, and DuckDB reads the stable current/ and variants/
# paths with row counts equal to the manifests'. DuckDB comes from npm
# (@duckdb/node-api), installed into a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/takedown" ./cmd/takedown
td="$tmp/takedown"

echo "== study: install DuckDB (npm @duckdb/node-api)"
duck_version=1.5.6-r.1
(cd "$tmp" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "@duckdb/node-api@$duck_version" >/dev/null) || {
  echo "could not install @duckdb/node-api@$duck_version from npm"; exit 1; }
cat > "$tmp/duck.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const r = await c.runAndReadAll(process.argv[2]);
for (const row of r.getRows()) console.log(row.map(String).join('\t'));
JS

echo "== study: two datasets and a window sweep"
study="$tmp/paper"
mkdir -p "$study"
cd "$study"
unset TAKEDOWN_WORKSPACE
"$td" synth --out other --posts 2000 --accounts 300 --seed 7 --campaign other >/dev/null
cat > takedown.yaml <<YAML
name: ci-two-releases
datasets:
  - name: demo
  - name: local/other
    files:
      - path: other/other_users_csv_hashed.zip
        sha256: $(sha256sum other/other_users_csv_hashed.zip | cut -c1-64)
      - path: other/other_tweets_csv_hashed.zip
        sha256: $(sha256sum other/other_tweets_csv_hashed.zip | cut -c1-64)
params:
  cluster:
    window_seconds: 60
sweep:
  cluster.window_seconds: [10, 300]
YAML
"$td" study show
"$td" --quiet run
"$td" run > second.txt
if grep -q "ran in" second.txt; then echo "the second study run did work"; cat second.txt; exit 1; fi
"$td" status | tail -1
"$td" verify | tail -1

echo "== study: DuckDB reads current/ and variants/"
# rows of a table of the current run of a dataset, from its manifest
manifest_rows() { # dataset table [variant]
  local p
  p=$("$td" path --dataset "$1" ${3:+--variant "$3"} "$2")
  node -e 'const fs=require("fs"),path=require("path");const f=fs.realpathSync(process.argv[1]);const m=JSON.parse(fs.readFileSync(path.join(path.dirname(f),"manifest.json")));console.log(m.outputs.find(o=>o.file===path.basename(f)).rows)' "$p"
}
cd "$tmp"
bad=0
for table in posts clusters edges; do
  while IFS=$'\t' read -r ds n; do
    want=$(cd "$study" && manifest_rows "$ds" "$table")
    echo "current/$table dataset=$ds: DuckDB $n rows, manifest $want"
    [ "$n" = "$want" ] || bad=1
  done < <(node duck.mjs "SELECT dataset, count(*) FROM read_parquet('$study/takedown-work/current/$table/*/*.parquet', hive_partitioning = true) GROUP BY dataset ORDER BY dataset")
done
seen=$(node duck.mjs "SELECT count(DISTINCT dataset) FROM read_parquet('$study/takedown-work/current/posts/*/*.parquet', hive_partitioning = true)")
[ "$seen" = 2 ] || { echo "current/posts holds $seen datasets, want 2"; bad=1; }
while IFS=$'\t' read -r v ds n; do
  want=$(cd "$study" && manifest_rows "$ds" edges "$v")
  echo "variants/edges variant=$v dataset=$ds: DuckDB $n rows, manifest $want"
  [ "$n" = "$want" ] || bad=1
done < <(node duck.mjs "SELECT variant, dataset, count(*) FROM read_parquet('$study/takedown-work/variants/edges/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY 1, 2")
[ "$bad" = 0 ] || { echo "study: DuckDB and the manifests disagree"; exit 1; }
echo "study: OK"
