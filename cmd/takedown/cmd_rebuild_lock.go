package main

import (
	"encoding/json"

	"github.com/urfave/cli/v2"
)

func rebuildLockCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "rebuild-lock",
		Usage: "write takedown.lock anew from the published runs (after it was lost or damaged)",
		Description: "For each dataset and stage, makes current the intact run that finished last (by its\n" +
			"manifest's timings.finished_at); intact means its manifest parses and names its directory's\n" +
			"run id, and its outputs (and a fetch's sources) match the manifest. Runs that are not intact\n" +
			"are listed and left alone. Then `takedown status` says which stages are current and\n" +
			"`takedown run` brings the others up to date. Pins of a readable old lock are kept.",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("rebuild-lock takes no arguments")
			}
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			res, err := r.RebuildLock()
			if err != nil {
				return err
			}
			if g.json {
				b, _ := json.Marshal(res)
				g.log.Info("rebuild-lock", "event", "rebuild_lock", "result", json.RawMessage(b))
				return nil
			}
			g.out("takedown.lock (previous: %s)\n", res.Previous)
			for _, l := range res.Linked {
				g.out("  linked  %-32s %-11s %s  finished %s (%d intact runs)\n", l.Dataset, l.Stage, l.ID, l.FinishedAt, l.Candidates)
			}
			for _, s := range res.Skipped {
				g.out("  skipped %-32s %-11s %s  %s\n", s.Dataset, s.Stage, s.ID, s.Reason)
			}
			g.out("linked %d runs, skipped %d; see `takedown status DATASET`\n", len(res.Linked), len(res.Skipped))
			if len(res.Skipped) > 0 {
				g.out("skipped runs are not current: `takedown run DATASET` rebuilds a damaged current run, and `takedown gc` removes them\n")
			}
			return nil
		},
	}
}
