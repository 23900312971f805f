package cluster

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortHits: the sort in two parts gives one sort's order, whatever
// the spread of the first accounts (all one, the least one in most hits,
// a few, many).
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
		{"many", func() uint32 { return uint32(rng.IntN(100000)) }},
	} {
		hits := make([]wideHit, 3*splitSortMin)
		for i := range hits {
			hits[i] = wideHit{a: tc.a(), b: uint32(rng.IntN(50)), postA: uint32(rng.IntN(1000)), postB: uint32(rng.IntN(1000)), item: uint64(rng.IntN(1 << 20))}
		}
		want := slices.Clone(hits)
		slices.SortFunc(want, order)
		sortHits(hits, order)
		if !slices.Equal(hits, want) {
			t.Errorf("%s: not one sort's order", tc.name)
		}
	}
}
