#!/usr/bin/env bash
# CI steps of the normalize stage: the tests over every real sample in
# ../shared/data (exact row and reject counts; they must not skip here), the
# synthetic-variant tests, and a short fuzz pass of every normalize parser.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== normalize: real data in ../shared/data"
if [ ! -d ../shared/data ]; then echo "../shared/data is missing: the real-data tests would skip"; exit 1; fi
out=$(go test -count=1 -run 'TestRealData|TestSynthVariants' -v ./pipeline/normalize/)
echo "$out" | grep -E '^(---|ok|FAIL)' || true
if echo "$out" | grep -q -- '--- SKIP'; then echo "real-data tests skipped"; exit 1; fi

echo "== normalize: fuzz (${FUZZTIME:=8s} per target)"
for target in FuzzTweetsFile FuzzParseList FuzzCNTFile FuzzFiveThirtyEightFile FuzzNBCUsersFile \
  FuzzNBCTweetsFile FuzzRedditCommentsFile FuzzRedditSeedFile; do
  printf "%s: " "$target"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" ./pipeline/normalize/ | tail -1
done
