package cluster

import (
	"cmp"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestSortHits: sortHits, by first account in place or in two parts, and
// sortHitsSplit give one sort's order, whatever the spread of the first
// accounts (all one, the least one in most hits, a few, a range a tenth
// as wide as the hits, many), the number of hits and GOMAXPROCS.
func TestSortHits(t *testing.T) {
	order := func(x, y wideHit) int {
		if c := cmpPostPair(x.a, x.b, x.postA, x.postB, y.a, y.b, y.postA, y.postB); c != 0 {
			return c
		}
		return cmp.Compare(x.item, y.item)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		a    func() uint32
	}{
		{"one account", func() uint32 { return 7 }},
		{"mostly the least", func() uint32 {
			if rng.IntN(10) > 0 {
				return 1
			}
			return uint32(2 + rng.IntN(5))
		}},
		{"few", func() uint32 { return uint32(rng.IntN(3)) }},
		{"a tenth", func() uint32 { return uint32(1000 + rng.IntN(3*splitSortMin/10)) }},
		{"many", func() uint32 { return uint32(rng.IntN(100000)) }},
	} {
		for _, n := range []int{1, 5, 1000, 3 * splitSortMin} {
			for _, procs := range []int{1, 2} {
				hits := make([]wideHit, n)
				for i := range hits {
					hits[i] = wideHit{a: tc.a(), b: uint32(rng.IntN(50)), postA: uint32(rng.IntN(1000)), postB: uint32(rng.IntN(1000)), item: uint64(rng.IntN(1 << 20)), tA: int64(i)}
				}
				want := slices.Clone(hits)
				slices.SortFunc(want, order)
				for name, sort := range map[string]func([]wideHit, func(x, y wideHit) int){"sortHits": sortHits, "sortHitsSplit": sortHitsSplit} {
					got := slices.Clone(hits)
					old := runtime.GOMAXPROCS(procs)
					sort(got, order)
					runtime.GOMAXPROCS(old)
					if !slices.EqualFunc(got, want, func(x, y wideHit) bool { return order(x, y) == 0 }) {
						t.Errorf("%s, %d hits, GOMAXPROCS %d: %s's is not one sort's order", tc.name, n, procs, name)
					}
					slices.SortFunc(got, func(x, y wideHit) int { return cmp.Compare(x.tA, y.tA) })
					if !slices.Equal(got, hits) {
						t.Errorf("%s, %d hits: %s lost or changed hits", tc.name, n, name)
					}
				}
			}
		}
	}
}
