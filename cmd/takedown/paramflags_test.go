package main

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/runner"
)

// TestEveryParamFlagIsApplied sets each stage parameter flag alone to a
// value other than its default and checks that applyParamFlags applies it
// (names it, and the parameters change): a flag added to paramFlags but not
// to applyParamFlags would be silently ignored, over a study file too.
func TestEveryParamFlagIsApplied(t *testing.T) {
	other := map[string]string{"window": "30", "format": "cnt", "map": "account=a,post=p,time=t", "communities": "louvain", "compat": "cnt", "signals": "co_url", "coortweet-loops": "keep", "image-decode": "exact",
		"sensitivity-windows": "2,20", "sensitivity-min-weights": "4", "sensitivity-min-scores": "0.5,9"}
	for _, f := range paramFlags() {
		name := f.Names()[0]
		var value string
		switch fl := f.(type) {
		case *cli.IntFlag:
			value = strconv.Itoa(fl.Value + 1)
		case *cli.Float64Flag:
			value = strconv.FormatFloat(fl.Value+0.5, 'g', -1, 64)
		default:
			value = other[name]
		}
		if value == "" {
			t.Errorf("--%s: no test value for a %T", name, f)
			continue
		}
		t.Run(name, func(t *testing.T) {
			var applied []string
			var got runner.Params
			app := &cli.App{Flags: paramFlags(), Action: func(c *cli.Context) error {
				got = runner.DefaultParams()
				applied = applyParamFlags(c, &got, true)
				return nil
			}}
			if err := app.Run([]string{"x", "--" + name, value}); err != nil {
				t.Fatal(err)
			}
			if len(applied) != 1 || applied[0] != "--"+name {
				t.Errorf("applied %v, want [--%s]", applied, name)
			}
			if reflect.DeepEqual(got, runner.DefaultParams()) {
				t.Errorf("--%s %s left the parameters at their defaults", name, value)
			}
		})
	}
}
