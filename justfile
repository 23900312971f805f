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

# Static checks.
lint:
    gofmt -l $(git ls-files '*.go')
    go vet ./...
