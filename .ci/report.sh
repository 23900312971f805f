#!/usr/bin/env bash
# CI part for the HTML report: installs Debian's Chromium and renders the
# demo's report.html in it (pipeline/summarize/browser_test.go): charts laid
# out and drawn, axis titles present, every chart label inside its chart and
# clear of the others (also on a page with long labels and hostile text). With
# TAKEDOWN_REQUIRE_BROWSER=1 a missing browser fails the test instead of
# skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== report: install chromium"
if ! command -v chromium >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version

echo "== report: render the demo report in headless chromium"
TAKEDOWN_REQUIRE_BROWSER=1 go test -count=1 -run 'TestReportInBrowser' -v ./pipeline/summarize/ 2>&1 | tail -20
