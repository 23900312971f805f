#!/usr/bin/env bash
# bench-images: the media path's throughput and memory.
#   1. fingerprint's image pass on 2 cores (GOMAXPROCS=2): 256 distinct
#      1000x750 baseline JPEGs of quality 85 in a stored zip, streamed,
#      hashed (sha256, decode, PDQ, dHash) and written: images/s (wall and
#      per CPU second), CPU ms per image, peak live heap and the process's
#      peak RSS; beside it the plain image/jpeg decode and imagehash.Hash on
#      one core.
#   2. near_image's candidate generation (imagehash.AllPairs) on 1,000,000
#      planted PDQ hashes: wall and CPU seconds, pairs, and the recall of 500
#      sampled hashes against brute force over all 1,000,000.
#   3. recall against brute force of every pair on N hashes (default 100,000).
# Usage: bash scripts/bench-images.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/peakrss" ./scripts/peakrss
go test -c -o "$dir/fingerprint.test" ./pipeline/fingerprint
go test -c -o "$dir/cluster.test" ./pipeline/cluster
echo "== fingerprint: images (GOMAXPROCS=2)"
GOMAXPROCS=2 "$dir/peakrss" -- "$dir/fingerprint.test" -test.run '^$' \
  -test.bench 'Image(Decode|Hash)$|FingerprintImages' -test.benchtime 3x 2>&1 | grep -E 'Benchmark|peak'
echo "== cluster: near_image candidates, 1,000,000 hashes"
GOMAXPROCS=2 "$dir/peakrss" -- "$dir/cluster.test" -test.run '^$' \
  -test.bench 'NearImageCandidates1M' -test.benchtime 1x 2>&1 | grep -E 'Benchmark|peak'
echo "== cluster: near_image recall against brute force, $n hashes"
TAKEDOWN_IMAGE_RECALL_N="$n" "$dir/cluster.test" -test.run 'TestNearImageRecall' -test.v -test.timeout 60m 2>&1 \
  | grep -E 'candidates|PASS|FAIL'
