package cluster

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
)

// TestPairTable checks the per-item reduction to the closest post pair per
// account pair against a sort, over items large enough to grow the table
// several times and many items (generations).
func TestPairTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	closer := func(x, y *rec) bool {
		dx, dy := absDiff(x.tA, x.tB), absDiff(y.tA, y.tB)
		if dx != dy {
			return dx < dy
		}
		if x.postA != y.postA {
			return x.postA < y.postA
		}
		return x.postB < y.postB
	}
	pt := newPairTable(closer)
	for item := range 300 {
		n := r.IntN(50)
		if item%50 == 0 {
			n = 5000 // grows the table from 1024 slots
		}
		var all []rec
		pt.reset()
		for range n {
			a, b := uint32(r.IntN(80)), uint32(80+r.IntN(80))
			x := rec{pair: makePair(a, b), postA: uint32(r.IntN(1000)), postB: uint32(r.IntN(1000)), tA: r.Int64N(100), tB: r.Int64N(100)}
			all = append(all, x)
			pt.offer(x)
		}
		slices.SortFunc(all, func(x, y rec) int {
			if c := cmp.Compare(x.pair, y.pair); c != 0 {
				return c
			}
			if closer(&x, &y) {
				return -1
			}
			if closer(&y, &x) {
				return 1
			}
			return 0
		})
		want := slices.CompactFunc(all, func(x, y rec) bool { return x.pair == y.pair })
		got := slices.Clone(pt.recs())
		slices.SortFunc(got, func(x, y rec) int { return cmp.Compare(x.pair, y.pair) })
		if !slices.Equal(got, want) {
			t.Fatalf("item %d (%d post pairs): %d pairs, want %d", item, n, len(got), len(want))
		}
	}
}

// TestHitsByPair checks the counting sort: hits ordered by (a, b), and in
// the order added within one pair, sorted in one part or in two.
func TestHitsByPair(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, split := range []int{1 << 30, 1} {
		t.Run(fmt.Sprint("split from ", split), func(t *testing.T) {
			defer func(m int) { byPairSplitMin = m }(byPairSplitMin)
			byPairSplitMin = split
			r := rand.New(rand.NewPCG(5, 6))
			var l hitList
			var want []hit
			for g := range 3 * hitChunk / 100 {
				for range 100 {
					a := uint32(r.IntN(40))
					h := hit{a: a, b: a + 1 + uint32(r.IntN(40)), g: uint32(g), postA: r.Uint32(), postB: r.Uint32()}
					l.add(h, 0, 0)
					want = append(want, h)
				}
			}
			slices.SortStableFunc(want, func(x, y hit) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
			all, starts := l.byPair(81)
			if !slices.Equal(all, want) {
				t.Fatal("hits not in (pair, insertion) order")
			}
			for a := range 81 {
				for _, h := range all[starts[a]:starts[a+1]] {
					if h.a != uint32(a) {
						t.Fatalf("account %d's run holds a hit of %d", a, h.a)
					}
				}
			}
			if starts[81] != len(want) {
				t.Fatalf("starts end at %d, %d hits", starts[81], len(want))
			}
		})
	}
}

// TestSortOccs: sortOccs orders occurrences as one sort by cmpOcc does,
// whether it counts ranked items or compares hashes, with repeated items,
// times and whole occurrences, in time order already or not.
func TestSortOccs(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		items     uint64 // items are below this; 0: any uint64 (hashes)
		timeOrder bool   // occurrences come in time order, as rows often do
	}{
		{"ranks, shuffled", 20000, 3000, false},
		{"ranks, in time order", 20000, 3000, true},
		{"few ranks, long items", 30000, 5, false},
		{"ranks up to twice the count", 10000, 19999, false},
		{"hashes", 20000, 0, false},
		{"below the counting size", 100, 40, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, uint64(tt.n)))
			occs := make([]occ, tt.n)
			for i := range occs {
				o := occ{t: int64(r.IntN(500)), acc: uint32(r.IntN(300)), post: uint32(r.IntN(tt.n))}
				if tt.items > 0 {
					o.item = r.Uint64N(tt.items)
				} else {
					o.item = r.Uint64()
				}
				if i > 0 && r.IntN(20) == 0 {
					o = occs[i-1] // the same occurrence twice
				}
				occs[i] = o
			}
			if tt.timeOrder {
				slices.SortStableFunc(occs, func(x, y occ) int { return cmp.Compare(x.t, y.t) })
			}
			want := slices.Clone(occs)
			slices.SortFunc(want, cmpOcc)
			sortOccs(occs)
			if !slices.Equal(occs, want) {
				t.Fatal("order differs from sorting by cmpOcc")
			}
		})
	}
}

// TestSplitsSameBytes: sweeping, sorting the hits of and folding a signal
// in two parallel parts (as large signals are) writes the bytes of doing
// each in one part.
func TestSplitsSameBytes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rows := pairScoreFixture(3000, 4)
	p := params(1)
	p.Signals = Signals
	one := run(t, rows, p)
	if len(one.pairScores) == 0 || len(one.edges) == 0 {
		t.Fatal("the fixture has no candidate edges")
	}
	const no = 1 << 30
	for _, tt := range []struct {
		name                string
		sweep, byPair, fold int
	}{{"sweep", 1, no, no}, {"byPair", no, 1, no}, {"fold", no, no, 1}, {"all", 1, 1, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			defer func(s, b, f int) { sweepSplitMin, byPairSplitMin, foldSplitMin = s, b, f }(sweepSplitMin, byPairSplitMin, foldSplitMin)
			sweepSplitMin, byPairSplitMin, foldSplitMin = tt.sweep, tt.byPair, tt.fold
			two := run(t, rows, p)
			for name, b := range one.files {
				if !bytes.Equal(b, two.files[name]) {
					t.Errorf("%s differs when split", name)
				}
			}
		})
	}
}

// TestSweepScratchBytes: the plan's bytes per account of a sweep are those
// of sweepScratch's fields, one element each, and a scratch of n accounts
// holds that many.
func TestSweepScratchBytes(t *testing.T) {
	var n uintptr
	typ := reflect.TypeFor[sweepScratch]()
	for i := range typ.NumField() {
		n += typ.Field(i).Type.Elem().Size()
	}
	if n != sweepScratchBytes {
		t.Fatalf("sweepScratch: %d bytes an account, sweepScratchBytes says %d", n, sweepScratchBytes)
	}
	sc := getSweepScratch(1000)
	v := reflect.ValueOf(sc).Elem()
	for i := range v.NumField() {
		if v.Field(i).Len() != 1000 {
			t.Errorf("%s: %d entries, want 1000", typ.Field(i).Name, v.Field(i).Len())
		}
	}
}
