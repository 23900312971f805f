#!/usr/bin/env bash
# bench-scale: the cluster stage at whole-archive scale. Generates a seeded
# synthetic release with `takedown synth` (POSTS posts by ACCOUNTS accounts),
# runs normalize and fingerprint on it, then the cluster stage once per
# setting of CLUSTER_RUNS (each a fresh run: its published run is removed
# first; --memory and --partitions do not change the run id), and prints per
# run the wall time, user+system CPU, peak RSS, partitions and bytes spilled
# to disk, the disk its outputs take, and the sha256 of the three tables (the
# same for every setting).
#
# Usage: bash scripts/bench-scale.sh [POSTS] [ACCOUNTS]   (default 2000000 100000)
# Env:   BENCH_DIR (default /tmp/takedown-bench-scale) keeps the release and
#        the workspace between runs (delete it to start over);
#        CLUSTER_RUNS, ';'-separated cluster flag sets
#        (default ";--partitions 1;--partitions 8": default flags first);
#        SYNTH_FLAGS, extra synth flags for the release's layout, e.g.
#        "--container gz --parts 16" (gzip parts, as the real releases ship in
#        parts) so that a large release fits on the disk; DROP_RELEASE=1
#        deletes the generated release once fetch has landed it in the
#        workspace's source store (the disk of one copy, not two);
#        DROP_UPSTREAM=1 deletes a stage's input once the next stage has
#        landed: the source store's files after normalize, normalize's tables
#        after fingerprint (the cluster stage reads only the fingerprints), so
#        that the disk holds two stages' data at a time, not four. The
#        workspace then lacks those files: it is for this benchmark only.
set -euo pipefail
cd "$(dirname "$0")/.."
posts="${1:-2000000}"
accounts="${2:-100000}"
dir="${BENCH_DIR:-/tmp/takedown-bench-scale}"
runs="${CLUSTER_RUNS-;--partitions 1;--partitions 8}"
synthflags="${SYNTH_FLAGS:-}"
name="s${posts}a${accounts}"
ds="local/$name"
bin="$dir/bin"; mkdir -p "$bin"
go build -o "$bin/takedown" ./cmd/takedown
go build -o "$bin/peakrss" ./scripts/peakrss
td="$bin/takedown"
export TAKEDOWN_WORKSPACE="$dir/ws"

# measure LABEL ARGS...: runs takedown --json ARGS under peakrss (and
# /usr/bin/time for the CPU when it is installed) and prints a row.
timecmd=()
if [ -x /usr/bin/time ]; then timecmd=(/usr/bin/time -f 'cpu %U %S'); fi
printf '%-34s %8s %8s %9s %5s %11s %9s\n' run wall_s cpu_s peak_MiB parts spilled_MiB disk_MiB
# measure LABEL DIR ARGS...: DIR is what the step writes (its disk column).
measure() {
  local label=$1 out=$2; shift 2
  local log="$dir/last.log"
  "$bin/peakrss" -- "${timecmd[@]}" "$td" --json "$@" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
  local wall rss cpu parts spilled
  wall=$(sed -nE 's/.*wall ([0-9.]+) s.*/\1/p' "$log" | tail -1)
  rss=$(sed -nE 's/.*peak RSS ([0-9.]+) MiB.*/\1/p' "$log" | tail -1)
  cpu=$(awk '/^cpu /{ printf "%.1f", $2 + $3 }' "$log")
  parts=$(sed -nE 's/.*"msg":"loaded the fingerprints".*"partitions":([0-9]+).*/\1/p' "$log" | tail -1)
  spilled=$(sed -nE 's/.*"spilled_bytes":([0-9]+).*/\1/p' "$log" | tail -1)
  spilled=$(awk -v b="${spilled:-0}" 'BEGIN { printf "%.1f", b / 1048576 }')
  local disk=-
  if [ -e "$out" ]; then disk=$(du -sb "$out" | awk '{ printf "%.1f", $1 / 1048576 }'); fi
  printf '%-34s %8s %8s %9s %5s %11s %9s\n' "$label" "$wall" "${cpu:--}" "$rss" "${parts:--}" "$spilled" "$disk"
}

# drop DIR [PATTERN]: deletes the files of DIR (those named PATTERN) and
# says how much disk that freed.
drop() {
  local mib
  mib=$(find "$1" -type f -name "${2:-*}" -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
  find "$1" -type f -name "${2:-*}" -delete
  printf '  dropped %s MiB of %s\n' "$mib" "${1#"$dir/"}"
}

if [ ! -f "$dir/$name/.done" ]; then
  rm -rf "$dir/$name" "$TAKEDOWN_WORKSPACE"
  mkdir -p "$dir/$name"
  # shellcheck disable=SC2086 # flags are words
  measure "synth $posts posts" "$dir/$name" synth --out "$dir/$name" --posts "$posts" --accounts "$accounts" --seed 3 $synthflags
  touch "$dir/$name/.done"
fi
if [ ! -d "$TAKEDOWN_WORKSPACE/runs/$ds/fingerprint" ]; then
  files=()
  for f in "$dir/$name"/*; do case $f in *truth*|*.done) ;; *) files+=("$f") ;; esac; done
  "$td" --quiet datasets add "$ds" "${files[@]}" "$dir/$name"/*truth* >/dev/null
  for stage in fetch normalize fingerprint; do
    measure "$stage" "$TAKEDOWN_WORKSPACE/runs/$ds/$stage" "$stage" "$ds"
    if [ "$stage" = fetch ] && [ "${DROP_RELEASE:-0}" = 1 ]; then
      find "$dir/$name" -type f ! -name '*truth*' ! -name .done -delete
    fi
    if [ "${DROP_UPSTREAM:-0}" = 1 ]; then
      case $stage in
        normalize) drop "$TAKEDOWN_WORKSPACE/sources" ;;
        fingerprint) drop "$TAKEDOWN_WORKSPACE/runs/$ds/normalize" '*.parquet' ;;
      esac
    fi
  done
fi
IFS=';' read -ra sets <<<"$runs"
for flags in "${sets[@]}"; do
  rm -rf "$TAKEDOWN_WORKSPACE/runs/$ds/cluster"
  # shellcheck disable=SC2086 # flags are words
  measure "cluster ${flags:-(default flags)}" "$TAKEDOWN_WORKSPACE/runs/$ds/cluster" cluster $flags "$ds"
  printf '  sha256'
  for t in edges evidence clusters; do
    printf ' %s %.16s' "$t" "$(sha256sum "$("$td" path -d "$ds" "$t")" | cut -d' ' -f1)"
  done
  echo
done
