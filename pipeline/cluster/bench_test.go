package cluster

import (
	"context"
	"os"
	"sync"
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

// BenchmarkRangedFilterPass times one read's pass over a filter sized for
// near_text's band keys on a 43M-post release (344M values, 8 ranges of
// 64 MiB halves): a page's batch of random keys at a time, two goroutines
// as the load runs it. It reports ns per value.
func BenchmarkRangedFilterPass(b *testing.B) {
	const n, batch = 344_000_000, 8192
	f := newRangedFilter(n, 64<<20)
	f.next() // range 1 is built, range 0's "again" bits are kept
	for i := range f.prev {
		f.prev[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	vals := make([]int64, 1<<20)
	for i := range vals {
		vals[i] = int64(mix64(uint64(i) + 12345))
	}
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				var keep []int8
				for lo := g * batch; lo+batch <= len(vals); lo += 2 * batch {
					keep = f.pass(1, vals[lo:lo+batch], keep)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(vals)), "ns/value")
}
