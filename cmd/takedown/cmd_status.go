package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
)

func statusCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "say for each stage whether its current run is still valid, and if not exactly why",
		ArgsUsage: "[DATASET]  (default: demo)",
		Description: "A stage is current when its locked run would get the same run id today (same stage\n" +
			"version, recorded parameters and input digests) and its outputs on disk match the manifest.\n" +
			"Exit code 4 when any stage is stale or damaged, 0 when all are current or not run.",
		Action: func(c *cli.Context) error {
			ds, err := datasetArg(c)
			if err != nil {
				return err
			}
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			st, err := r.Status(ds)
			if err != nil {
				return err
			}
			bad := 0
			for _, s := range st {
				if s.State == runner.StateStale || s.State == runner.StateDamaged {
					bad++
				}
			}
			if g.json {
				b, _ := json.Marshal(st)
				g.log.Info("status", "event", "status", "dataset", ds, "stages", json.RawMessage(b))
			} else {
				g.out("dataset %s  workspace %s\n", ds, r.WS.Root)
				for _, s := range st {
					id := s.RunID
					if id == "" {
						id = "-"
					}
					g.out("  %-11s %-8s %s\n", s.Stage, s.State, id)
					for _, why := range s.Reasons {
						g.out("      %s\n", why)
					}
				}
			}
			if bad > 0 {
				return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("status: %d of %d stages not current", bad, len(st))}
			}
			return nil
		},
	}
}
