package cluster

import (
	"math"
	"slices"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// candScores are one signal's candidate edges (every account pair with at
// least one co-shared item, before MinWeight), in pair order, and for each
// its co-shared items in item order: the time difference of the item's
// closest post pair and the item's rarity weight. They are what the
// pair_scores table records, so that the clusters can be recomputed under a
// smaller window (the items with dt <= window), another MinWeight and
// another MinScore without sweeping again.
type candScores struct {
	pair  []uint64
	start []int // start[i] is the first item of pair[i]; start has one more entry
	dt    []int64
	w     []float64
}

// grow makes room for pairs more candidate edges and items more items, so
// that open and item append without copying: the sweep knows both from its
// hits before it folds them (items is an upper bound for near_text, whose
// repeated post pairs are dropped while folding).
func (c *candScores) grow(pairs, items int) {
	if len(c.start) == 0 {
		c.start = make([]int, 1, pairs+1)
	}
	c.pair = slices.Grow(c.pair, pairs)
	c.start = slices.Grow(c.start, pairs)
	c.dt = slices.Grow(c.dt, items)
	c.w = slices.Grow(c.w, items)
}

// open starts a candidate edge.
func (c *candScores) open(pair uint64) {
	if len(c.start) == 0 {
		c.start = append(c.start, 0)
	}
	c.pair = append(c.pair, pair)
	c.start = append(c.start, len(c.dt))
}

// item adds one co-shared item to the last candidate edge.
func (c *candScores) item(dt int64, w float64) {
	c.dt = append(c.dt, dt)
	c.w = append(c.w, w)
	c.start[len(c.start)-1] = len(c.dt)
}

// pairScoreWriter writes the pair_scores table: rows sorted by (account_a,
// account_b, signal), as the edges table.
type pairScoreWriter struct {
	w   *pqio.Writer[schema.PairScore]
	buf []schema.PairScore
}

func newPairScoreWriter(path string) (*pairScoreWriter, error) {
	w, err := pqio.Create[schema.PairScore](path)
	if err != nil {
		return nil, err
	}
	return &pairScoreWriter{w: w, buf: make([]schema.PairScore, 0, 4096)}, nil
}

// add writes the candidate edges of every signal (in signal order), each
// in pair order (sigs[i] is signal i's candidates in parts, in pair order),
// merged by (pair, signal). Candidates of one pair must all be in one call
// (the partitioned path calls it once per account range).
func (pw *pairScoreWriter) add(d *data, sigs [][]candScores) error {
	cur := make([]candCursor, len(sigs))
	heads := make([]uint64, len(sigs)) // each signal's next pair, noPair at its end
	for si := range sigs {
		cur[si] = candCursor{parts: sigs[si]}
		cur[si].skip()
		heads[si] = cur[si].head()
	}
	for {
		pair := uint64(noPair)
		for _, h := range heads {
			pair = min(pair, h)
		}
		if pair == noPair {
			return nil
		}
		a, b := unpair(pair)
		accA, accB := d.accounts.at(int(a)), d.accounts.at(int(b))
		postsA, postsB := int64(d.postCount[a]), int64(d.postCount[b])
		for si, h := range heads {
			if h != pair {
				continue
			}
			c := &cur[si]
			dt, w := c.items()
			c.next()
			heads[si] = c.head()
			pw.buf = append(pw.buf, schema.PairScore{
				AccountA: accA, AccountB: accB, Signal: d.signals[si].name,
				PostsA: postsA, PostsB: postsB, DtMillis: dt, Weights: w,
			})
			if len(pw.buf) == cap(pw.buf) {
				if err := pw.flush(); err != nil {
					return err
				}
			}
		}
	}
}

// noPair is above every pair key (a < b, so a pair's first half is below
// the largest uint32).
const noPair = math.MaxUint64

// candCursor walks one signal's candidate edges, held in parts.
type candCursor struct {
	parts []candScores
	p, i  int // part, candidate in it
}

// skip moves past empty parts.
func (c *candCursor) skip() {
	for c.p < len(c.parts) && c.i >= len(c.parts[c.p].pair) {
		c.p++
		c.i = 0
	}
}

// head returns the current candidate's pair, noPair past the end.
func (c *candCursor) head() uint64 {
	if c.p == len(c.parts) {
		return noPair
	}
	return c.parts[c.p].pair[c.i]
}

// items returns the current candidate's time differences and weights.
func (c *candCursor) items() ([]int64, []float64) {
	cs := &c.parts[c.p]
	s, e := cs.start[c.i], cs.start[c.i+1]
	return cs.dt[s:e:e], cs.w[s:e:e]
}

func (c *candCursor) next() {
	c.i++
	c.skip()
}

func (pw *pairScoreWriter) flush() error {
	err := pw.w.Write(pw.buf...)
	clear(pw.buf)
	pw.buf = pw.buf[:0]
	return err
}

// close writes what is buffered and closes the file; it returns the rows
// written.
func (pw *pairScoreWriter) close() (int64, error) {
	if err := pw.flush(); err != nil {
		pw.w.Abort()
		return 0, err
	}
	n := pw.w.Rows()
	return n, pw.w.Close()
}

func (pw *pairScoreWriter) abort() { pw.w.Abort() }

// writePairScores writes the pair_scores table of the in-memory path.
func writePairScores(d *data, results []*signalResult, path string) (int64, error) {
	pw, err := newPairScoreWriter(path)
	if err != nil {
		return 0, err
	}
	sigs := make([][]candScores, len(results))
	for i, r := range results {
		sigs[i] = r.scores
	}
	if err := pw.add(d, sigs); err != nil {
		pw.abort()
		return 0, err
	}
	return pw.close()
}
