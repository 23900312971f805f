package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/synth"
	"github.com/takedown-research/takedown/pipeline/cluster"
)

// TestSensitivityGridMatchesReruns: cells of summarize's sensitivity table
// are what the cluster stage finds when it is run again with the cell's
// window, min weight and min score (clusters, clustered accounts, largest
// cluster, cluster pairs), and its surviving counts are the run's clusters
// with at least half of their accounts in one cluster of the rerun. The
// viral-item bound is off, the case in which the grid is exact.
func TestSensitivityGridMatchesReruns(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = 5, 600, 15000, "sens"
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	const name = "local/sens"
	r := newRunner(t)
	addSynth(t, r, name, dir, files)
	p := DefaultParams()
	p.Cluster.MaxItemAccounts = 0
	p.Summarize.SensitivityWindows = []float64{2, 20, 90}
	p.Summarize.SensitivityMinWeights = []int{1, 3}
	p.Summarize.SensitivityMinScores = []float64{1.5, 6}
	results, err := r.Run(context.Background(), Options{Dataset: name, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	var clusterDir, sumDir string
	for _, res := range results {
		switch res.Stage {
		case cluster.Name:
			clusterDir = res.Dir
		case "summarize":
			sumDir = res.Dir
		}
	}
	cells, err := pqio.ReadAll[schema.Sensitivity](filepath.Join(sumDir, schema.TableSensitivity+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// 2, 20, 60 s (90 is above the run's window) x 1, 2, 3 x 1.5, 4, 6.
	if len(cells) != 27 {
		t.Fatalf("%d cells, want 27", len(cells))
	}
	base := members(t, clusterDir).lists
	if len(base) < 5 {
		t.Fatalf("only %d clusters in the run", len(base))
	}
	runs := 0
	for _, c := range cells {
		if c.WindowMillis == 60_000 && c.MinWeight == 2 && c.MinScore == 4 {
			if !c.Run {
				t.Errorf("the run's cell is not marked: %+v", c)
			}
		} else if c.Run {
			t.Errorf("cell %+v marked as the run's", c)
		}
		// Rerun a spread of the cells: every window and min weight, with
		// the min scores alternating.
		if (c.WindowMillis/1000+c.MinWeight)%2 == 0 && c.MinScore == 6 || (c.WindowMillis/1000+c.MinWeight)%2 == 1 && c.MinScore == 1.5 || c.Run {
			runs++
			q := p
			q.Cluster.WindowSeconds = float64(c.WindowMillis) / 1000
			q.Cluster.MinWeight = int(c.MinWeight)
			q.Cluster.MinScore = c.MinScore
			res, err := r.Run(context.Background(), Options{Dataset: name, To: cluster.Name, Params: q})
			if err != nil {
				t.Fatal(err)
			}
			last := res[len(res)-1]
			var st cluster.Stats
			if err := json.Unmarshal(last.Stats, &st); err != nil {
				t.Fatal(err)
			}
			rerun := members(t, last.Dir)
			var surviving int64
			for _, ms := range base {
				count := map[string]int{}
				best := 0
				for _, m := range ms {
					if cid, ok := rerun.of[m]; ok {
						count[cid]++
						best = max(best, count[cid])
					}
				}
				if best > 0 && 2*best >= len(ms) {
					surviving++
				}
			}
			got := fmt.Sprint(c.Clusters, c.ClusteredAccounts, c.LargestCluster, c.ClusterPairs, c.Surviving)
			want := fmt.Sprint(st.Clusters, st.ClusteredAccounts, st.LargestCluster, st.ClusterPairs, surviving)
			if got != want {
				t.Errorf("cell %d ms, min weight %d, min score %v: clusters, accounts, largest, pairs, surviving %s; a rerun gives %s",
					c.WindowMillis, c.MinWeight, c.MinScore, got, want)
			}
		}
	}
	if runs < 9 {
		t.Errorf("only %d cells rerun", runs)
	}
}

// clusterMembers are a clusters table's clusters as member lists, and the
// cluster of each account.
type clusterMembers struct {
	lists [][]string
	of    map[string]string
}

func members(t *testing.T, dir string) clusterMembers {
	t.Helper()
	rows, err := pqio.ReadAll[schema.ClusterMember](filepath.Join(dir, schema.TableClusters+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	cm := clusterMembers{of: map[string]string{}}
	idx := map[string]int{}
	for _, m := range rows {
		i, ok := idx[m.ClusterID]
		if !ok {
			i = len(cm.lists)
			idx[m.ClusterID] = i
			cm.lists = append(cm.lists, nil)
		}
		cm.lists[i] = append(cm.lists[i], m.AccountID)
		cm.of[m.AccountID] = m.ClusterID
	}
	return cm
}
