#!/usr/bin/env bash
# ids: exported ids stay exact. Runs the one-liners of docs/export.md's
# "Ids stay exact" section verbatim (extracted from the doc, so doc and test
# cannot drift) in Debian's pandas and R and in DuckDB, on the demo's posts
# and evidence exported as CSV and JSON lines, and compares every id column
# (takedown.IDColumns) with the Parquet values read through the Go API: the
# checked one-liners must give 0 differences, and the "without options"
# ones exactly the numbers the doc states.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Debian's python3-pandas and r-base-core. python3 on PATH may be a pyenv
# shim without pandas: use Debian's interpreter by its path.
py=/usr/bin/python3
need=()
[ -x "$py" ] && "$py" -c 'import pandas' 2>/dev/null || need+=(python3-pandas)
command -v Rscript >/dev/null || need+=(r-base-core)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# DuckDB through npm (no PyPI), as scripts/bench-normalize.sh does.
duck_version="${DUCKDB_NODE_VERSION:-1.5.6-r.1}"
mkdir -p "$dir/duck"
cp .ci/ids/duckdb_dump.mjs "$dir/duck/"
(cd "$dir/duck" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "@duckdb/node-api@$duck_version" >/dev/null)
echo "installed in ${SECONDS}s: pandas $("$py" -c 'import pandas; print(pandas.__version__)'), $(R --version | sed -n 1p), @duckdb/node-api $duck_version"

# The demo (cache hits when .ci/run ran it), its tables exported, and the
# reference values straight from Parquet.
go build -o "$dir/takedown" ./cmd/takedown
export TAKEDOWN_WORKSPACE="${TAKEDOWN_WORKSPACE:-$dir/ws}"
"$dir/takedown" --quiet run >/dev/null
mkdir -p "$dir/out"
for t in posts evidence; do
  for f in csv jsonl; do "$dir/takedown" --quiet export --format "$f" -o "$dir/out/$t.$f" "$t"; done
done
go run ./.ci/ids/reference "$TAKEDOWN_WORKSPACE" "$dir/ref"
echo "exported at ${SECONDS}s"

# The one-liners: rows of the two tables of the section, as
# reader <TAB> table <TAB> wanted differences <TAB> code.
"$py" - docs/export.md >"$dir/oneliners.tsv" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sec = text.split("\n## Ids stay exact\n", 1)[1].split("\n## ", 1)[0]
n = 0
for line in sec.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
    code = [re.fullmatch(r"`(.*\(.*)`", c) for c in cells]  # a call, not a name
    if len(cells) == 3 and code[1] and code[2]:  # checked: 0 differences
        for table, m in (("posts", code[1]), ("evidence", code[2])):
            print(cells[0], table, 0, m.group(1), sep="\t"); n += 1
    elif len(cells) == 5 and code[1] and code[3]:  # without options: as stated
        for table, m, want in (("posts", code[1], cells[2]), ("evidence", code[3], cells[4])):
            print(cells[0], table, want.replace(",", ""), m.group(1), sep="\t"); n += 1
if n < 16:
    sys.exit(f"docs/export.md: found {n} one-liners in 'Ids stay exact', want 16")
PY

# One process per reader runs all of its one-liners (jobs: dump folder,
# id columns, code), then compare.py checks the counts.
cd "$dir/out"
i=0
: >"$dir/pandas.tsv"; : >"$dir/r.tsv"; : >"$dir/duckdb.tsv"
while IFS=$'\t' read -r reader table want code; do
  job="$dir/dump/$i"$'\t'"$(cat "$dir/ref/$table.cols")"$'\t'"$code"
  case "$reader" in
    pandas*) echo "$job" >>"$dir/pandas.tsv" ;;
    R*) echo "$job" >>"$dir/r.tsv" ;;
    DuckDB*) echo "$job" >>"$dir/duckdb.tsv" ;;
    *) echo "docs/export.md: unknown reader '$reader'"; exit 1 ;;
  esac
  i=$((i + 1))
done <"$dir/oneliners.tsv"
"$py" "$root/.ci/ids/pandas_dump.py" "$dir/pandas.tsv" 2>"$dir/pandas.log" || { cat "$dir/pandas.log"; exit 1; }
Rscript "$root/.ci/ids/r_dump.R" "$dir/r.tsv" 2>"$dir/r.log" || { cat "$dir/r.log"; exit 1; }
node "$dir/duck/duckdb_dump.mjs" "$dir/duckdb.tsv" || exit 1
if ! "$py" "$root/.ci/ids/compare.py" "$dir/ref" "$dir/oneliners.tsv" "$dir/dump"; then
  echo "ids: a one-liner of docs/export.md does not give the differences the doc states"
  exit 1
fi
echo "ids OK (${SECONDS}s)"
