package main

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// parseParams parses args with the parameter flags of `takedown run` and
// returns the parameters, completed with the descriptor's format hint as
// the runner completes them.
func parseParams(t *testing.T, args []string, d datasets.Descriptor) runner.Params {
	t.Helper()
	var p runner.Params
	app := &cli.App{Name: "takedown", Flags: paramFlags(), Action: func(c *cli.Context) error {
		p = paramsFrom(c)
		return nil
	}}
	if err := app.RunContext(context.Background(), append([]string{"takedown"}, args...)); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	p.Normalize = normalize.WithFormatHint(p.Normalize, d.Format, d.Map)
	return p
}

// TestRunArgs checks that the flags the report's "reproduce this" block
// prints (runner.RunArgs) name every parameter flag of `takedown run`, give
// back the same parameters when parsed, and leave out the defaults.
func TestRunArgs(t *testing.T) {
	var names []string
	for _, f := range paramFlags() {
		names = append(names, f.Names()[0])
	}
	if got := runner.RunFlagNames(); !slices.Equal(got, names) {
		t.Fatalf("runner.RunFlagNames() = %v\nthe parameter flags of takedown run are %v", got, names)
	}
	twitter := datasets.Descriptor{Name: "x", Format: normalize.FormatTwitterIO}
	reddit := datasets.Descriptor{Name: "x", Format: "reddit"}
	generic := datasets.Descriptor{Name: "x", Format: normalize.FormatGeneric, Map: "post=p,account=a,time=t"}
	tests := []struct {
		name string
		desc datasets.Descriptor
		args []string
		want []string // nil: the same as args
	}{
		{name: "defaults", desc: twitter, args: []string{}, want: []string{}},
		{name: "defaults given", desc: twitter, args: []string{"--window", "60", "--top-n", "10", "--format", "auto"}, want: []string{}},
		{name: "format hint of the descriptor", desc: reddit, args: []string{}, want: []string{}},
		{name: "format other than the hint", desc: reddit, args: []string{"--format", "twitter-io"}},
		{name: "format", desc: twitter, args: []string{"--format", "nbc"}},
		{name: "map", desc: twitter, args: []string{"--map", "time=t,account=a,post=p"}, want: []string{"--format", "generic", "--map", "account=a,post=p,time=t"}},
		{name: "map of the descriptor", desc: generic, args: []string{}, want: []string{}},
		{name: "map other than the descriptor's", desc: generic, args: []string{"--map", "account=b,post=p,time=t:ms"}},
		{name: "min-text-runes", desc: twitter, args: []string{"--min-text-runes", "20"}},
		{name: "min-hashtag-seq", desc: twitter, args: []string{"--min-hashtag-seq", "4"}},
		{name: "minhash-permutations", desc: twitter, args: []string{"--minhash-permutations", "128"}},
		{name: "minhash-bands", desc: twitter, args: []string{"--minhash-bands", "16"}},
		{name: "shingle-size", desc: twitter, args: []string{"--shingle-size", "4"}},
		{name: "image-decode", desc: twitter, args: []string{"--image-decode", "exact"}},
		{name: "window", desc: twitter, args: []string{"--window", "120.5"}},
		{name: "window auto", desc: twitter, args: []string{"--window", "auto"}},
		{name: "min-weight", desc: twitter, args: []string{"--min-weight", "3"}},
		{name: "min-score", desc: twitter, args: []string{"--min-score", "2.5"}},
		{name: "signals", desc: twitter, args: []string{"--signals", "co_text", "--signals", "co_url"}, want: []string{"--signals", "co_text,co_url"}},
		{name: "max-evidence-per-edge", desc: twitter, args: []string{"--max-evidence-per-edge", "5"}},
		{name: "max-item-accounts", desc: twitter, args: []string{"--max-item-accounts", "80"}},
		{name: "min-affinity", desc: twitter, args: []string{"--min-affinity", "0.1"}},
		{name: "score-percentile", desc: twitter, args: []string{"--score-percentile", "0.9"}},
		{name: "communities", desc: twitter, args: []string{"--communities", "louvain", "--resolution", "1.5"}},
		{name: "near-threshold", desc: twitter, args: []string{"--near-threshold", "0.7"}},
		{name: "image-distance", desc: twitter, args: []string{"--image-distance", "24"}},
		{name: "image-min-quality", desc: twitter, args: []string{"--image-min-quality", "70"}},
		{name: "compat", desc: twitter, args: []string{"--compat", "coordination-network-toolkit"}, want: []string{"--compat", "cnt"}},
		{name: "compat coortweet", desc: twitter, args: []string{"--compat", "coortweet", "--coortweet-window", "60", "--coortweet-min-participation", "3",
			"--coortweet-loops", "keep", "--coortweet-edge-weight", "0.9", "--coortweet-subgraph", "1"}},
		{name: "summarize", desc: twitter, args: []string{"--top-n", "5", "--burst-days", "7", "--burst-min-accounts", "20"}},
		{name: "sensitivity", desc: twitter, args: []string{"--sensitivity-windows", "2,20.5", "--sensitivity-min-weights", "1", "--sensitivity-min-scores", "0.5,3"}},
		{name: "sensitivity empty", desc: twitter, args: []string{"--sensitivity-windows", ""}},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parseParams(t, tc.args, tc.desc)
			got := runner.RunArgs(p, tc.desc)
			want := tc.want
			if want == nil {
				want = tc.args
			}
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("RunArgs = %q, want %q", got, want)
			}
			if again := parseParams(t, got, tc.desc); !reflect.DeepEqual(again, p) {
				t.Errorf("parsing RunArgs %q gives\n%+v\nwant\n%+v", got, again, p)
			}
			for i := 0; i < len(got); i += 2 {
				covered[got[i][2:]] = true
			}
		})
	}
	for _, n := range names {
		if !covered[n] {
			t.Errorf("no case writes --%s", n)
		}
	}
	// A dataset without image fingerprints: the runner dropped the image
	// signals and their parameters, which the defaults give, so no flag.
	p := runner.DefaultParams()
	p.Cluster = cluster.WithoutImages(p.Cluster)
	if got := runner.RunArgs(p, twitter); len(got) != 0 {
		t.Errorf("RunArgs of the defaults without image signals = %q, want none", got)
	}
}
