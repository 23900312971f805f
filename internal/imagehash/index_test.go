package imagehash

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// synthHashes makes n PDQ hashes: half in near-duplicate families (a
// random base hash and members made by flipping 0-maxFlips random bits
// of it, so members of a family are up to 2*maxFlips apart and some pairs
// fall beyond the match threshold), half independent random hashes.
func synthHashes(n, familySize, maxFlips int, seed uint64) []PDQHash {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	random := func() (h PDQHash) {
		for i := range h {
			h[i] = byte(rng.UintN(256))
		}
		return h
	}
	out := make([]PDQHash, 0, n)
	for len(out) < n/2 {
		base := random()
		for m := 0; m < familySize && len(out) < n/2; m++ {
			h := base
			for _, k := range rng.Perm(256)[:rng.IntN(maxFlips+1)] {
				h[k/8] ^= 1 << (k % 8)
			}
			out = append(out, h)
		}
	}
	for len(out) < n {
		out = append(out, random())
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func bruteQuery(hashes []PDQHash, q PDQHash, maxDist int) []Match {
	var out []Match
	qw := q.Words()
	for id, h := range hashes {
		hw := h.Words()
		if d := wordsDistance(&qw, &hw); d <= maxDist {
			out = append(out, Match{id, d})
		}
	}
	slices.SortFunc(out, func(a, b Match) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return a.ID - b.ID
	})
	return out
}

func TestIndexPairsEqualBruteForce(t *testing.T) {
	n := 6000
	if testing.Short() {
		n = 800 // the race detector's -short pass
	}
	hashes := synthHashes(n, 8, 20, 1)
	ix := NewIndex(hashes)
	for _, maxDist := range []int{0, 1, 15, 16, 31, 32, 47, 63, 64, 80} {
		t.Run(fmt.Sprint("d=", maxDist), func(t *testing.T) {
			want := BrutePairs(hashes, maxDist)
			got := ix.Pairs(maxDist, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("index found %d pairs, brute force %d", len(got), len(want))
			}
			if maxDist >= 16 && len(want) == 0 {
				t.Fatalf("no pairs within %d: the synthetic families are not near-duplicates", maxDist)
			}
		})
	}
}

func TestIndexQueryEqualBruteForce(t *testing.T) {
	hashes := synthHashes(4000, 5, 24, 2)
	ix := NewIndex(hashes)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		q := hashes[rng.IntN(len(hashes))]
		// Perturb the query so that it is not itself indexed.
		for _, k := range rng.Perm(256)[:rng.IntN(12)] {
			q[k/8] ^= 1 << (k % 8)
		}
		for _, maxDist := range []int{-1, 0, 10, 31, 40} {
			got, want := ix.Query(q, maxDist, nil), bruteQuery(hashes, q, maxDist)
			if !slices.Equal(got, want) {
				t.Fatalf("query %d, d<=%d: index %v, brute force %v", i, maxDist, got, want)
			}
		}
	}
}

func TestIndexEmptyAndDuplicates(t *testing.T) {
	if got := NewIndex(nil).Pairs(31, nil); len(got) != 0 {
		t.Fatalf("empty index gave pairs %v", got)
	}
	h := PDQHash{1, 2, 3}
	got := NewIndex([]PDQHash{h, h, h}).Pairs(0, nil)
	want := []Pair{{0, 1, 0}, {0, 2, 0}, {1, 2, 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("three equal hashes: %v, want %v", got, want)
	}
}

func TestForEachWithin(t *testing.T) {
	for r, want := range []int{1, 17, 137, 697} {
		seen := map[uint16]bool{}
		forEachWithin(0xa5c3, r, func(v uint16) {
			if seen[v] {
				t.Fatalf("r=%d: %04x twice", r, v)
			}
			if d := popcount16(v ^ 0xa5c3); d > r {
				t.Fatalf("r=%d: %04x at distance %d", r, v, d)
			}
			seen[v] = true
		})
		if len(seen) != want {
			t.Errorf("r=%d: %d values, want %d", r, len(seen), want)
		}
	}
}

func popcount16(v uint16) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// BenchmarkIndex100k measures the index on 100,000 synthetic hashes
// (5,000 families of 10, members 0-20 flipped bits from their base, and
// 50,000 random hashes) at PDQ's threshold 31: recall against brute force
// over 2,000 queries (half family members, half random), candidates
// verified per query, CPU time per query against brute force, and the
// time of all pairs, measured once; ns/op is then one index query.
//
//	go test ./internal/imagehash -run '^$' -bench Index100k -benchtime 1x
func BenchmarkIndex100k(b *testing.B) {
	const n, maxDist = 100_000, PDQMatchDistance
	hashes := synthHashes(n, 10, 20, 42)
	start := time.Now()
	ix := NewIndex(hashes)
	build := time.Since(start)
	rng := rand.New(rand.NewPCG(7, 8))
	queries := make([]PDQHash, 2000)
	for i := range queries {
		if i%2 == 0 {
			queries[i] = hashes[rng.IntN(n)]
		} else {
			for k := range queries[i] {
				queries[i][k] = byte(rng.UintN(256))
			}
		}
	}
	// The measurement runs once; the timed loop is single queries.
	var stats QueryStats
	cpu0, t0 := cpuTime(), time.Now()
	got := make([][]Match, len(queries))
	for i, q := range queries {
		got[i] = ix.Query(q, maxDist, &stats)
	}
	indexWall, indexCPU := time.Since(t0), cpuTime()-cpu0
	cpu0, t0 = cpuTime(), time.Now()
	want := make([][]Match, len(queries))
	for i, q := range queries {
		want[i] = bruteQuery(hashes, q, maxDist)
	}
	bruteWall, bruteCPU := time.Since(t0), cpuTime()-cpu0
	truth, found := 0, 0
	for i := range queries {
		truth += len(want[i])
		for _, m := range got[i] {
			if slices.Contains(want[i], m) {
				found++
			}
		}
	}
	cpu0, t0 = cpuTime(), time.Now()
	var pstats QueryStats
	pairs := ix.Pairs(maxDist, &pstats)
	pairsWall, pairsCPU := time.Since(t0), cpuTime()-cpu0
	i := 0
	for b.Loop() {
		ix.Query(queries[i%len(queries)], maxDist, nil)
		i++
	}
	// After the loop: its start resets reported metrics.
	perQuery := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(len(queries)) }
	b.ReportMetric(float64(found)/float64(truth), "recall")
	b.ReportMetric(float64(stats.Candidates)/float64(stats.Queries), "candidates/query")
	b.ReportMetric(perQuery(indexCPU), "cpu-µs/query")
	b.ReportMetric(perQuery(bruteCPU), "brute-cpu-µs/query")
	b.ReportMetric(pairsCPU.Seconds(), "allpairs-cpu-s")
	b.ReportMetric(float64(len(pairs)), "pairs")
	b.ReportMetric(build.Seconds(), "build-s")
	b.Logf("%d hashes, %d queries: %d true matches, %d found; %.0f candidates/query; index %.1f µs/query (wall %.1f), brute force %.1f µs/query (wall %.1f)",
		n, len(queries), truth, found, float64(stats.Candidates)/float64(stats.Queries),
		perQuery(indexCPU), perQuery(indexWall), perQuery(bruteCPU), perQuery(bruteWall))
	b.Logf("all pairs within %d: %d pairs, %.0f candidates per hash, %.2f s CPU (wall %.2f s)",
		maxDist, len(pairs), float64(pstats.Candidates)/float64(pstats.Queries), pairsCPU.Seconds(), pairsWall.Seconds())
}

// BenchmarkIndexQuery is one query at distance 31 against 100,000 hashes.
func BenchmarkIndexQuery(b *testing.B) {
	hashes := synthHashes(100_000, 10, 20, 42)
	ix := NewIndex(hashes)
	i := 0
	for b.Loop() {
		ix.Query(hashes[i%len(hashes)], PDQMatchDistance, nil)
		i += 7919
	}
}
