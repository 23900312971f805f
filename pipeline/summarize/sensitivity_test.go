package summarize

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// bruteCell is the cluster stage's decision for one cell, recomputed from
// the pair_scores rows the slow way: maps, a percentile over a sorted copy,
// and components by depth-first search.
func bruteCell(rows []schema.PairScore, current [][]string, w int64, mw int, ms, minAff, pct float64) gridCell {
	type pair struct{ a, b string }
	scores := map[pair]float64{}
	posts := map[string]int64{}
	var pairs []pair
	for _, r := range rows {
		posts[r.AccountA], posts[r.AccountB] = r.PostsA, r.PostsB
		n, sum := 0, 0.0
		for i, dt := range r.DtMillis {
			if dt <= w {
				n++
				sum += r.Weights[i]
			}
		}
		if n < mw {
			continue
		}
		k := pair{r.AccountA, r.AccountB}
		if _, ok := scores[k]; !ok {
			pairs = append(pairs, k)
		}
		scores[k] += sum
	}
	cut := ms
	if pct > 0 && len(pairs) > 0 {
		var all []float64
		for _, k := range pairs {
			all = append(all, scores[k])
		}
		sort.Float64s(all)
		i := int(math.Ceil(pct*float64(len(all)))) - 1
		cut = max(cut, all[min(max(i, 0), len(all)-1)])
	}
	adj := map[string][]string{}
	c := gridCell{window: w, minWeight: mw, minScore: ms}
	for _, k := range pairs {
		s := scores[k]
		if s < cut || s/math.Sqrt(float64(posts[k.a])*float64(posts[k.b])) < minAff {
			continue
		}
		c.clusterPairs++
		adj[k.a] = append(adj[k.a], k.b)
		adj[k.b] = append(adj[k.b], k.a)
	}
	comp := map[string]int{}
	var nodes []string
	for a := range adj {
		nodes = append(nodes, a)
	}
	slices.Sort(nodes)
	for _, a := range nodes {
		if _, ok := comp[a]; ok {
			continue
		}
		c.clusters++
		stack, size := []string{a}, int64(0)
		comp[a] = int(c.clusters)
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			for _, y := range adj[x] {
				if _, ok := comp[y]; !ok {
					comp[y] = int(c.clusters)
					stack = append(stack, y)
				}
			}
		}
		c.accounts += size
		c.largest = max(c.largest, size)
	}
	for _, members := range current {
		count := map[int]int{}
		best := 0
		for _, m := range members {
			if k, ok := comp[m]; ok {
				count[k]++
				best = max(best, count[k])
			}
		}
		if best > 0 && 2*best >= len(members) {
			c.surviving++
		}
	}
	return c
}

// gridOf writes rows as a pair_scores table, reads it back and computes the
// grid, as the stage does.
func gridOf(t *testing.T, rows []schema.PairScore, current [][]string, s gridSettings) []gridCell {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pair_scores.parquet")
	if _, err := pqio.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	cells, err := computeGrid(context.Background(), path, t.TempDir(), s, current)
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func ps(a, b, sig string, pa, pb int64, dts []int64, ws []float64) schema.PairScore {
	return schema.PairScore{AccountA: a, AccountB: b, Signal: sig, PostsA: pa, PostsB: pb, DtMillis: dts, Weights: ws}
}

// randomPairScores makes pair_scores rows of a few squads and organic
// noise, sorted as the cluster stage writes them.
func randomPairScores(r *rand.Rand) ([]schema.PairScore, [][]string) {
	n := 6 + r.IntN(30)
	acc := func(i int) string { return fmt.Sprintf("a%03d", i) }
	posts := make([]int64, n)
	for i := range posts {
		posts[i] = 1 + r.Int64N(200)
	}
	var rows []schema.PairScore
	for a := range n {
		for b := a + 1; b < n; b++ {
			if r.IntN(4) != 0 {
				continue
			}
			for _, sig := range []string{"co_repost", "co_text", "co_url"} {
				if r.IntN(2) == 0 {
					continue
				}
				k := 1 + r.IntN(6)
				var dts []int64
				var ws []float64
				for range k {
					dts = append(dts, r.Int64N(60_001))
					ws = append(ws, []float64{1, 0.78, 0.33, 0.5 + r.Float64()/2}[r.IntN(4)])
				}
				rows = append(rows, ps(acc(a), acc(b), sig, posts[a], posts[b], dts, ws))
			}
		}
	}
	var current [][]string
	for i := 0; i < n; {
		k := 2 + r.IntN(5)
		var c []string
		for j := i; j < min(n, i+k); j++ {
			c = append(c, acc(j))
		}
		if len(c) >= 2 && r.IntN(3) != 0 {
			current = append(current, c)
		}
		i += k
	}
	return rows, current
}

// TestComputeGridBruteForce: every cell of the grid equals the brute-force
// recomputation of the cluster decision, on hand-made and random inputs.
func TestComputeGridBruteForce(t *testing.T) {
	tests := []struct {
		name    string
		rows    []schema.PairScore
		current [][]string
		s       gridSettings
	}{
		{
			name: "one squad, one pair by window",
			rows: []schema.PairScore{
				ps("a", "b", "co_text", 5, 5, []int64{100, 20_000, 50_000}, []float64{1, 1, 1}),
				ps("a", "b", "co_url", 5, 5, []int64{2_000}, []float64{0.5}),
				ps("b", "c", "co_text", 5, 9, []int64{1_000, 59_000}, []float64{1, 0.8}),
				ps("x", "y", "co_repost", 100, 100, []int64{10, 10, 10, 10}, []float64{0.3, 0.3, 0.3, 0.3}),
			},
			current: [][]string{{"a", "b", "c"}, {"x", "y"}},
			s:       gridSettings{windows: []int64{1_000, 30_000, 60_000}, minWeights: []int{1, 2}, minScores: []float64{0, 1, 2, 4}, minAffinity: 0.02},
		},
		{
			name:    "percentile",
			rows:    []schema.PairScore{ps("a", "b", "co_text", 2, 2, []int64{0, 0}, []float64{1, 1}), ps("a", "c", "co_text", 2, 2, []int64{5}, []float64{1}), ps("c", "d", "co_url", 2, 2, []int64{5, 6, 7}, []float64{1, 1, 1})},
			current: [][]string{{"a", "b", "c", "d"}},
			s:       gridSettings{windows: []int64{0, 6, 10}, minWeights: []int{1, 3}, minScores: []float64{0.5, 2}, scorePercentile: 0.5},
		},
		{
			name: "no pairs",
			s:    gridSettings{windows: []int64{60_000}, minWeights: []int{2}, minScores: []float64{4}},
		},
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 40 {
		rows, current := randomPairScores(r)
		s := gridSettings{windows: []int64{0, 1_000, 10_000, 30_000, 60_000}, minWeights: []int{1, 2, 3}, minScores: []float64{0, 1, 2, 3, 4, 6},
			minAffinity: []float64{0, 0.02, 0.1}[i%3]}
		switch i % 4 {
		case 0:
			s.scorePercentile = 0.7
		case 2:
			// the quantile may fall below the smallest min score
			s.scorePercentile, s.minScores = []float64{0.3, 0.9}[i%8/4], []float64{1.5, 3}
		}
		tests = append(tests, struct {
			name    string
			rows    []schema.PairScore
			current [][]string
			s       gridSettings
		}{fmt.Sprint("random ", i), rows, current, s})
	}
	defer func(b int) { spillBudget = b }(spillBudget)
	for _, budget := range []int{spillBudget, 100} {
		spillBudget = budget // 100: the links are spilled one or two at a time
		for _, tc := range tests {
			t.Run(fmt.Sprint(tc.name, " budget ", budget), func(t *testing.T) {
				got := gridOf(t, tc.rows, tc.current, tc.s)
				if len(got) != len(tc.s.windows)*len(tc.s.minWeights)*len(tc.s.minScores) {
					t.Fatalf("%d cells", len(got))
				}
				i := 0
				for _, w := range tc.s.windows {
					for _, mw := range tc.s.minWeights {
						for _, ms := range tc.s.minScores {
							want := bruteCell(tc.rows, tc.current, w, mw, ms, tc.s.minAffinity, tc.s.scorePercentile)
							if got[i] != want {
								t.Errorf("cell %d:\n got %+v\nwant %+v", i, got[i], want)
							}
							i++
						}
					}
				}
			})
		}
	}
}

// TestComputeGridMonotone: without a score percentile, a larger window, a
// smaller min weight or a smaller min score never removes a link, so the
// cluster pairs and clustered accounts never shrink that way.
func TestComputeGridMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for iter := range 60 {
		rows, current := randomPairScores(r)
		s := gridSettings{windows: []int64{0, 5_000, 20_000, 60_000}, minWeights: []int{1, 2, 4}, minScores: []float64{0, 1, 2.5, 4}, minAffinity: 0.01}
		cells := gridOf(t, rows, current, s)
		at := func(wi, mi, si int) gridCell {
			return cells[(wi*len(s.minWeights)+mi)*len(s.minScores)+si]
		}
		for wi := range s.windows {
			for mi := range s.minWeights {
				for si := range s.minScores {
					c := at(wi, mi, si)
					if c.accounts < 2*c.clusters || c.largest > c.accounts || c.surviving > int64(len(current)) {
						t.Fatalf("iter %d: impossible cell %+v", iter, c)
					}
					for _, o := range []struct {
						ok   bool
						next gridCell
					}{
						{wi+1 < len(s.windows), at(min(wi+1, len(s.windows)-1), mi, si)},
						{mi > 0, at(wi, max(mi-1, 0), si)},
						{si > 0, at(wi, mi, max(si-1, 0))},
					} {
						if o.ok && (o.next.clusterPairs < c.clusterPairs || o.next.accounts < c.accounts) {
							t.Errorf("iter %d: %+v loosened to %+v has fewer pairs or accounts", iter, c, o.next)
						}
					}
				}
			}
		}
	}
}

// TestGridValues: windows above the run's are dropped, the run's values
// are added, each dimension sorted without duplicates.
func TestGridValues(t *testing.T) {
	p := DefaultParams()
	p.SensitivityWindows = []float64{120, 0.5, 60, 5, 5}
	s, dropped := gridValues(p, ClusterRun{WindowMillis: 30_000, MinWeight: 7, MinScore: 4, MinAffinity: 0.02})
	if !slices.Equal(s.windows, []int64{500, 5_000, 30_000}) || !slices.Equal(dropped, []int64{60_000, 120_000}) {
		t.Errorf("windows %v dropped %v", s.windows, dropped)
	}
	if !slices.Equal(s.minWeights, []int{1, 2, 3, 7}) || !slices.Equal(s.minScores, []float64{1, 2, 3, 4, 6}) || s.minAffinity != 0.02 {
		t.Errorf("settings %+v", s)
	}
	for _, bad := range []Params{
		{SensitivityWindows: []float64{-1}}, {SensitivityMinWeights: []int{0}}, {SensitivityMinScores: []float64{math.Inf(1)}},
		{SensitivityMinScores: make([]float64, maxGridValues+1)},
	} {
		if validateGrid(bad) == nil {
			t.Errorf("validateGrid(%+v) accepted", bad)
		}
	}
}

// BenchmarkSensitivityGrid reads the pair_scores table named by
// $TAKEDOWN_PAIR_SCORES and computes the default grid (at a 60 s run
// window, the cluster defaults), as summarize does: the cost docs/parameters.md
// compares with one cluster run.
func BenchmarkSensitivityGrid(b *testing.B) {
	path := os.Getenv("TAKEDOWN_PAIR_SCORES")
	if path == "" {
		b.Skip("set TAKEDOWN_PAIR_SCORES to a pair_scores.parquet")
	}
	s, _ := gridValues(DefaultParams(), ClusterRun{WindowMillis: 60_000, MinWeight: 2, MinScore: 4, MinAffinity: 0.02})
	for b.Loop() {
		if _, err := computeGrid(context.Background(), path, b.TempDir(), s, nil); err != nil {
			b.Fatal(err)
		}
	}
}
