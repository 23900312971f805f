package cluster

import (
	"fmt"
	"slices"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

// pairScoreFixture is synthetic rows with texts, band keys, replies,
// hashtag lists and domains, so that every signal has items.
func pairScoreFixture(n int, seed uint64) []schema.Fingerprint {
	rows := synthetic(n, seed)
	for i := range rows {
		if k := rows[i].TextKey; k != nil {
			rows[i].NormalizedText = fmt.Sprint("squad text ", *k%1000, " with words enough to shingle")
			rows[i].MinHashBands = []uint64{*k % 1000, 1<<40 + *k%777}
		}
		if i%5 == 0 {
			parent := fmt.Sprint("parent", i%97)
			rows[i].ReplyKey = &parent
			rows[i].HashtagSeqKey = key(uint64(i % 89))
			rows[i].DomainKeys = []string{fmt.Sprint("d", i%13, ".example")}
		}
	}
	return rows
}

// filterPairScores is what the pair_scores of a run at a larger window say
// a run at window w (ms) with min weight mw writes: for every candidate
// edge, the items with dt_ms <= w, their count and their weights summed in
// the listed order; as edges (those with at least mw items) and as
// pair_scores rows (those with at least one).
func filterPairScores(rows []schema.PairScore, w int64, mw int) ([]schema.Edge, []schema.PairScore) {
	var edges []schema.Edge
	var kept []schema.PairScore
	for _, r := range rows {
		var n int64
		var sum float64
		ps := schema.PairScore{AccountA: r.AccountA, AccountB: r.AccountB, Signal: r.Signal, PostsA: r.PostsA, PostsB: r.PostsB}
		for i, dt := range r.DtMillis {
			if dt <= w {
				n++
				sum += r.Weights[i]
				ps.DtMillis = append(ps.DtMillis, dt)
				ps.Weights = append(ps.Weights, r.Weights[i])
			}
		}
		if n == 0 {
			continue
		}
		kept = append(kept, ps)
		if n >= int64(mw) {
			edges = append(edges, schema.Edge{AccountA: r.AccountA, AccountB: r.AccountB, Signal: r.Signal, SharedItems: n, Weight: sum})
		}
	}
	return edges, kept
}

// TestPairScoresRecomputeRuns: a run at a smaller window and any min
// weight writes exactly the edges (shared_items and bit-identical weights)
// and pair_scores that the pair_scores of a run at the larger window give
// when filtered on dt_ms, when the viral-item bound is off; with the bound
// on, the rerun finds every filtered edge with at least its items (a
// smaller window bounds fewer posts).
func TestPairScoresRecomputeRuns(t *testing.T) {
	tests := []struct {
		name       string
		rows       int
		seed       uint64
		signals    []string
		maxItem    int
		windows    []float64
		minWeights []int
		partitions int
	}{
		{"default signals", 3000, 1, DefaultParams().Signals, 0, []float64{0, 5, 30, 60}, []int{1, 2, 3}, 1},
		{"every signal", 2500, 2, Signals, 0, []float64{1, 20, 45}, []int{1, 2}, 1},
		{"partitioned", 2500, 3, Signals, 0, []float64{10, 60}, []int{1, 3}, 3},
		{"viral bound", 3000, 4, DefaultParams().Signals, 5, []float64{2, 30}, []int{1, 2}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFPs(t, pairScoreFixture(tc.rows, tc.seed))
			base := DefaultParams()
			base.Signals = tc.signals
			base.MaxItemAccounts = tc.maxItem
			base.MinWeight = 1
			base.WindowSeconds = 90
			in := Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: tc.partitions}}
			ref := runInput(t, in, base)
			if len(ref.pairScores) == 0 {
				t.Fatal("no pair scores")
			}
			if got := ref.stats.PairScoreRows; got != int64(len(ref.pairScores)) {
				t.Errorf("stats pair_score_rows %d, table %d", got, len(ref.pairScores))
			}
			for _, w := range tc.windows {
				for _, mw := range tc.minWeights {
					p := base
					p.WindowSeconds, p.MinWeight = w, mw
					got := runInput(t, in, p)
					wantEdges, wantScores := filterPairScores(ref.pairScores, p.windowMillis(), mw)
					gotEdges := slices.Clone(got.edges)
					for i := range gotEdges {
						gotEdges[i].FirstAt, gotEdges[i].LastAt = 0, 0
					}
					if tc.maxItem == 0 {
						if !slices.Equal(gotEdges, wantEdges) {
							t.Errorf("window %v min weight %d: %d edges, pair_scores give %d (or they differ)", w, mw, len(gotEdges), len(wantEdges))
						}
						if fmt.Sprint(got.pairScores) != fmt.Sprint(wantScores) {
							t.Errorf("window %v: pair_scores differ from the filtered ones", w)
						}
						continue
					}
					type k struct{ a, b, s string }
					have := map[k]int64{}
					for _, e := range gotEdges {
						have[k{e.AccountA, e.AccountB, e.Signal}] = e.SharedItems
					}
					for _, e := range wantEdges {
						if have[k{e.AccountA, e.AccountB, e.Signal}] < e.SharedItems {
							t.Errorf("window %v min weight %d: edge %v has %d items in the rerun, pair_scores give %d",
								w, mw, e, have[k{e.AccountA, e.AccountB, e.Signal}], e.SharedItems)
						}
					}
				}
			}
			// The run's own edges are its pair_scores' rows with at least
			// min weight items.
			p := base
			p.MinWeight = 2
			own := runInput(t, in, p)
			wantEdges, _ := filterPairScores(own.pairScores, p.windowMillis(), 2)
			gotEdges := slices.Clone(own.edges)
			for i := range gotEdges {
				gotEdges[i].FirstAt, gotEdges[i].LastAt = 0, 0
			}
			if !slices.Equal(gotEdges, wantEdges) {
				t.Errorf("the run's edges are not its pair_scores with min weight 2")
			}
		})
	}
}
