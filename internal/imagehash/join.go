package imagehash

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// AllPairs returns every pair of hashes within maxDist, ordered by A then
// B: the same pairs as NewIndex(hashes).Pairs(maxDist, nil), found by
// joining the multi-index tables with themselves instead of querying them
// once per hash.
//
// For every chunk c (the 16 chunks of 16 bits of Index) the hashes are laid
// out in the order of their chunk value, and each bucket is compared with
// itself and with the buckets whose value is within r = floor(maxDist/16)
// bits of its own (r = 1 for PDQ's 31: itself and 16 neighbours). By the
// pigeonhole argument of Index every pair within maxDist meets in some
// chunk, so recall is exact; a pair is kept only in the first chunk where
// its chunk values are within r, so it is found once. The buckets are
// contiguous copies of the hashes, so the comparisons read memory in order:
// on uniform hashes this costs about 17 x N^2 / 65,536 / 2 comparisons per
// chunk, some 2 x 10^9 for a million hashes, against 4 x 10^9 random-access
// candidates for a million queries. Chunks are joined on workers goroutines
// (0: GOMAXPROCS); the result does not depend on their number.
//
// maxDist above 31 falls back to Index.Pairs (r > 1 multiplies the
// neighbouring buckets).
func AllPairs(hashes []PDQHash, maxDist, workers int) []Pair {
	if maxDist < 0 {
		return nil
	}
	if maxDist >= 2*numChunks {
		return NewIndex(hashes).Pairs(maxDist, nil)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	words := make([][4]uint64, len(hashes))
	for i, h := range hashes {
		words[i] = h.Words()
	}
	r := maxDist / numChunks
	found := make([][]Pair, numChunks)
	next := make(chan int, numChunks)
	for c := range numChunks {
		next <- c
	}
	close(next)
	var wg sync.WaitGroup
	for range min(workers, numChunks) {
		wg.Go(func() {
			j := &chunkJoin{}
			for c := range next {
				found[c] = j.run(words, c, r, maxDist)
			}
		})
	}
	wg.Wait()
	var out []Pair
	for _, f := range found {
		out = append(out, f...)
	}
	slices.SortFunc(out, func(x, y Pair) int {
		if x.A != y.A {
			return x.A - y.A
		}
		return x.B - y.B
	})
	return out
}

// chunkJoin holds one worker's buffers, reused from chunk to chunk.
type chunkJoin struct {
	offsets []uint32    // bucket v is [offsets[v], offsets[v+1])
	ids     []uint32    // hash ids in bucket order
	sorted  [][4]uint64 // the hashes in bucket order
}

// run joins the buckets of chunk c: every pair within maxDist whose chunk
// values are within r bits, and in no earlier chunk within r bits.
func (j *chunkJoin) run(words [][4]uint64, c, r, maxDist int) []Pair {
	n := len(words)
	if cap(j.offsets) < 1<<chunkBits+1 {
		j.offsets = make([]uint32, 1<<chunkBits+1)
	}
	offs := j.offsets[:1<<chunkBits+1]
	clear(offs)
	for i := range words {
		offs[int(chunkOf(&words[i], c))+1]++
	}
	for v := 1; v < len(offs); v++ {
		offs[v] += offs[v-1]
	}
	j.ids = slices.Grow(j.ids[:0], n)[:n]
	j.sorted = slices.Grow(j.sorted[:0], n)[:n]
	fill := slices.Clone(offs[:1<<chunkBits])
	for i := range words {
		v := chunkOf(&words[i], c)
		j.ids[fill[v]] = uint32(i)
		j.sorted[fill[v]] = words[i]
		fill[v]++
	}
	var out []Pair
	emit := func(x, y int, d int) {
		wx, wy := &j.sorted[x], &j.sorted[y]
		for e := 0; e < c; e++ {
			if bits.OnesCount16(chunkOf(wx, e)^chunkOf(wy, e)) <= r {
				return // found in chunk e
			}
		}
		a, b := int(j.ids[x]), int(j.ids[y])
		if a > b {
			a, b = b, a
		}
		out = append(out, Pair{A: a, B: b, Distance: d})
	}
	for v := range 1 << chunkBits {
		lo, hi := int(offs[v]), int(offs[v+1])
		if lo == hi {
			continue
		}
		for x := lo; x < hi; x++ {
			wx := &j.sorted[x]
			for y := x + 1; y < hi; y++ {
				if d := within(wx, &j.sorted[y], maxDist); d >= 0 {
					emit(x, y, d)
				}
			}
		}
		if r == 0 {
			continue
		}
		for i := range chunkBits {
			u := v ^ 1<<i
			if u < v {
				continue // the pair of buckets is joined from u
			}
			ulo, uhi := int(offs[u]), int(offs[u+1])
			for x := lo; x < hi; x++ {
				wx := &j.sorted[x]
				for y := ulo; y < uhi; y++ {
					if d := within(wx, &j.sorted[y], maxDist); d >= 0 {
						emit(x, y, d)
					}
				}
			}
		}
	}
	return out
}

// within returns the distance of a and b when it is at most maxDist, else
// -1. It stops after the first half of the bits when they alone exceed
// maxDist, as they do for nearly every pair of unrelated hashes (their
// 128 bits differ in 64 on average), a branch the processor predicts.
func within(a, b *[4]uint64, maxDist int) int {
	d := bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1])
	if d > maxDist {
		return -1
	}
	d += bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
	if d > maxDist {
		return -1
	}
	return d
}
