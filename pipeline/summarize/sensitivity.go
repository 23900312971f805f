package summarize

import (
	"cmp"
	"context"
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

// gridInput is the pair_scores table as numbers: accounts interned, edges
// (pair, signal) in table order, each with its items' time differences and
// weights in item order.
type gridInput struct {
	posts    []int64 // per account number
	pairA    []int32 // per pair
	pairB    []int32
	edgePair []int32 // per edge, its pair; non-decreasing
	start    []int   // per edge, its first item; one more entry
	dt       []int64
	w        []float64
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
// grid from the candidate edges: for window w, an edge's items are those
// with dt <= w, and it is kept with at least minWeight of them, its weight
// their weights summed in item order; a pair's score is its kept edges'
// weights summed in signal order; the pairs whose score reaches
// max(minScore, the scorePercentile quantile of the scored pairs' scores)
// and whose affinity reaches minAffinity link the cluster graph, whose
// connected components are the cell's clusters. current lists the run's
// clusters as account numbers; a current cluster survives a cell when at
// least half of its accounts are in one cluster of the cell.
//
// For a (window, min weight) the pairs are sorted by score, and the cells
// are filled from the largest min score down, adding links to one
// union-find: the cost is the items once per window, and the pairs once per
// (window, min weight), not per cell.
func computeGrid(g *gridInput, s gridSettings, current [][]int32) []gridCell {
	nAcc := len(g.posts)
	nEdges := len(g.edgePair)
	cnt := make([]int, nEdges)
	wsum := make([]float64, nEdges)
	score := make([]float64, len(g.pairA))
	scored := make([]bool, len(g.pairA))
	parent := make([]int32, nAcc)
	size := make([]int32, nAcc)
	deg := make([]bool, nAcc)
	counts := map[int32]int32{}
	var cells []gridCell
	var order []int32
	for _, w := range s.windows {
		for e := range nEdges {
			n, sum := 0, 0.0
			for i := g.start[e]; i < g.start[e+1]; i++ {
				if g.dt[i] <= w {
					n++
					sum += g.w[i]
				}
			}
			cnt[e], wsum[e] = n, sum
		}
		for _, mw := range s.minWeights {
			clear(score)
			clear(scored)
			for e := range nEdges {
				if cnt[e] >= mw {
					p := g.edgePair[e]
					score[p] += wsum[e]
					scored[p] = true
				}
			}
			order = order[:0]
			var scores []float64
			for p := range score {
				if scored[p] {
					order = append(order, int32(p))
					scores = append(scores, score[p])
				}
			}
			q := math.Inf(-1)
			if s.scorePercentile > 0 && len(scores) > 0 {
				slices.Sort(scores)
				k := int(math.Ceil(s.scorePercentile*float64(len(scores)))) - 1
				q = scores[min(max(k, 0), len(scores)-1)]
			}
			// Pairs by score, largest first (ties by pair number, which
			// does not change the components).
			slices.SortFunc(order, func(x, y int32) int {
				if c := cmp.Compare(score[y], score[x]); c != 0 {
					return c
				}
				return cmp.Compare(x, y)
			})
			for i := range parent {
				parent[i] = int32(i)
				size[i] = 1
			}
			clear(deg)
			find := func(x int32) int32 {
				for parent[x] != x {
					parent[x] = parent[parent[x]]
					x = parent[x]
				}
				return x
			}
			var c gridCell
			next := 0
			mine := make([]gridCell, len(s.minScores))
			for si := len(s.minScores) - 1; si >= 0; si-- {
				cut := max(s.minScores[si], q)
				for ; next < len(order) && score[order[next]] >= cut; next++ {
					p := order[next]
					a, b := g.pairA[p], g.pairB[p]
					if score[p]/math.Sqrt(float64(g.posts[a])*float64(g.posts[b])) < s.minAffinity {
						continue
					}
					c.clusterPairs++
					newA, newB := !deg[a], !deg[b]
					deg[a], deg[b] = true, true
					switch {
					case newA && newB:
						c.clusters++
						c.accounts += 2
					case newA || newB:
						c.accounts++
					}
					ra, rb := find(a), find(b)
					if ra != rb {
						if !newA && !newB {
							c.clusters--
						}
						if size[ra] < size[rb] {
							ra, rb = rb, ra
						}
						parent[rb] = ra
						size[ra] += size[rb]
						c.largest = max(c.largest, int64(size[ra]))
					}
				}
				c.window, c.minWeight, c.minScore = w, mw, s.minScores[si]
				c.surviving = 0
				for _, members := range current {
					clear(counts)
					var best int32
					for _, m := range members {
						if !deg[m] {
							continue
						}
						r := find(m)
						counts[r]++
						best = max(best, counts[r])
					}
					if 2*int(best) >= len(members) && best > 0 {
						c.surviving++
					}
				}
				mine[si] = c
			}
			cells = append(cells, mine...)
		}
	}
	return cells
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

// readPairScores reads the pair_scores table into a gridInput, interning
// the account ids with ids (which the current clusters' members use too).
func readPairScores(ctx context.Context, path string, ids map[string]int32, g *gridInput) error {
	intern := func(id string, posts int64) int32 {
		i, ok := ids[id]
		if !ok {
			i = int32(len(ids))
			ids[strings.Clone(id)] = i
			g.posts = append(g.posts, 0)
		}
		if posts > 0 {
			g.posts[i] = posts
		}
		return i
	}
	g.start = append(g.start[:0], 0)
	lastA, lastB := "", ""
	err := pqio.Each(path, func(batch []schema.PairScore) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, r := range batch {
			if len(r.DtMillis) != len(r.Weights) {
				return fmt.Errorf("%s: pair %s %s %s has %d dt_ms and %d weights", path, r.AccountA, r.AccountB, r.Signal, len(r.DtMillis), len(r.Weights))
			}
			if len(g.pairA) == 0 || r.AccountA != lastA || r.AccountB != lastB {
				g.pairA = append(g.pairA, intern(r.AccountA, r.PostsA))
				g.pairB = append(g.pairB, intern(r.AccountB, r.PostsB))
				lastA, lastB = strings.Clone(r.AccountA), strings.Clone(r.AccountB)
			}
			g.edgePair = append(g.edgePair, int32(len(g.pairA)-1))
			g.dt = append(g.dt, r.DtMillis...)
			g.w = append(g.w, r.Weights...)
			g.start = append(g.start, len(g.dt))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize pair_scores: %w", err)
	}
	return nil
}

// sensitivity computes the grid from in.PairScoresPath for the run's
// clusters (s.clusters).
func (s *state) sensitivity(ctx context.Context) (*sensitivityResult, error) {
	run := *s.p.ClusterRun
	ids := map[string]int32{}
	g := &gridInput{}
	if err := readPairScores(ctx, s.in.PairScoresPath, ids, g); err != nil {
		return nil, err
	}
	current := make([][]int32, 0, len(s.clusters))
	for _, c := range s.clusters {
		ms := make([]int32, 0, len(c.members))
		for _, m := range c.members {
			i, ok := ids[m.id]
			if !ok {
				i = int32(len(ids))
				ids[m.id] = i
				g.posts = append(g.posts, 0)
			}
			ms = append(ms, i)
		}
		current = append(current, ms)
	}
	settings, dropped := gridValues(s.p, run)
	cells := computeGrid(g, settings, current)
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
