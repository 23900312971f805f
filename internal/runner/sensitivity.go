package runner

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

// clusterRun returns what summarize needs of the cluster run whose tables
// it reads (manifest m, parameters p), to recompute its clusters over the
// sensitivity grid: its filters and, from its stats, the window it swept
// with (the estimate under --window auto) and the posts its viral-item
// bound left out.
func clusterRun(m *store.Manifest, p cluster.Params) (*summarize.ClusterRun, error) {
	var st cluster.Stats
	if err := json.Unmarshal(m.Stats, &st); err != nil {
		return nil, fmt.Errorf("cluster run %s: stats: %w", m.RunID, err)
	}
	return &summarize.ClusterRun{
		WindowMillis: st.WindowMillis, MinWeight: p.MinWeight, MinScore: p.MinScore,
		MinAffinity: p.MinAffinity, ScorePercentile: p.ScorePercentile, Communities: p.Communities,
		BoundedPosts: st.BoundedPosts,
	}, nil
}

// FormatFloats renders a list flag's numbers, comma-separated.
func FormatFloats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = ftoa(x)
	}
	return strings.Join(parts, ",")
}

// FormatInts renders a list flag's integers, comma-separated.
func FormatInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = itoa(x)
	}
	return strings.Join(parts, ",")
}

// ParseFloats parses a comma-separated list of finite numbers; "" is the
// empty list.
func ParseFloats(s string) ([]float64, error) {
	out := []float64{}
	for _, f := range splitList(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a number (in %q)", f, s)
		}
		out = append(out, x)
	}
	return out, nil
}

// ParseInts parses a comma-separated list of integers; "" is the empty
// list.
func ParseInts(s string) ([]int, error) {
	out := []int{}
	for _, f := range splitList(s) {
		x, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer (in %q)", f, s)
		}
		out = append(out, x)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
