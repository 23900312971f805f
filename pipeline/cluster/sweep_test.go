package cluster

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
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

// TestSweepScratchNumber: number gives each distinct account of an item
// one number, in order of first occurrence, whatever the item's size (a
// scan up to smallItem occurrences, hashing past it) and whatever the
// scratch held before, and zeroes the counts and list marks.
func TestSweepScratchNumber(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	item := func(n, accounts int) []occ {
		g := make([]occ, n)
		for i := range g {
			g[i].acc = uint32(r.IntN(accounts))
		}
		return g
	}
	cases := []struct {
		name string
		g    []occ
	}{
		{"two", []occ{{acc: 7}, {acc: 3}}},
		{"one account twice", []occ{{acc: 9}, {acc: 9}}},
		{"largest account", []occ{{acc: math.MaxUint32}, {acc: 0}, {acc: math.MaxUint32}}},
		{"small, repeats", item(smallItem, 5)},
		{"just past small", item(smallItem+1, 12)},
		{"large, repeats", item(5000, 700)},
		{"large, distinct", item(3000, 1<<30)},
		{"colliding accounts", func() []occ {
			g := make([]occ, 400) // multiples of 2^32/… land on few slots
			for i := range g {
				g[i].acc = uint32(i%100) << 24
			}
			return g
		}()},
		{"small after large", item(3, 2)},
	}
	sc := new(sweepScratch)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range sc.counts {
				sc.counts[i], sc.inList[i] = 1, true // what a failed sweep might leave
			}
			n := sc.number(c.g)
			var want []uint32
			for m, o := range c.g {
				l := slices.Index(want, o.acc)
				if l < 0 {
					l = len(want)
					want = append(want, o.acc)
				}
				if sc.loc[m] != int32(l) {
					t.Fatalf("occurrence %d (account %d): number %d, want %d", m, o.acc, sc.loc[m], l)
				}
			}
			if n != len(want) || !slices.Equal(sc.accs, want) {
				t.Fatalf("%d accounts %v, want %d %v", n, sc.accs, len(want), want)
			}
			for _, f := range []int{len(sc.counts), len(sc.prev), len(sc.next), len(sc.lastT), len(sc.lastPost), len(sc.inList)} {
				if f != n {
					t.Fatalf("entries of %d, want %d", f, n)
				}
			}
			if slices.ContainsFunc(sc.counts, func(c int32) bool { return c != 0 }) || slices.Contains(sc.inList, true) {
				t.Fatal("counts or list marks not zeroed")
			}
		})
	}
}
