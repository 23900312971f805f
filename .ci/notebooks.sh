#!/usr/bin/env bash
# CI part for the tutorials in notebooks/: installs Jupyter from Debian and the
# Go kernel GoNB (pinned), then executes every notebook headless and fails on
# the first cell error. Executed copies go to a temp dir: the outputs are
# never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== notebooks: install jupyter (Debian)"
if ! command -v jupyter-nbconvert >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends jupyter-nbconvert python3-nbclient python3-ipykernel >/dev/null
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
out=$(mktemp -d)
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
# first error, but check the executed copies too).
python3 - "$out" <<'PY'
import json, pathlib, sys
bad = 0
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.ipynb")):
    cells = json.loads(p.read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []) if o["output_type"] == "error"]
    shown = sum(1 for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []) if o["output_type"] in ("display_data", "execute_result"))
    print(f"{p.name}: {len(cells)} cells, {shown} rich outputs (charts/tables), {len(errors)} errors")
    bad += len(errors) + (shown == 0)
sys.exit(1 if bad else 0)
PY
echo "notebooks: all executed"
