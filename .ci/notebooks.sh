#!/usr/bin/env bash
# CI part for the tutorials in notebooks/: installs Jupyter, pandas and
# matplotlib from Debian and the Go kernel GoNB (pinned), then executes every
# notebook headless (Go and Python), fails on the first cell error, and fails
# when a chart or table a notebook declares in its metadata
# ("takedown": {"expected_outputs": ...}, see .ci/notebook-outputs.py) is
# missing. Executed copies go to a temp dir ($NOTEBOOKS_OUT to keep them): the
# outputs are never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Debian's Python: `python3` on PATH may be another one (pyenv), and the
# Python notebooks' kernel (python3-ipykernel) runs /usr/bin/python3.
py=/usr/bin/python3
echo "== notebooks: install jupyter, pandas, matplotlib (Debian)"
need=()
command -v jupyter-nbconvert >/dev/null || need+=(jupyter-nbconvert python3-nbclient)
$py -c 'import ipykernel' 2>/dev/null || need+=(python3-ipykernel)
$py -c 'import pandas, matplotlib' 2>/dev/null || need+=(python3-pandas python3-matplotlib)
if (( ${#need[@]} )); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# GoNB and its tools are built in a scratch module so that the project's
# go.mod is not touched; GOFLAGS from .ci/run (-mod=readonly) would stop
# `go get` there and in the kernel's own module.
unset GOFLAGS
tools=$(mktemp -d)
export GOBIN="$tools/bin"
export PATH="$GOBIN:$PATH"
echo "== notebooks: install GoNB v0.11.1 and goimports"
(
  cd "$tools"
  go mod init notebook-tools >/dev/null 2>&1
  go get -tool github.com/janpfeifer/gonb@v0.11.1
  go get -tool golang.org/x/tools/cmd/goimports@v0.52.0
  go install tool
)
# gopls only serves editor hover and completion; building it takes minutes,
# so CI installs the kernel without it.
gonb --install --force_deps --logtostderr 2>&1 | grep -i "installed" || true

export TAKEDOWN_WORKSPACE="${TAKEDOWN_WORKSPACE:-$(mktemp -d)/ws}"
out=${NOTEBOOKS_OUT:-$(mktemp -d)}
mkdir -p "$out"
for nb in notebooks/*.ipynb; do
  echo "== notebooks: execute $nb"
  start=$(date +%s)
  jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 \
    --output-dir "$out" "$nb" 2> "$out/$(basename "$nb").log" || {
    grep -v '^[IW][0-9]' "$out/$(basename "$nb").log" | tail -40
    echo "notebook $nb failed"; exit 1
  }
  echo "   ok in $(( $(date +%s) - start ))s"
done
# A notebook must not come back with an error output (nbconvert stops at the
# first error, but check the executed copies too), and every chart or table it
# declares must be there: a chart that silently stops rendering fails CI.
$py .ci/notebook-outputs.py "$out"/*.ipynb
# The check itself must be able to fail: each declared output, removed from a
# copy, must be reported.
$py .ci/notebook-outputs.py --self-test "$out"/*.ipynb
echo "notebooks: all executed"
