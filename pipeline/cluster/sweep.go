package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
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

// hit is the closest post pair of one account pair (a < b) for one item.
// Items that produced hits are numbered in sweep order, which is item
// order: g indexes the item and its rarity weight (hitItems). 20 bytes.
type hit struct {
	a, b         uint32
	g            uint32
	postA, postB uint32
}

// hitItems are the item and rarity weight of every item number g of hit.
type hitItems struct {
	item   []uint64
	weight []float64
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
	rejected     int64        // near_text candidate pairs below the Jaccard threshold
	scores       []candScores // every candidate edge's items (pair_scores), in parts in pair order
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

// sweepSplitMin is the number of occurrences from which a signal is swept
// in two parallel parts.
// A variable for tests.
var sweepSplitMin = 100_000

// sweepPart is what sweeping a run of whole items produces: the hits, with
// item numbers local to the part, and counts.
type sweepPart struct {
	hits         hitList
	hitItem      hitItems
	items        int64
	boundedItems int64
	boundedPosts int64
	rejected     int64
}

// sortOccs sorts occurrences by (item, time, account, post), unless they
// are sorted already. Items that are ranks of strings (co_repost, co_url,
// ...) are numbers below about the occurrence count: those are ordered by a
// counting sort, then each item's occurrences by the rest of the key (few
// per item, usually in time order already), which takes a fraction of the
// comparisons of sorting them all at once. The order is the same: cmpOcc
// is total (occurrences it finds equal are equal).
func sortOccs(occs []occ) {
	if slices.IsSortedFunc(occs, cmpOcc) {
		return
	}
	var top uint64
	for i := range occs {
		top = max(top, occs[i].item)
	}
	if len(occs) < countingSortMin || top >= uint64(2*len(occs)) {
		slices.SortFunc(occs, cmpOcc)
		return
	}
	start := make([]int, top+2)
	for i := range occs {
		start[occs[i].item+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	tmp := slices.Clone(occs)
	next := start[:len(start)-1]
	for _, o := range tmp {
		occs[next[o.item]] = o
		next[o.item]++
	}
	// next[i] is now the end of item i, which is the start of item i+1.
	s := 0
	for _, e := range next {
		if g := occs[s:e]; len(g) > 1 && !slices.IsSortedFunc(g, cmpOcc) {
			slices.SortFunc(g, cmpOcc)
		}
		s = e
	}
}

// countingSortMin is the number of occurrences from which sortOccs sorts
// ranked items by counting.
const countingSortMin = 4096

// cmpOcc orders occurrences by (item, time, account, post).
func cmpOcc(a, b occ) int {
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
}

// sweep finds the co-shared items of one signal, with the window w in
// milliseconds.
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
func sweep(ctx context.Context, sd *signalData, d *data, p Params, w int64) (*signalResult, error) {
	occs := sd.occ
	sortOccs(occs)
	n := d.accounts.len()
	near := sd.name == SignalNearText
	part, err := sweepOccs(ctx, sd.name, occs, d, p, w, false)
	if err != nil {
		return nil, err
	}
	r := &signalResult{items: sd.singletons + part.items, boundedItems: part.boundedItems,
		boundedPosts: part.boundedPosts, rejected: part.rejected}
	hits, hitItem := part.hits, part.hitItem

	// Fold the hits into edges. A counting sort by pair makes each
	// pair's hits consecutive and, since items were swept in order and
	// give at most one hit per pair, in item order, so sums do not depend
	// on scheduling. First accounts are independent: many hits are folded
	// in two parts of the accounts, in parallel, joined in account order.
	all, starts := hits.byPair(n)
	bounds := []int{0, n}
	if len(all) >= foldSplitMin && runtime.GOMAXPROCS(0) > 1 {
		m, _ := slices.BinarySearch(starts, len(all)/2)
		if m > 0 && m < n {
			bounds = []int{0, m, n}
		}
	}
	outs := make([]foldOut, len(bounds)-1)
	var wg sync.WaitGroup
	for k := range outs {
		wg.Go(func() {
			o := &outs[k]
			lo, hi := bounds[k], bounds[k+1]
			part := all[starts[lo]:starts[hi]]
			o.scores.grow(countPairs(part), len(part))
			for a := lo; a < hi; a++ {
				bk := all[starts[a]:starts[a+1]]
				if len(bk) == 0 {
					continue
				}
				if near {
					bk = onePerPostPair(bk, func(x, y hit) int {
						if c := cmpPostPair(x.a, x.b, x.postA, x.postB, y.a, y.b, y.postA, y.postB); c != 0 {
							return c
						}
						return cmp.Compare(x.g, y.g)
					}, func(x, y hit) bool { return x.a == y.a && x.b == y.b && x.postA == y.postA && x.postB == y.postB })
					slices.SortFunc(bk, func(x, y hit) int {
						if x.b != y.b {
							return cmp.Compare(x.b, y.b)
						}
						return cmp.Compare(x.g, y.g)
					})
				}
				foldBucket(bk, &hitItem, o, d, p)
			}
		})
	}
	wg.Wait()
	if len(outs) == 1 {
		r.edges = slices.Clip(outs[0].edges)
	} else {
		total := 0
		for k := range outs {
			total += len(outs[k].edges)
		}
		r.edges = make([]edge, 0, total)
	}
	for k := range outs {
		if len(outs) > 1 {
			r.edges = append(r.edges, outs[k].edges...)
		}
		r.candidates += outs[k].candidates
		r.scores = append(r.scores, outs[k].scores)
	}
	return r, nil
}

// foldSplitMin is the number of hits from which a signal's hits are folded
// in two parallel parts.
// A variable for tests.
var foldSplitMin = 200_000

// foldOut is what folding the hits of a run of first accounts produces.
type foldOut struct {
	edges      []edge
	ev         []cand // scratch
	candidates int64
	scores     candScores
}

// sweepOccs sweeps occurrences sorted by (item, time, account, post) that
// hold whole items. Items are independent: a large run is swept in two
// parts, split at an item boundary, in parallel; the parts are merged in
// item order (hit item numbers in item order), so the result does not
// depend on the split.
//
// With carry the hits carry their post times (hitList.times), as the
// partitioned path spills them.
func sweepOccs(ctx context.Context, name string, occs []occ, d *data, p Params, w int64, carry bool) (*sweepPart, error) {
	bounds := []int{0, len(occs)}
	if len(occs) >= sweepSplitMin && runtime.GOMAXPROCS(0) > 1 {
		m := len(occs) / 2
		for m < len(occs) && occs[m].item == occs[m-1].item {
			m++
		}
		if m < len(occs) {
			bounds = []int{0, m, len(occs)}
		}
	}
	parts := make([]*sweepPart, len(bounds)-1)
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			parts[i], errs[i] = sweepItems(ctx, name, occs[bounds[i]:bounds[i+1]], d, p, w, carry)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	r := &sweepPart{}
	for _, part := range parts {
		off := uint32(len(r.hitItem.item))
		if uint64(off)+uint64(len(part.hitItem.item)) >= math.MaxUint32 {
			return nil, fmt.Errorf("signal %s: more than %d items with co-shares", name, math.MaxUint32-1)
		}
		r.hitItem.item = append(r.hitItem.item, part.hitItem.item...)
		r.hitItem.weight = append(r.hitItem.weight, part.hitItem.weight...)
		for _, c := range part.hits.chunks {
			if off != 0 {
				for i := range c {
					c[i].g += off
				}
			}
			r.hits.chunks = append(r.hits.chunks, c)
		}
		r.hits.times = append(r.hits.times, part.hits.times...)
		r.hits.carry = part.hits.carry
		r.hits.n += part.hits.n
		r.items += part.items
		r.boundedItems += part.boundedItems
		r.boundedPosts += part.boundedPosts
		r.rejected += part.rejected
	}
	return r, nil
}

// sweepScratch is sweepItems' working memory: the accounts of the item
// being swept, numbered 0, 1, … in order of first occurrence (number),
// and one entry per number. It is sized by the sweep's largest item, not
// by the release's accounts: one entry per account would take 29 bytes an
// account for each sweep that runs at once, 632 MB on 2 cores for the
// 10.9M accounts of a 217M-post synthetic release.
type sweepScratch struct {
	loc                []int32  // the number of each occurrence's account
	accs               []uint32 // the account of each number
	slots              []int32  // number+1 of the account hashed to each slot, 0 for none
	counts, prev, next []int32
	lastT              []int64
	lastPost           []uint32
	lastOcc            []int32 // the occurrence of lastPost, for near_text's sets
	inList             []bool
}

// smallItem is the most occurrences an item may have for number to find
// its accounts by a scan of the ones seen, not by hashing.
const smallItem = 16

// number numbers the distinct accounts of one item's occurrences g and
// sizes the entries per number, zeroed: it returns how many there are.
func (sc *sweepScratch) number(g []occ) int {
	sc.loc = slices.Grow(sc.loc[:0], len(g))[:len(g)]
	accs := sc.accs[:0]
	if len(g) <= smallItem {
		for m, o := range g {
			l := slices.Index(accs, o.acc)
			if l < 0 {
				l = len(accs)
				accs = append(accs, o.acc)
			}
			sc.loc[m] = int32(l)
		}
	} else {
		// Open addressing at most half full, by Fibonacci hashing.
		k := bits.Len(uint(2*len(g) - 1))
		sc.slots = slices.Grow(sc.slots[:0], 1<<k)[:1<<k]
		clear(sc.slots)
		mask := uint64(1)<<k - 1
		for m, o := range g {
			i := (uint64(o.acc) * 0x9E3779B97F4A7C15) >> (64 - k)
			for {
				l := sc.slots[i] - 1
				if l < 0 {
					l = int32(len(accs))
					accs = append(accs, o.acc)
					sc.slots[i] = l + 1
				} else if accs[l] != o.acc {
					i = (i + 1) & mask
					continue
				}
				sc.loc[m] = l
				break
			}
		}
	}
	sc.accs = accs
	n := len(accs)
	grow := func(s []int32) []int32 { return slices.Grow(s[:0], n)[:n] }
	sc.counts, sc.prev, sc.next = grow(sc.counts), grow(sc.prev), grow(sc.next)
	sc.lastT = slices.Grow(sc.lastT[:0], n)[:n]
	sc.lastPost = slices.Grow(sc.lastPost[:0], n)[:n]
	sc.lastOcc = slices.Grow(sc.lastOcc[:0], n)[:n]
	sc.inList = slices.Grow(sc.inList[:0], n)[:n]
	clear(sc.counts)
	clear(sc.inList)
	return n
}

// sweepScratches holds the sweepScratch that sweeps are done with, for the
// next: a run sweeps many partitions and signals. A pool, so that the
// collector frees them when memory is short.
var sweepScratches = sync.Pool{New: func() any { return new(sweepScratch) }}

// sweepItems sweeps occurrences sorted by (item, time, account, post),
// holding whole items: the two passes described at sweep.
func sweepItems(ctx context.Context, name string, occs []occ, d *data, p Params, w int64, carry bool) (*sweepPart, error) {
	sc := sweepScratches.Get().(*sweepScratch)
	defer sweepScratches.Put(sc)
	maxAcc := p.MaxItemAccounts
	var (
		counts, prev, next []int32
		lastT              []int64
		lastPost           []uint32
		lastOcc            []int32
		inList             []bool
	)
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

	r := &sweepPart{}
	r.hits.carry = carry
	hits := &r.hits
	hitItem := &r.hitItem
	var bounded []bool
	best := newPairTable(func(x, y *rec) bool {
		dx, dy := absDiff(x.tA, x.tB), absDiff(y.tA, y.tB)
		if dx != dy {
			return dx < dy
		}
		if c := d.posts.cmp(x.postA, y.postA); c != 0 {
			return c < 0
		}
		return d.posts.less(x.postB, y.postB)
	})
	near := name == SignalNearText
	var sets *shingleBatch
	if near {
		sets = d.shingles.batch()
		defer sets.close()
	}
	nearImage := name == SignalNearImage
	groups := 0
	for s, batchEnd := 0, 0; s < len(occs); {
		if near && s >= batchEnd {
			batchEnd = sets.load(occs, s)
		}
		e := s + 1
		for e < len(occs) && occs[e].item == occs[s].item {
			e++
		}
		item := occs[s].item
		g := occs[s:e]
		gStart := s
		s = e
		r.items++
		if groups++; groups%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			d.meter().Add(4096)
		}
		if len(g) < 2 {
			continue
		}
		// The item's accounts by number: loc by occurrence, accs by number.
		sharers := sc.number(g)
		loc, accs := sc.loc, sc.accs
		counts, prev, next = sc.counts, sc.prev, sc.next
		lastT, lastPost, lastOcc, inList = sc.lastT, sc.lastPost, sc.lastOcc, sc.inList
		weight := rarity(sharers, d.accounts.len())

		// Pass 1: mark occurrences inside over-full windows.
		anyBounded := false
		if maxAcc > 0 && len(g) > maxAcc {
			bounded = slices.Grow(bounded[:0], len(g))[:len(g)]
			clear(bounded)
			distinct, j, marked := 0, 0, 0
			for i := range g {
				for j < len(g) && g[j].t-g[i].t <= w {
					if counts[loc[j]] == 0 {
						distinct++
					}
					counts[loc[j]]++
					j++
				}
				if distinct > maxAcc {
					for m := max(i, marked); m < j; m++ {
						bounded[m] = true
					}
					marked = max(marked, j)
					anyBounded = true
				}
				if counts[loc[i]]--; counts[loc[i]] == 0 {
					distinct--
				}
			}
			if anyBounded {
				r.boundedItems++
			}
		}

		// Pass 2: pair each occurrence with the accounts seen in the
		// window before it, keeping the closest post pair per account
		// pair.
		best.reset()
		for m, o := range g {
			if anyBounded && bounded[m] {
				r.boundedPosts++
				continue
			}
			for head >= 0 && o.t-lastT[head] > w {
				unlink(head)
			}
			b := loc[m]
			for a := tail; a >= 0; a = prev[a] {
				if a == b {
					continue
				}
				if near && Jaccard(sets.set(int(lastOcc[a])), sets.set(gStart+m)) < p.NearThreshold {
					r.rejected++
					continue
				}
				if nearImage && d.imageDistance(lastPost[a], o.post) > p.Images.Distance {
					r.rejected++
					continue
				}
				accA := accs[a]
				x := rec{pair: makePair(accA, o.acc), postA: lastPost[a], postB: o.post, tA: lastT[a], tB: o.t}
				if accA > o.acc {
					x = rec{pair: makePair(o.acc, accA), postA: o.post, postB: lastPost[a], tA: o.t, tB: lastT[a]}
				}
				best.offer(x)
			}
			if inList[b] {
				if lastT[b] == o.t && d.posts.less(lastPost[b], o.post) {
					// Two posts in the same millisecond: keep the smaller
					// post id, so ties resolve by id, not by input order.
					unlink(b)
					push(b)
					continue
				}
				unlink(b)
			}
			push(b)
			lastT[b], lastPost[b], lastOcc[b] = o.t, o.post, int32(gStart+m)
		}
		for head >= 0 {
			unlink(head)
		}
		recs := best.recs()
		if len(recs) == 0 {
			continue
		}
		gi := uint32(len(hitItem.item))
		if int(gi) == math.MaxUint32 {
			return nil, fmt.Errorf("signal %s: more than %d items with co-shares", name, math.MaxUint32-1)
		}
		hitItem.item = append(hitItem.item, item)
		hitItem.weight = append(hitItem.weight, weight)
		for _, x := range recs {
			a, b := unpair(x.pair)
			hits.add(hit{a: a, b: b, g: gi, postA: x.postA, postB: x.postB}, x.tA, x.tB)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if sets != nil {
		if err := sets.close(); err != nil {
			return nil, err
		}
	}
	d.meter().Add(int64(groups % 4096))
	return r, nil
}

// countPairs counts the distinct account pairs of hits sorted by pair.
func countPairs(hits []hit) int {
	n := 0
	for i := range hits {
		if i == 0 || hits[i].a != hits[i-1].a || hits[i].b != hits[i-1].b {
			n++
		}
	}
	return n
}

// foldBucket folds the hits of one first account, sorted by (second
// account, item), one per item, into o: the candidate edges' scores, and
// the edges that pass p.MinWeight.
func foldBucket(hits []hit, hi *hitItems, o *foldOut, d *data, p Params) {
	k := p.MaxEvidencePerEdge
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].b == hits[i].b {
			j++
		}
		run := hits[i:j]
		i = j
		o.candidates++
		o.scores.open(makePair(run[0].a, run[0].b))
		for _, h := range run {
			o.scores.item(absDiff(d.times[h.postA], d.times[h.postB]), hi.weight[h.g])
		}
		if len(run) < p.MinWeight {
			continue
		}
		ed := edge{pair: makePair(run[0].a, run[0].b), items: int64(len(run)), first: math.MaxInt64, last: math.MinInt64}
		ev := o.ev[:0]
		for _, h := range run {
			tA, tB := d.times[h.postA], d.times[h.postB]
			ed.score += hi.weight[h.g]
			ed.first = min(ed.first, tA, tB)
			ed.last = max(ed.last, tA, tB)
			ev = append(ev, cand{item: hi.item[h.g], postA: h.postA, postB: h.postB, tA: tA, tB: tB})
		}
		ed.ev = d.keepEvidence(ev, k, d.candCmp)
		o.ev = ev
		o.edges = append(o.edges, ed)
	}
}

// candCmp orders evidence candidates for keeping: the smallest dt first,
// ties by item, post_a, post_b.
func (d *data) candCmp(x, y cand) int {
	if c := cmp.Compare(absDiff(x.tA, x.tB), absDiff(y.tA, y.tB)); c != 0 {
		return c
	}
	if c := cmp.Compare(x.item, y.item); c != 0 {
		return c
	}
	if c := d.posts.cmp(x.postA, y.postA); c != 0 {
		return c
	}
	return d.posts.cmp(x.postB, y.postB)
}

// keepEvidence returns a copy of an edge's candidates, given in item order,
// cut to the k closest in time (candLess) and back in item order (items are
// distinct within an edge). ev is changed.
func (d *data) keepEvidence(ev []cand, k int, candLess func(x, y cand) int) []cand {
	if len(ev) > k {
		slices.SortFunc(ev, candLess)
		ev = ev[:k]
		slices.SortFunc(ev, func(x, y cand) int {
			if c := cmp.Compare(x.item, y.item); c != 0 {
				return c
			}
			if c := d.posts.cmp(x.postA, y.postA); c != 0 {
				return c
			}
			return d.posts.cmp(x.postB, y.postB)
		})
	}
	return slices.Clone(ev)
}

// hitList collects hits in fixed-size chunks (growing one slice would copy
// it again and again, and fresh memory is what costs most here) and counts
// them per first account.
type hitList struct {
	chunks [][]hit
	// times, when carry is set, are the hits' post times, chunk for
	// chunk: the partitioned path keeps no times by post (data.times),
	// so its hits take theirs along to the fold.
	times [][]hitTimes
	carry bool
	n     int
}

// hitTimes are the post times of a hit's post pair, ms.
type hitTimes struct{ tA, tB int64 }

const hitChunk = 1 << 15

func (l *hitList) add(h hit, tA, tB int64) {
	if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == hitChunk {
		l.chunks = append(l.chunks, make([]hit, 0, hitChunk))
		if l.carry {
			l.times = append(l.times, make([]hitTimes, 0, hitChunk))
		}
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, h)
	if l.carry {
		t := &l.times[len(l.times)-1]
		*t = append(*t, hitTimes{tA, tB})
	}
	l.n++
}

// byPair returns all hits ordered by pair (first account, then second),
// the hits of one pair in the order added, and the start of each first
// account's run: account a's hits are all[starts[a]:starts[a+1]]. It is a
// two-pass counting sort (by second account, then stably by first), linear
// in the hits, and releases the chunks. Many hits are sorted in two
// parallel parts: each part counts its own hits and places them after the
// earlier parts' hits of the same account, which keeps the sort stable.
func (l *hitList) byPair(accounts int) ([]hit, []int) {
	nParts := 1
	if l.n >= byPairSplitMin && len(l.chunks) >= 2 && runtime.GOMAXPROCS(0) > 1 {
		nParts = 2
	}
	// Pass 1, by second account: parts are runs of whole chunks.
	parts := make([][][]hit, nParts)
	for p := range nParts {
		parts[p] = l.chunks[p*len(l.chunks)/nParts : (p+1)*len(l.chunks)/nParts]
	}
	tmp := make([]hit, l.n)
	countingPass(parts, accounts, tmp, true)
	clear(l.chunks)
	l.chunks = nil
	// Pass 2, stably by first account: parts are runs of tmp.
	for p := range nParts {
		parts[p] = [][]hit{tmp[p*len(tmp)/nParts : (p+1)*len(tmp)/nParts]}
	}
	all := make([]hit, l.n)
	starts := countingPass(parts, accounts, all, false)
	return all, starts
}

// byPairSplitMin is the number of hits from which byPair sorts in two
// parallel parts. A variable for tests.
var byPairSplitMin = 200_000

// countingPass places the hits of parts (each a list of runs of hits), in
// order, into out by their second account (byB) or first: the hits of one
// account in part p follow those of that account in the parts before p.
// Parts are counted and placed in parallel. It returns where each
// account's hits start in out (one more entry than accounts, the last
// len(out)).
func countingPass(parts [][][]hit, accounts int, out []hit, byB bool) []int {
	counts := make([][]int, len(parts))
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			c := make([]int, accounts)
			for _, run := range parts[p] {
				for i := range run {
					k := run[i].a
					if byB {
						k = run[i].b
					}
					c[k]++
				}
			}
			counts[p] = c
		})
	}
	wg.Wait()
	starts := make([]int, accounts+1)
	for k := range accounts {
		at := starts[k]
		for p := range parts {
			// counts[p][k] becomes where part p places its next hit of k.
			n := counts[p][k]
			counts[p][k] = at
			at += n
		}
		starts[k+1] = at
	}
	for p := range parts {
		wg.Go(func() {
			next := counts[p]
			for _, run := range parts[p] {
				for i := range run {
					k := run[i].a
					if byB {
						k = run[i].b
					}
					out[next[k]] = run[i]
					next[k]++
				}
			}
		})
	}
	wg.Wait()
	return starts
}

// pairTable keeps, for the item being swept, the closest post pair of each
// account pair: an open-addressing hash table from pair to rec whose slots
// are marked with the item's generation, so that starting the next item
// clears nothing. Replacing the sort of every item's post pairs with it
// makes the cost linear in the pairs emitted.
type pairTable struct {
	keys   []uint64
	vals   []rec
	gen    []uint32
	cur    uint32
	filled []int32 // slots used by the current item, in insertion order
	closer func(x, y *rec) bool
	out    []rec
}

func newPairTable(closer func(x, y *rec) bool) *pairTable {
	t := &pairTable{closer: closer}
	t.alloc(1024)
	return t
}

func (t *pairTable) alloc(size int) {
	t.keys = make([]uint64, size)
	t.vals = make([]rec, size)
	t.gen = make([]uint32, size)
}

// reset starts a new item.
func (t *pairTable) reset() {
	t.cur++
	if t.cur == 0 {
		// The generation wrapped: clear the marks once.
		clear(t.gen)
		t.cur = 1
	}
	t.filled = t.filled[:0]
}

func (t *pairTable) slot(pair uint64) int {
	mask := uint64(len(t.keys) - 1)
	i := (pair * 0x9E3779B97F4A7C15 >> 20) & mask
	for t.gen[i] == t.cur && t.keys[i] != pair {
		i = (i + 1) & mask
	}
	return int(i)
}

// offer records x unless its pair already has a closer post pair.
func (t *pairTable) offer(x rec) {
	i := t.slot(x.pair)
	if t.gen[i] == t.cur {
		if t.closer(&x, &t.vals[i]) {
			t.vals[i] = x
		}
		return
	}
	t.gen[i], t.keys[i], t.vals[i] = t.cur, x.pair, x
	t.filled = append(t.filled, int32(i))
	if 2*len(t.filled) > len(t.keys) {
		t.grow()
	}
}

// grow doubles the table, moving the current item's entries.
func (t *pairTable) grow() {
	old := make([]rec, len(t.filled))
	for j, i := range t.filled {
		old[j] = t.vals[i]
	}
	t.alloc(2 * len(t.keys))
	t.cur = 1
	t.filled = t.filled[:0]
	for _, x := range old {
		i := t.slot(x.pair)
		t.gen[i], t.keys[i], t.vals[i] = t.cur, x.pair, x
		t.filled = append(t.filled, int32(i))
	}
}

// recs returns the current item's closest post pair per account pair, in
// the order the pairs were first offered. The slice is reused.
func (t *pairTable) recs() []rec {
	t.out = t.out[:0]
	for _, i := range t.filled {
		t.out = append(t.out, t.vals[i])
	}
	return t.out
}

// onePerPostPair applies the near_text rule that a post pair found in
// several bands counts once, under its smallest band key: it sorts hs by
// byPostPair, which orders hits by (account pair, post pair) then by band
// (item numbers in item order, or item keys), and keeps the first hit of
// each post pair; same reports whether two hits have the same account pair
// and post pair. The callers' comparisons are written out field by field:
// this sort runs on every near_text hit.
func onePerPostPair[H any](hs []H, byPostPair func(x, y H) int, same func(x, y H) bool) []H {
	slices.SortFunc(hs, byPostPair)
	return slices.CompactFunc(hs, same)
}

// cmpPostPair compares two hits' (account pair, post pair) keys.
func cmpPostPair(xa, xb, xpa, xpb, ya, yb, ypa, ypb uint32) int {
	if xa != ya {
		return cmp.Compare(xa, ya)
	}
	if xb != yb {
		return cmp.Compare(xb, yb)
	}
	if xpa != ypa {
		return cmp.Compare(xpa, ypa)
	}
	return cmp.Compare(xpb, ypb)
}
