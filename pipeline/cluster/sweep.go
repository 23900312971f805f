package cluster

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
)

// edge accumulates one account pair's co-shared items for one signal.
type edge struct {
	pair        uint64  // account numbers a<<32 | b, a < b
	items       int64   // distinct co-shared items
	score       float64 // sum of the co-shared items' rarity weights
	first, last int64   // earliest and latest post time of the chosen post pairs
	ev          []cand  // evidence candidates, one per item, at most 2*MaxEvidencePerEdge
}

// cand is the closest post pair of one co-shared item of an edge.
type cand struct {
	item         uint64
	postA, postB uint32
	tA, tB       int64
}

// hit is the closest post pair of one account pair for one item, with the
// item's rarity weight.
type hit struct {
	pair         uint64
	item         uint64
	postA, postB uint32
	w            float64
}

// rec is a post pair emitted by the sweep for the current item.
type rec struct {
	pair         uint64
	postA, postB uint32
	tA, tB       int64
}

// signalResult is what the sweep of one signal produces.
type signalResult struct {
	edges        []edge // kept edges, by pair; ev by (item, post_a, post_b)
	candidates   int64  // edges before the min-weight filter
	items        int64
	boundedItems int64
	boundedPosts int64
	rejected     int64 // near_text candidate pairs below the Jaccard threshold
}

// rarity returns the weight of an item shared by n of all accounts: a
// smoothed inverse document frequency ln(1 + all/n), scaled so that an item
// shared by two accounts weighs 1. An item shared by every account still
// weighs ln 2 / ln(1 + all/2) > 0. Rare items are strong evidence of
// coordination, viral ones weak: with 3000 accounts an item shared by 10
// weighs 0.78, one shared by 300 weighs 0.33.
func rarity(n, all int) float64 {
	if n <= 2 {
		return 1
	}
	return math.Log1p(float64(all)/float64(n)) / math.Log1p(float64(all)/2)
}

// sweep finds the co-shared items of one signal.
//
// Occurrences are sorted by (item, time). Within one item, a first pass
// with two pointers marks the occurrences that fall in a window holding more
// than MaxItemAccounts distinct accounts; they take no part in pairing. A
// second pass keeps, in a list ordered by time, each account's latest
// occurrence within the last window; every occurrence pairs with the
// accounts on that list other than its own, then moves its account to the
// end. Every pair found this way is the closest in time for that occurrence,
// so the closest post pair of every account pair and item is among them.
// The cost is the number of occurrences times the accounts present in a
// window, which the bound keeps finite.
func sweep(ctx context.Context, sd *signalData, d *data, p Params) (*signalResult, error) {
	occs := sd.occ
	slices.SortFunc(occs, func(a, b occ) int {
		if c := cmp.Compare(a.item, b.item); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		if c := cmp.Compare(a.acc, b.acc); c != 0 {
			return c
		}
		return cmp.Compare(a.post, b.post)
	})
	w := p.windowMillis()
	seen := make([]int32, len(d.accounts)) // item group number + 1 that last saw each account
	maxAcc := p.MaxItemAccounts
	k := p.MaxEvidencePerEdge
	n := len(d.accounts)
	counts := make([]int32, n)
	prev := make([]int32, n)
	next := make([]int32, n)
	lastT := make([]int64, n)
	lastPost := make([]uint32, n)
	inList := make([]bool, n)
	head, tail := int32(-1), int32(-1)
	unlink := func(a int32) {
		if prev[a] >= 0 {
			next[prev[a]] = next[a]
		} else {
			head = next[a]
		}
		if next[a] >= 0 {
			prev[next[a]] = prev[a]
		} else {
			tail = prev[a]
		}
		inList[a] = false
	}
	push := func(a int32) {
		prev[a], next[a] = tail, -1
		if tail >= 0 {
			next[tail] = a
		} else {
			head = a
		}
		tail = a
		inList[a] = true
	}

	r := &signalResult{}
	var hits []hit
	var bounded []bool
	var recs []rec
	candLess := func(x, y cand) int {
		if c := cmp.Compare(absDiff(x.tA, x.tB), absDiff(y.tA, y.tB)); c != 0 {
			return c
		}
		if c := cmp.Compare(x.item, y.item); c != 0 {
			return c
		}
		if c := strings.Compare(d.posts[x.postA], d.posts[y.postA]); c != 0 {
			return c
		}
		return strings.Compare(d.posts[x.postB], d.posts[y.postB])
	}
	near := sd.name == SignalNearText
	groups := 0
	for s := 0; s < len(occs); {
		e := s + 1
		for e < len(occs) && occs[e].item == occs[s].item {
			e++
		}
		item := occs[s].item
		g := occs[s:e]
		s = e
		r.items++
		if groups++; groups%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if len(g) < 2 {
			continue
		}
		sharers := 0
		for _, o := range g {
			if seen[o.acc] != int32(groups) {
				seen[o.acc] = int32(groups)
				sharers++
			}
		}
		weight := rarity(sharers, len(d.accounts))

		// Pass 1: mark occurrences inside over-full windows.
		anyBounded := false
		if maxAcc > 0 && len(g) > maxAcc {
			bounded = slices.Grow(bounded[:0], len(g))[:len(g)]
			clear(bounded)
			distinct, j, marked := 0, 0, 0
			for i := range g {
				for j < len(g) && g[j].t-g[i].t <= w {
					if counts[g[j].acc] == 0 {
						distinct++
					}
					counts[g[j].acc]++
					j++
				}
				if distinct > maxAcc {
					for m := max(i, marked); m < j; m++ {
						bounded[m] = true
					}
					marked = max(marked, j)
					anyBounded = true
				}
				if counts[g[i].acc]--; counts[g[i].acc] == 0 {
					distinct--
				}
			}
			if anyBounded {
				r.boundedItems++
			}
		}

		// Pass 2: pair each occurrence with the accounts seen in the
		// window before it.
		recs = recs[:0]
		for m, o := range g {
			if anyBounded && bounded[m] {
				r.boundedPosts++
				continue
			}
			for head >= 0 && o.t-lastT[head] > w {
				unlink(head)
			}
			b := int32(o.acc)
			for a := tail; a >= 0; a = prev[a] {
				if a == b {
					continue
				}
				if near && Jaccard(d.shingles[lastPost[a]], d.shingles[o.post]) < p.NearThreshold {
					r.rejected++
					continue
				}
				x := rec{pair: makePair(uint32(a), uint32(b)), postA: lastPost[a], postB: o.post, tA: lastT[a], tB: o.t}
				if a > b {
					x = rec{pair: makePair(uint32(b), uint32(a)), postA: o.post, postB: lastPost[a], tA: o.t, tB: lastT[a]}
				}
				recs = append(recs, x)
			}
			if inList[b] {
				if lastT[b] == o.t && d.posts[lastPost[b]] < d.posts[o.post] {
					// Two posts in the same millisecond: keep the smaller
					// post id, so ties resolve by id, not by input order.
					unlink(b)
					push(b)
					continue
				}
				unlink(b)
			}
			push(b)
			lastT[b], lastPost[b] = o.t, o.post
		}
		for head >= 0 {
			unlink(head)
		}
		if len(recs) == 0 {
			continue
		}

		// Keep the closest post pair per account pair and fold it in.
		slices.SortFunc(recs, func(x, y rec) int {
			if c := cmp.Compare(x.pair, y.pair); c != 0 {
				return c
			}
			if c := cmp.Compare(absDiff(x.tA, x.tB), absDiff(y.tA, y.tB)); c != 0 {
				return c
			}
			if c := strings.Compare(d.posts[x.postA], d.posts[y.postA]); c != 0 {
				return c
			}
			return strings.Compare(d.posts[x.postB], d.posts[y.postB])
		})
		for i, x := range recs {
			if i > 0 && recs[i-1].pair == x.pair {
				continue
			}
			hits = append(hits, hit{pair: x.pair, item: item, postA: x.postA, postB: x.postB, w: weight})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if near {
		// A post pair found in several bands counts once, under its
		// smallest band key.
		slices.SortFunc(hits, func(x, y hit) int {
			if c := cmp.Compare(x.pair, y.pair); c != 0 {
				return c
			}
			if c := cmp.Compare(x.postA, y.postA); c != 0 {
				return c
			}
			if c := cmp.Compare(x.postB, y.postB); c != 0 {
				return c
			}
			return cmp.Compare(x.item, y.item)
		})
		hits = slices.CompactFunc(hits, func(x, y hit) bool {
			return x.pair == y.pair && x.postA == y.postA && x.postB == y.postB
		})
	}

	// Fold the hits into edges: sorted by (pair, item), each pair's hits
	// are consecutive and in item order, so sums do not depend on the
	// order in which items were swept.
	slices.SortFunc(hits, func(x, y hit) int {
		if c := cmp.Compare(x.pair, y.pair); c != 0 {
			return c
		}
		if c := cmp.Compare(x.item, y.item); c != 0 {
			return c
		}
		if c := cmp.Compare(x.postA, y.postA); c != 0 {
			return c
		}
		return cmp.Compare(x.postB, y.postB)
	})
	var edges []edge
	var ev []cand
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].pair == hits[i].pair {
			j++
		}
		run := hits[i:j]
		i = j
		r.candidates++
		if len(run) < p.MinWeight {
			continue
		}
		ed := edge{pair: run[0].pair, items: int64(len(run)), first: math.MaxInt64, last: math.MinInt64}
		ev = ev[:0]
		for _, h := range run {
			tA, tB := d.times[h.postA], d.times[h.postB]
			ed.score += h.w
			ed.first = min(ed.first, tA, tB)
			ed.last = max(ed.last, tA, tB)
			ev = append(ev, cand{item: h.item, postA: h.postA, postB: h.postB, tA: tA, tB: tB})
		}
		if len(ev) > k {
			// Keep the k closest in time, then restore item order
			// (items are distinct within an edge).
			slices.SortFunc(ev, candLess)
			ev = ev[:k]
			slices.SortFunc(ev, func(x, y cand) int {
				if c := cmp.Compare(x.item, y.item); c != 0 {
					return c
				}
				if c := strings.Compare(d.posts[x.postA], d.posts[y.postA]); c != 0 {
					return c
				}
				return strings.Compare(d.posts[x.postB], d.posts[y.postB])
			})
		}
		ed.ev = slices.Clone(ev)
		edges = append(edges, ed)
	}
	r.edges = slices.Clip(edges)
	return r, nil
}
