#!/usr/bin/env bash
# bench-images: the media path's throughput and memory.
#   1. images/s on 2 cores (GOMAXPROCS=2) for 1000x750 baseline JPEGs of
#      quality 85, beside the target of 400 images/s: the plain image/jpeg
#      decode alone, and the stage's hashing (sha256, decode, PDQ, dHash,
#      Parquet, the zip streamed) by the exact route (full decode, PDQ
#      bit-exact) and the fast route (--image-decode fast: 1/4-scale DCT
#      means). Each in its own process: images/s by the wall clock (which
#      the machine's other load lowers), images per CPU second and CPU ms
#      per image (user+sys of the process), the 2-core capacity (2 x
#      images per CPU second: the images/s with both cores to itself), peak
#      RSS, and the load average before the run.
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
echo "== fingerprint: images/s on 2 cores, 1000x750 baseline JPEGs q85 (target 400 images/s)"
printf '%-26s %9s %12s %12s %12s %10s %8s  %s\n' route images/s images/cpu-s cpu-ms/image 2-core-cap peak-RSS target "load (1m 5m 15m)"
bench() { # label, benchmark regexp, benchtime
  local load out
  load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*load average[s]*: //')"
  out="$(GOMAXPROCS=2 "$dir/peakrss" -- "$dir/fingerprint.test" -test.run '^$' -test.bench "$2" -test.benchtime "$3" 2>&1)"
  echo "$out" | awk -v label="$1" -v load="$load" '
    /^Benchmark/ { for (i = 3; i < NF; i++) m[$(i+1)] = $i }
    /peak RSS/ { rss = $(NF-1) " MiB" }
    END {
      cap = 2 * m["images/cpu-s"]
      printf "%-26s %9.1f %12.1f %12.2f %12.0f %10s %8s  %s\n", label, m["images/s"], m["images/cpu-s"], m["cpu-ms/image"], cap, rss, (cap >= 400 ? "met" : "missed"), load
    }'
}
bench "image/jpeg decode only" 'ImageDecode$' 400x
bench "hash, exact route" 'ImageHash/exact$' 100x
bench "hash, fast route" 'ImageHash/fast$' 400x
bench "stage pass, exact route" 'FingerprintImages/exact$' 1x
bench "stage pass, fast route" 'FingerprintImages/fast$' 3x
echo "== cluster: near_image candidates, 1,000,000 hashes"
GOMAXPROCS=2 "$dir/peakrss" -- "$dir/cluster.test" -test.run '^$' \
  -test.bench 'NearImageCandidates1M' -test.benchtime 1x 2>&1 | grep -E 'Benchmark|peak'
echo "== cluster: near_image recall against brute force, $n hashes"
TAKEDOWN_IMAGE_RECALL_N="$n" "$dir/cluster.test" -test.run 'TestNearImageRecall' -test.v -test.timeout 60m 2>&1 \
  | grep -E 'candidates|PASS|FAIL'
