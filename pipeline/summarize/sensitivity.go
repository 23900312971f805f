package summarize

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// ClusterRun is what summarize needs to know of the cluster run whose
// pair_scores it reads, to recompute its clusters over the sensitivity
// grid: the window it swept with (its stats' window_ms, also when it was
// estimated) and its cluster-graph filters. The runner fills it in from the
// run's manifest, as Params.ClusterRun, so it is in the run id.
type ClusterRun struct {
	WindowMillis    int64   `json:"window_ms"`
	MinWeight       int     `json:"min_weight"`
	MinScore        float64 `json:"min_score"`
	MinAffinity     float64 `json:"min_affinity"`
	ScorePercentile float64 `json:"score_percentile"`
	// Communities is the run's --communities: the grid's cells are
	// connected components whatever it is (see docs/tables/sensitivity.md).
	Communities string `json:"communities"`
	// BoundedPosts are the posts the run's viral-item bound left out (its
	// stats' bounded_posts); cells at smaller windows keep them out.
	BoundedPosts int64 `json:"bounded_posts"`
}

// Default grid of the sensitivity table.
var (
	defaultSensitivityWindows    = []float64{1, 5, 10, 30, 60}
	defaultSensitivityMinWeights = []int{1, 2, 3}
	defaultSensitivityMinScores  = []float64{1, 2, 3, 4, 6}
)

// maxGridValues bounds the values of each grid dimension.
const maxGridValues = 32

func validateGrid(p Params) error {
	if len(p.SensitivityWindows) > maxGridValues || len(p.SensitivityMinWeights) > maxGridValues || len(p.SensitivityMinScores) > maxGridValues {
		return fmt.Errorf("--sensitivity-windows, --sensitivity-min-weights and --sensitivity-min-scores take at most %d values each", maxGridValues)
	}
	for _, w := range p.SensitivityWindows {
		if math.IsNaN(w) || w < 0 || w > 365*24*3600 {
			return fmt.Errorf("--sensitivity-windows: %v is not a number of seconds in [0, 31536000]", w)
		}
	}
	for _, m := range p.SensitivityMinWeights {
		if m < 1 {
			return fmt.Errorf("--sensitivity-min-weights: %d is below 1", m)
		}
	}
	for _, s := range p.SensitivityMinScores {
		if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
			return fmt.Errorf("--sensitivity-min-scores: %v is not a finite number >= 0", s)
		}
	}
	return nil
}

// sensitivityResult is the grid and what the report says of it.
type sensitivityResult struct {
	run     ClusterRun
	cells   []schema.Sensitivity // by window, min weight, min score
	dropped []int64              // grid windows above the run's window, ms
	current int64                // the run's clusters
}

// gridSettings are the grid's values (each sorted, without duplicates) and
// the run's filters that every cell keeps.
type gridSettings struct {
	windows         []int64
	minWeights      []int
	minScores       []float64
	minAffinity     float64
	scorePercentile float64
}

// gridCell is one cell's clusters.
type gridCell struct {
	window       int64
	minWeight    int
	minScore     float64
	clusterPairs int64
	clusters     int64
	accounts     int64
	largest      int64
	surviving    int64
}

// computeGrid recomputes the cluster stage's decision for every cell of the
// grid from the candidate edges of the pair_scores table at path: for
// window w, an edge's items are those with dt <= w, and it is kept with at
// least minWeight of them, its weight their weights summed in item order; a
// pair's score is its kept edges' weights summed in signal order; the pairs
// whose score reaches max(minScore, the scorePercentile quantile of the
// scored pairs' scores) and whose affinity reaches minAffinity link the
// cluster graph, whose connected components are the cell's clusters.
// current lists the run's clusters by account id; a current cluster
// survives a cell when at least half of its accounts are in one cluster of
// the cell.
//
// The table is streamed once, in its order (a pair's edges are
// consecutive): each pair's score is computed for every (window, min
// weight), and those that reach the smallest min score are written to a
// spillCounter (spilled under dir above spillBudget) keyed by (window, min
// weight, score descending, pair number). Each (window, min weight) is
// then swept in that order, filling its cells from the largest min score
// down and adding links to one union-find over the accounts: the cost is
// the items once per window, and the pairs once per (window, min weight),
// not per cell. Memory is one entry per account and spillBudget, whatever
// the number of pairs.
func computeGrid(ctx context.Context, path, dir string, s gridSettings, current [][]string) ([]gridCell, error) {
	nW, nMW := len(s.windows), len(s.minWeights)
	if nW == 0 || nMW == 0 || len(s.minScores) == 0 {
		return nil, nil
	}
	ids := map[string]int32{}
	var posts []int64 // per account number
	intern := func(id string, n int64) int32 {
		i, ok := ids[id]
		if !ok {
			i = int32(len(ids))
			ids[strings.Clone(id)] = i
			posts = append(posts, 0)
		}
		if n > 0 {
			posts[i] = n
		}
		return i
	}
	links := newSpillCounter(dir, sumCombine)
	defer links.cleanup()
	nScored := make([]int64, nW*nMW) // scored pairs per (window, min weight)
	score := make([]float64, nW*nMW)
	scored := make([]bool, nW*nMW)
	cnt := make([]int, nW)
	wsum := make([]float64, nW)
	minMS := s.minScores[0]
	var key []byte
	var pairs uint64
	var a, b int32
	havePair := false
	lastA, lastB := "", ""
	endPair := func() error {
		if !havePair {
			return nil
		}
		for gi := range score {
			if !scored[gi] {
				continue
			}
			nScored[gi]++
			if !(score[gi] >= minMS) {
				continue
			}
			key = append(key[:0], byte(gi>>8), byte(gi))
			key = binary.BigEndian.AppendUint64(key, descFloat(score[gi]))
			key = binary.BigEndian.AppendUint64(key, pairs)
			if err := links.add(key, int64(uint64(uint32(a))<<32|uint64(uint32(b)))); err != nil {
				return err
			}
		}
		pairs++
		clear(score)
		clear(scored)
		return nil
	}
	err := pqio.Each(path, func(batch []schema.PairScore) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, r := range batch {
			if len(r.DtMillis) != len(r.Weights) {
				return fmt.Errorf("%s: pair %s %s %s has %d dt_ms and %d weights", path, r.AccountA, r.AccountB, r.Signal, len(r.DtMillis), len(r.Weights))
			}
			if !havePair || r.AccountA != lastA || r.AccountB != lastB {
				if err := endPair(); err != nil {
					return err
				}
				a, b = intern(r.AccountA, r.PostsA), intern(r.AccountB, r.PostsB)
				lastA, lastB = strings.Clone(r.AccountA), strings.Clone(r.AccountB)
				havePair = true
			}
			for wi, w := range s.windows {
				n, sum := 0, 0.0
				for i, dt := range r.DtMillis {
					if dt <= w {
						n++
						sum += r.Weights[i]
					}
				}
				cnt[wi], wsum[wi] = n, sum
			}
			for wi := range nW {
				for mi, mw := range s.minWeights {
					if cnt[wi] >= mw {
						gi := wi*nMW + mi
						score[gi] += wsum[wi]
						scored[gi] = true
					}
				}
			}
		}
		return nil
	})
	if err == nil {
		err = endPair()
	}
	if err != nil {
		return nil, fmt.Errorf("summarize pair_scores: %w", err)
	}
	cur := make([][]int32, 0, len(current))
	for _, c := range current {
		ms := make([]int32, 0, len(c))
		for _, m := range c {
			ms = append(ms, intern(m, 0))
		}
		cur = append(cur, ms)
	}
	sw := newGridSweep(s, posts, cur, nScored)
	err = links.each(func(k []byte, v int64) error {
		gi := int(k[0])<<8 | int(k[1])
		sw.to(gi)
		sw.link(fromDescFloat(binary.BigEndian.Uint64(k[2:10])), int32(uint64(v)>>32), int32(uint32(v)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("summarize pair_scores: %w", err)
	}
	sw.to(nW * nMW)
	return sw.cells, nil
}

// descFloat maps a score (not NaN, not -0) to a uint64 whose byte order is
// the scores' descending order.
func descFloat(f float64) uint64 {
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

// fromDescFloat inverts descFloat.
func fromDescFloat(u uint64) float64 {
	u = ^u
	if u&(1<<63) != 0 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

// gridSweep fills the cells of each (window, min weight) from its links in
// descending score order.
type gridSweep struct {
	s       gridSettings
	posts   []int64
	current [][]int32
	nScored []int64
	parent  []int32
	size    []int32
	deg     []bool
	counts  map[int32]int32
	cells   []gridCell
	gi      int // the (window, min weight) being swept; -1 before the first
	si      int // the min score whose cell is being filled
	idx     int // links seen of gi
	d       int // index of the score percentile's quantile in descending order, -1 for none
	q       float64
	c       gridCell
	mine    []gridCell
}

func newGridSweep(s gridSettings, posts []int64, current [][]int32, nScored []int64) *gridSweep {
	n := len(posts)
	return &gridSweep{s: s, posts: posts, current: current, nScored: nScored,
		parent: make([]int32, n), size: make([]int32, n), deg: make([]bool, n),
		counts: map[int32]int32{}, gi: -1, mine: make([]gridCell, len(s.minScores))}
}

// to finishes the groups before gi and starts gi.
func (g *gridSweep) to(gi int) {
	for g.gi < gi {
		if g.gi >= 0 {
			for g.si >= 0 {
				g.record()
			}
			g.cells = append(g.cells, g.mine...)
		}
		g.gi++
		if g.gi >= len(g.nScored) {
			return
		}
		for i := range g.parent {
			g.parent[i] = int32(i)
			g.size[i] = 1
		}
		clear(g.deg)
		g.c = gridCell{}
		g.si = len(g.s.minScores) - 1
		g.idx = 0
		g.d, g.q = -1, math.Inf(-1)
		if n := g.nScored[g.gi]; g.s.scorePercentile > 0 && n > 0 {
			k := int(math.Ceil(g.s.scorePercentile*float64(n))) - 1
			k = min(max(k, 0), int(n)-1)
			g.d = int(n) - 1 - k
		}
	}
}

func (g *gridSweep) find(x int32) int32 {
	for g.parent[x] != x {
		g.parent[x] = g.parent[g.parent[x]]
		x = g.parent[x]
	}
	return x
}

// record fills the cell of the current min score and moves to the next
// smaller one.
func (g *gridSweep) record() {
	nMW := len(g.s.minWeights)
	c := g.c
	c.window, c.minWeight, c.minScore = g.s.windows[g.gi/nMW], g.s.minWeights[g.gi%nMW], g.s.minScores[g.si]
	c.surviving = 0
	for _, members := range g.current {
		clear(g.counts)
		var best int32
		for _, m := range members {
			if !g.deg[m] {
				continue
			}
			r := g.find(m)
			g.counts[r]++
			best = max(best, g.counts[r])
		}
		if 2*int(best) >= len(members) && best > 0 {
			c.surviving++
		}
	}
	g.mine[g.si] = c
	g.si--
}

// link takes the next pair of the group in descending score order: the
// cells of the min scores it does not reach are filled first.
func (g *gridSweep) link(score float64, a, b int32) {
	i := g.idx
	g.idx++
	if i == g.d {
		g.q = score
	}
	// Links up to the quantile's index all reach it.
	for g.si >= 0 && !(score >= g.s.minScores[g.si] && (i <= g.d || score >= g.q)) {
		g.record()
	}
	if g.si < 0 {
		return
	}
	if score/math.Sqrt(float64(g.posts[a])*float64(g.posts[b])) < g.s.minAffinity {
		return
	}
	c := &g.c
	c.clusterPairs++
	newA, newB := !g.deg[a], !g.deg[b]
	g.deg[a], g.deg[b] = true, true
	switch {
	case newA && newB:
		c.clusters++
		c.accounts += 2
	case newA || newB:
		c.accounts++
	}
	ra, rb := g.find(a), g.find(b)
	if ra != rb {
		if !newA && !newB {
			c.clusters--
		}
		if g.size[ra] < g.size[rb] {
			ra, rb = rb, ra
		}
		g.parent[rb] = ra
		g.size[ra] += g.size[rb]
		c.largest = max(c.largest, int64(g.size[ra]))
	}
}

// gridValues returns the grid of p for the run: windows in milliseconds at
// or below the run's window (those above it are returned as dropped), each
// dimension with the run's own value added, sorted, without duplicates.
func gridValues(p Params, run ClusterRun) (gridSettings, []int64) {
	s := gridSettings{minAffinity: run.MinAffinity, scorePercentile: run.ScorePercentile}
	var dropped []int64
	for _, w := range p.SensitivityWindows {
		ms := int64(math.Round(w * 1000))
		if ms > run.WindowMillis {
			dropped = append(dropped, ms)
			continue
		}
		s.windows = append(s.windows, ms)
	}
	s.windows = append(s.windows, run.WindowMillis)
	s.minWeights = append(slices.Clone(p.SensitivityMinWeights), run.MinWeight)
	s.minScores = append(slices.Clone(p.SensitivityMinScores), run.MinScore)
	slices.Sort(s.windows)
	slices.Sort(s.minWeights)
	slices.Sort(s.minScores)
	slices.Sort(dropped)
	return gridSettings{
		windows: slices.Compact(s.windows), minWeights: slices.Compact(s.minWeights), minScores: slices.Compact(s.minScores),
		minAffinity: s.minAffinity, scorePercentile: s.scorePercentile,
	}, slices.Compact(dropped)
}

// sensitivity computes the grid from in.PairScoresPath for the run's
// clusters (s.clusters).
func (s *state) sensitivity(ctx context.Context) (*sensitivityResult, error) {
	run := *s.p.ClusterRun
	current := make([][]string, 0, len(s.clusters))
	for _, c := range s.clusters {
		ms := make([]string, 0, len(c.members))
		for _, m := range c.members {
			ms = append(ms, m.id)
		}
		current = append(current, ms)
	}
	settings, dropped := gridValues(s.p, run)
	cells, err := computeGrid(ctx, s.in.PairScoresPath, s.counts.dir, settings, current)
	if err != nil {
		return nil, err
	}
	res := &sensitivityResult{run: run, dropped: dropped, current: int64(len(current))}
	for _, c := range cells {
		row := schema.Sensitivity{
			WindowMillis: c.window, MinWeight: int64(c.minWeight), MinScore: c.minScore,
			Run:          c.window == run.WindowMillis && c.minWeight == run.MinWeight && c.minScore == run.MinScore,
			ClusterPairs: c.clusterPairs, Clusters: c.clusters, ClusteredAccounts: c.accounts,
			LargestCluster: c.largest, Surviving: c.surviving,
		}
		if len(current) > 0 {
			v := float64(c.surviving) / float64(len(current))
			row.SurvivingShare = &v
		}
		res.cells = append(res.cells, row)
	}
	return res, nil
}

// writeSensitivity writes sensitivity.parquet.
func writeSensitivity(res *sensitivityResult, outDir string) error {
	_, err := pqio.WriteFile(filepath.Join(outDir, schema.TableSensitivity+".parquet"), res.cells)
	return err
}

// cell returns the row of (window, min weight, min score), if any.
func (r *sensitivityResult) cell(w int64, mw int, ms float64) (schema.Sensitivity, bool) {
	for _, c := range r.cells {
		if c.WindowMillis == w && c.MinWeight == int64(mw) && c.MinScore == ms {
			return c, true
		}
	}
	return schema.Sensitivity{}, false
}

// axes returns the grid's windows, min weights and min scores.
func (r *sensitivityResult) axes() (ws []int64, mws []int, mss []float64) {
	for _, c := range r.cells {
		ws = append(ws, c.WindowMillis)
		mws = append(mws, int(c.MinWeight))
		mss = append(mss, c.MinScore)
	}
	slices.Sort(ws)
	slices.Sort(mws)
	slices.Sort(mss)
	return slices.Compact(ws), slices.Compact(mws), slices.Compact(mss)
}
