package imagehash

import (
	"math/bits"
	"slices"
)

// Index finds PDQ hashes within a Hamming distance of a query without
// comparing against every hash, by multi-index hashing (Norouzi, Punjani
// and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing",
// CVPR 2012): the 256 bits are cut into 16 chunks of 16 bits, and each
// chunk has a table from its 65,536 values to the hashes having that
// value there.
//
// By the pigeonhole principle, two hashes at distance d differ in at most
// floor(d/16) bits in at least one chunk (if every chunk differed in more,
// the total would exceed d). So probing, in every chunk's table, all
// values within r = floor(maxDist/16) bits of the query's chunk finds every
// hash within maxDist: recall is exact by construction, and the tests
// check it against brute force. For PDQ's match threshold 31, r = 1: 16
// chunks x 17 probes. Candidates are verified on the full 256 bits, so
// there are no false matches either.
//
// An Index is immutable once built and safe for concurrent queries.
type Index struct {
	words   [][4]uint64
	offsets [numChunks][]uint32 // per chunk: bucket v holds ids[offsets[v]:offsets[v+1]]
	ids     [numChunks][]uint32
}

const (
	numChunks = 16
	chunkBits = 16
	// maxProbeRadius bounds the per-chunk radius (maxDist <= 63). Beyond
	// it the probes outnumber what a scan costs, and Query scans.
	maxProbeRadius = 3
)

// Match is a hash found by a query: its position in the indexed slice and
// its distance to the query.
type Match struct {
	ID       int
	Distance int
}

// Pair is two indexed hashes within the distance, A < B.
type Pair struct {
	A, B     int
	Distance int
}

// QueryStats count the work of queries: Probes are table lookups,
// Candidates the hashes whose full 256-bit distance was computed.
type QueryStats struct {
	Queries, Probes, Candidates int
}

// NewIndex builds an index over hashes; IDs are positions in the slice.
// It holds 16 x 4 bytes per hash plus 4 MiB of bucket offsets.
func NewIndex(hashes []PDQHash) *Index {
	ix := &Index{words: make([][4]uint64, len(hashes))}
	for i, h := range hashes {
		ix.words[i] = h.Words()
	}
	for c := 0; c < numChunks; c++ {
		counts := make([]uint32, 1<<chunkBits+1)
		for i := range ix.words {
			counts[int(chunkOf(&ix.words[i], c))+1]++
		}
		for v := 1; v < len(counts); v++ {
			counts[v] += counts[v-1]
		}
		ids := make([]uint32, len(ix.words))
		next := slices.Clone(counts[:1<<chunkBits])
		for i := range ix.words {
			v := chunkOf(&ix.words[i], c)
			ids[next[v]] = uint32(i)
			next[v]++
		}
		ix.offsets[c], ix.ids[c] = counts, ids
	}
	return ix
}

// Len is the number of indexed hashes.
func (ix *Index) Len() int { return len(ix.words) }

func chunkOf(w *[4]uint64, c int) uint16 {
	return uint16(w[c/4] >> (chunkBits * (3 - c%4)))
}

// Query returns every indexed hash within maxDist of q, by distance then
// ID. stats, if not nil, accumulates the work done.
func (ix *Index) Query(q PDQHash, maxDist int, stats *QueryStats) []Match {
	qw := q.Words()
	var out []Match
	ix.query(&qw, maxDist, stats, func(id, d int) { out = append(out, Match{id, d}) })
	slices.SortFunc(out, func(a, b Match) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return a.ID - b.ID
	})
	return out
}

// query calls found once for each indexed hash within maxDist of qw.
func (ix *Index) query(qw *[4]uint64, maxDist int, stats *QueryStats, found func(id, d int)) {
	if stats != nil {
		stats.Queries++
	}
	if maxDist < 0 {
		return
	}
	r := maxDist / numChunks
	if r > maxProbeRadius {
		for id := range ix.words {
			if d := wordsDistance(qw, &ix.words[id]); d <= maxDist {
				found(id, d)
			}
		}
		if stats != nil {
			stats.Candidates += len(ix.words)
		}
		return
	}
	var qc [numChunks]uint16
	for c := range qc {
		qc[c] = chunkOf(qw, c)
	}
	probes, candidates := 0, 0
	for c := 0; c < numChunks; c++ {
		offs, ids := ix.offsets[c], ix.ids[c]
		visit := func(v uint16) {
			probes++
			for _, id := range ids[offs[v]:offs[int(v)+1]] {
				w := &ix.words[id]
				// Each hash is examined in the first chunk where it is
				// within r of the query, and only there: no set needed
				// to drop the repeats from later chunks.
				first := true
				for e := 0; e < c; e++ {
					if bits.OnesCount16(chunkOf(w, e)^qc[e]) <= r {
						first = false
						break
					}
				}
				if !first {
					continue
				}
				candidates++
				if d := wordsDistance(qw, w); d <= maxDist {
					found(int(id), d)
				}
			}
		}
		forEachWithin(qc[c], r, visit)
	}
	if stats != nil {
		stats.Probes += probes
		stats.Candidates += candidates
	}
}

// forEachWithin calls f for every 16-bit value within r bits of v (r <= 3).
func forEachWithin(v uint16, r int, f func(uint16)) {
	f(v)
	if r < 1 {
		return
	}
	for i := 0; i < chunkBits; i++ {
		vi := v ^ 1<<i
		f(vi)
		if r < 2 {
			continue
		}
		for j := i + 1; j < chunkBits; j++ {
			vj := vi ^ 1<<j
			f(vj)
			if r < 3 {
				continue
			}
			for k := j + 1; k < chunkBits; k++ {
				f(vj ^ 1<<k)
			}
		}
	}
}

// Pairs returns every pair of indexed hashes within maxDist, ordered by
// A then B.
func (ix *Index) Pairs(maxDist int, stats *QueryStats) []Pair {
	var out []Pair
	for a := range ix.words {
		start := len(out)
		ix.query(&ix.words[a], maxDist, stats, func(b, d int) {
			if b > a {
				out = append(out, Pair{a, b, d})
			}
		})
		slices.SortFunc(out[start:], func(x, y Pair) int { return x.B - y.B })
	}
	return out
}

// BrutePairs is Pairs by comparing every pair: the reference the index is
// tested against, and the faster choice for a few thousand hashes.
func BrutePairs(hashes []PDQHash, maxDist int) []Pair {
	words := make([][4]uint64, len(hashes))
	for i, h := range hashes {
		words[i] = h.Words()
	}
	var out []Pair
	for a := range words {
		for b := a + 1; b < len(words); b++ {
			if d := wordsDistance(&words[a], &words[b]); d <= maxDist {
				out = append(out, Pair{a, b, d})
			}
		}
	}
	return out
}
