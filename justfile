# Shortcuts. `just` is optional: every recipe is a plain command you can copy.
# Install just with: npm install -g rust-just

# Run every stage on the embedded demo dataset (offline).
demo:
    go run ./cmd/takedown run

# The test suite (what CI runs, plus a short fuzz pass in .ci/run).
test:
    go test ./...

# Benchmarks: Go micro-benchmarks plus whole-pipeline throughput and peak memory.
bench:
    bash scripts/bench.sh

# The reference-toolkit comparison: 1M-row CNT-layout CSV through normalize,
# fingerprint and cluster; wall time, peak RSS, edges per signal, eval.
bench-cluster:
    bash scripts/bench-cluster.sh

# The cluster stage's quality table: synthetic populations (3 seeds, 3x viral,
# held-out seeds) through the pipeline and `takedown eval`; cluster flags pass through.
# `just eval-populations --media`: the same populations with media archives
# (co_image and near_image on), with the image-only squads' figures.
eval-populations *FLAGS:
    bash scripts/eval-populations.sh {{FLAGS}}

# normalize against DuckDB on the same >= 1 GB tweets CSV: rows/s, MB/s, CPU,
# peak RSS (installs @duckdb/node-api into a temp dir; see the script's header).
bench-normalize:
    bash scripts/bench-normalize.sh

# The cluster stage at whole-archive scale: a synthetic release of POSTS posts
# (takedown synth), then cluster with several --memory/--partitions settings:
# wall, CPU, peak RSS, partitions, bytes spilled, and the tables' digests.
bench-scale POSTS="2000000" ACCOUNTS="100000":
    bash scripts/bench-scale.sh {{POSTS}} {{ACCOUNTS}}

# normalize and summarize at whole-archive scale: a synthetic release of POSTS
# posts by POSTS/20 accounts, then wall, CPU and peak RSS of normalize and of
# summarize (recomputed each time) and the summary tables' digests.
bench-summarize POSTS="2000000":
    bash scripts/bench-summarize.sh {{POSTS}}

# A minimal OCI image of the static binary, without a container daemon:
# build/takedown-oci.tar, an OCI image layout (see docs/scale.md#container-image).
# The Dockerfile builds the same image with Docker.
image:
    mkdir -p build
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o build/takedown ./cmd/takedown
    go run ./internal/tools/image -binary build/takedown -out build/takedown-oci.tar

# The media path: fingerprint's image throughput on 2 cores (images/s, CPU ms
# per image, peak memory) and near_image's candidate generation on 1M hashes
# (time, recall), and its recall against brute force on N hashes.
bench-images N="100000":
    bash scripts/bench-images.sh {{N}}

# Static checks.
lint:
    gofmt -l $(git ls-files '*.go')
    go vet ./...

# Execute the tutorials in notebooks/ headless and check their charts (installs Jupyter, pandas
# and matplotlib from Debian, and GoNB; see .ci/notebooks.sh).
notebooks:
    bash .ci/notebooks.sh

# Render the demo's report.html in headless Chromium and check its charts.
report-browser:
    TAKEDOWN_REQUIRE_BROWSER=1 go test -count=1 -run TestReportInBrowser -v ./pipeline/summarize/
