#!/usr/bin/env bash
# CI part for schedulers: a one-node Slurm cluster on this machine (Debian's
# slurm-wlm and munge; task/cgroup, so that a job's --mem is a memory
# cgroup's limit, falling back to task/none where Slurm cannot use cgroups),
# a --mem=1G job that must read that limit as takedown does
# (internal/sysmem), the plan of takedown plan --engine slurm for a study
# of two datasets (the demo and a synthetic local release) submitted and
# waited for; every task must exit 0 and every output must be byte-identical
# to a local takedown run of the same study in another workspace. Then a
# plan whose fetch fails: the later stages must not run, and the wait step
# must name the failed task and its log. Needs root (it starts munged and
# the Slurm daemons, and stops them again).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" != 0 ]; then echo "slurm: needs root to start munged and the Slurm daemons"; exit 1; fi
tmp=$(mktemp -d /tmp/takedown-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== slurm: install slurm-wlm and munge (apt)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }
fi
slurmctld -V
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null

echo "== slurm: munged with a generated key"
# A munged of our own, on its own socket, as the munge user.
install -d -o munge -g munge -m 700 "$tmp/munge"
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$tmp/munge/munge.key" --bits=1024 >/dev/null
else
  dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1 count=1024 status=none
fi
chown munge:munge "$tmp/munge/munge.key"; chmod 400 "$tmp/munge/munge.key"
sock="$tmp/munge/munge.socket"
runuser -u munge -- munged --key-file="$tmp/munge/munge.key" --socket="$sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed" --force
for _ in $(seq 50); do [ -s "$tmp/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")
munge -S "$sock" -n | unmunge -S "$sock" >/dev/null

echo "== slurm: a one-node cluster"
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 512 ))
export SLURM_CONF="$tmp/slurm.conf"
# start_slurm PROCTRACK TASK: writes the configuration, starts slurmctld and
# slurmd and waits for the node to be idle; fails (daemons stopped) if it
# is not within 30 s.
start_slurm() {
  rm -rf "$tmp/state" "$tmp/spool"; mkdir -p "$tmp/state" "$tmp/spool"
  # Under task/cgroup a job's --mem is a memory cgroup's limit, as on a
  # production cluster.
  cat > "$tmp/cgroup.conf" <<CG
CgroupPlugin=autodetect
ConstrainRAMSpace=yes
ConstrainSwapSpace=no
CG
  cat > "$SLURM_CONF" <<CONF
ClusterName=takedown-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
MpiDefault=none
ProctrackType=$1
TaskPlugin=$2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 & ctld=$!
  slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.out" 2>&1 & sd=$!
  pids+=("$ctld" "$sd")
  for _ in $(seq 30); do
    [ "$(sinfo -h -n "$host" -o %t 2>/dev/null || true)" = idle ] && return 0
    kill -0 "$sd" 2>/dev/null || break
    sleep 1
  done
  echo "slurm: with $1 and $2 the node is '$(sinfo -h -n "$host" -o %t 2>/dev/null || true)', not idle:"
  tail -5 "$tmp/slurmd.log" "$tmp/slurmd.out" 2>/dev/null || true
  kill "$ctld" "$sd" 2>/dev/null || true; wait "$ctld" "$sd" 2>/dev/null || true
  return 1
}
memcg=yes
if ! start_slurm proctrack/cgroup task/cgroup; then
  memcg=no
  echo "slurm: no memory cgroups for Slurm here; the jobs run without a --mem limit"
  start_slurm proctrack/linuxproc task/none ||
    { tail -20 "$tmp/slurmctld.log" "$tmp"/*.out; exit 1; }
fi
sinfo

echo "== slurm: a job's --mem is the memory takedown plans with"
# The job runs internal/sysmem's test binary in its child mode: it prints
# the cgroup limit it reads and the Go soft memory limit it sets.
go test -c -o "$tmp/sysmem.test" ./internal/sysmem
if [ "$memcg" = yes ]; then
  sbatch --wait --mem=1G -o "$tmp/memjob.out" --wrap "TAKEDOWN_CGROUP_CHILD=1 GOMEMLIMIT= $tmp/sysmem.test -test.run=^TestReadInCgroup\$" >/dev/null
  cat "$tmp/memjob.out"
  grep -q "^limit=1073741824 heap=805306368 runtime=805306368$" "$tmp/memjob.out" ||
    { echo "slurm: a --mem=1G job should read a 1 GiB limit and set a 768 MiB heap limit"; exit 1; }
  echo "slurm: a --mem=1G job reads its 1 GiB cgroup limit; the heap limit and the cluster stage's default budget are 768 MiB"
else
  echo "slurm: skipped (no memory cgroups for Slurm on this machine)"
fi

echo "== slurm: a study of two datasets"
go build -o "$tmp/bin/takedown" ./cmd/takedown
td="$tmp/bin/takedown"
mkdir -p "$tmp/study"
cd "$tmp/study"
unset TAKEDOWN_WORKSPACE
# 140,000 posts: three row groups, so that fingerprint's 4 shards are not empty.
"$td" synth --out other --posts 140000 --accounts 2000 --seed 7 --campaign other >/dev/null
cat > takedown.yaml <<YAML
name: ci-slurm
datasets:
  - name: demo
  - name: local/other
    files:
      - path: other/other_users_csv_hashed.zip
        sha256: $(sha256sum other/other_users_csv_hashed.zip | cut -c1-64)
      - path: other/other_tweets_csv_hashed.zip
        sha256: $(sha256sum other/other_tweets_csv_hashed.zip | cut -c1-64)
YAML
"$td" plan --engine slurm --workspace "$tmp/ws-slurm" --cpus-per-task 1 --mem 1G --time 10:00 \
  --logs "$tmp/logs" --task-wait 5m --shards 4 --out submit.sh
grep -m4 -E '^job_|^[0-9]\) ' submit.sh; grep -m3 -E '^[0-9]\) .*(--shard=|--merge=)' submit.sh

echo "== slurm: submit, wait, check"
start=$(date +%s%N)
bash submit.sh --wait
slurm_ns=$(( $(date +%s%N) - start ))
echo "== slurm: the same study with takedown run in another workspace"
start=$(date +%s%N)
"$td" --quiet --workspace "$tmp/ws-local" run
local_ns=$(( $(date +%s%N) - start ))

echo "== slurm: outputs byte-identical to the local run"
bash "$root/scripts/outputs-digest.sh" "$tmp/ws-slurm" > slurm.sha256
bash "$root/scripts/outputs-digest.sh" "$tmp/ws-local" > local.sha256
if ! diff -u local.sha256 slurm.sha256; then echo "slurm: outputs differ from the local run"; exit 1; fi
echo "slurm: $(wc -l < slurm.sha256) files of $(grep -c /manifest.json slurm.sha256) runs byte-identical (sha256, manifest.json without timings)"; grep -E "^(demo|local/other)/cluster/.*(edges.parquet|manifest.json)" slurm.sha256
awk -v s="$slurm_ns" -v l="$local_ns" 'BEGIN { printf "slurm: wall time %.1fs via Slurm (2 datasets; normalize, fingerprint and cluster as 4 shards + a merge each), %.1fs local takedown run, overhead %.1fs\n", s/1e9, l/1e9, (s-l)/1e9 }'

echo "== slurm: a failing task stops the stages after it"
# local/broken is registered, then its file disappears: its fetch exits 3.
mkdir -p broken && cp other/other_users_csv_hashed.zip broken/
"$td" --no-study --workspace "$tmp/ws-bad" datasets add local/broken broken/other_users_csv_hashed.zip >/dev/null
rm -r broken
"$td" --no-study plan --engine slurm --workspace "$tmp/ws-bad" --mem 1G --logs "$tmp/logs-bad" --to normalize --retries 0 \
  --out bad.sh demo local/broken
if bash bad.sh --wait 2> bad.err; then echo "slurm: the failing plan succeeded"; cat bad.err; exit 1; fi
cat bad.err
grep -q "FAILED: stage fetch task 1 (local/broken): .* exit code 3:0, log $tmp/logs-bad/fetch_[0-9]*_1.log" bad.err ||
  { echo "slurm: the failed task is not named with its log"; exit 1; }
grep -q "NOT RUN: stage normalize .*DependencyNeverSatisfied" bad.err ||
  { echo "slurm: the stage after the failed one was not reported as not run"; exit 1; }
if ls "$tmp/logs-bad"/normalize_* >/dev/null 2>&1; then echo "slurm: normalize ran after a failed fetch"; exit 1; fi
echo "slurm: OK"
