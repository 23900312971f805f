package cluster

import (
	"context"
	"os"
	"testing"
)

// BenchmarkRunFile runs the stage on the fingerprints table named by
// $TAKEDOWN_BENCH_FINGERPRINTS (skipped when unset; made with the default
// --shingle-size 3), for profiling on real sizes:
// go test -run '^$' -bench RunFile -cpuprofile cpu.out ./pipeline/cluster
func BenchmarkRunFile(b *testing.B) {
	path := os.Getenv("TAKEDOWN_BENCH_FINGERPRINTS")
	if path == "" {
		b.Skip("TAKEDOWN_BENCH_FINGERPRINTS not set")
	}
	for b.Loop() {
		if _, err := Run(context.Background(), Input{FingerprintsPath: path, ShingleSize: 3}, DefaultParams(), b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
}
