#!/usr/bin/env bash
# CI steps of internal/imagehash: PDQ's float32 arithmetic must not be fused
# into FMA instructions on any target (that would change hash bits away from
# the reference), and a short fuzz pass of the decoder entry point.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go may fuse x*y+z into one FMA where the target has it (arm64, ppc64le,
# s390x, riscv64; amd64 with GOAMD64=v3); pdq.go forbids it with explicit
# float32 conversions. The assembly must show no fused multiply-add. arm64
# (the CI's macOS cross-build already compiles its standard library) and
# amd64 v3 stand for all: Go fuses the same expressions on every FMA target,
# and each extra target's standard library costs CI a compile.
echo "== imagehash: no fused multiply-add in the PDQ code"
for target in arm64: amd64:v3; do
  goarch=${target%%:*} level=${target#*:}
  asm=$(GOARCH=$goarch GOAMD64=${level:-v1} go build -gcflags=-S ./internal/imagehash 2>&1)
  # The compiler's output is replayed from the build cache, so it is
  # there on every run; no output at all would make the check vacuous.
  if ! grep -q 'imagehash/pdq\.go:' <<<"$asm"; then echo "no assembly listing for $goarch"; exit 1; fi
  if grep -E '^\s+0x[0-9a-f]+ [0-9]+ \(.*/internal/imagehash/[a-z_]+\.go:[0-9]+\)\s+[A-Z]*(FMADD|FMSUB|FNMADD|FNMSUB|FMA|VFMADD|VFMSUB|VFNMADD|VFNMSUB)' <<<"$asm"; then
    echo "fused multiply-add in internal/imagehash for $goarch${level:+ GOAMD64=$level}"; exit 1
  fi
  echo "$goarch${level:+ GOAMD64=$level}: none"
done

echo "== imagehash: fuzz FuzzHash (${FUZZTIME:=5000x})"
go test -run '^$' -fuzz '^FuzzHash$' -fuzztime "$FUZZTIME" -fuzzminimizetime 1x ./internal/imagehash/ 2>&1 | tail -1

echo "== imagehash: fuzz FuzzFastRoute (${FASTFUZZTIME:=300x})"
go test -run '^$' -fuzz '^FuzzFastRoute$' -fuzztime "$FASTFUZZTIME" -fuzzminimizetime 1x ./internal/imagehash/ 2>&1 | tail -1
