package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func gcCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove runs and sources that takedown.lock no longer reaches, and leftovers of killed runs",
		Description: "The roots are the runs named in takedown.lock and the sources their fetch runs list.\n" +
			"Everything else under runs/, sources/ and tmp/ (staging dirs of killed runs, partial\n" +
			"downloads) is removed (listed only, with --dry-run).\n" +
			"gc refuses (exit code 2) when there is no takedown.lock, or when it would remove every run\n" +
			"of the workspace or every run of a dataset: a lost or damaged lock is repaired with\n" +
			"`takedown rebuild-lock`, which re-links the published runs; --all removes them anyway.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "list what would be removed, remove nothing"},
			&cli.BoolFlag{Name: "all", Usage: "remove unreachable runs even when they are every run of the workspace or of a dataset, or there is no takedown.lock"},
		},
		Action: func(c *cli.Context) error {
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			unlock, err := r.WS.Exclusive(r.Wait)
			if err != nil {
				return err
			}
			defer unlock()
			garbage, err := r.WS.FindGarbage(c.Bool("all"))
			if err != nil {
				return err
			}
			verb := "removed"
			if c.Bool("dry-run") {
				verb = "would remove"
			} else if err := garbage.Remove(); err != nil {
				return err
			}
			if g.json {
				g.log.Info("gc", "event", "gc", "dry_run", c.Bool("dry-run"), "runs", garbage.Runs, "sources", garbage.Sources, "temp", garbage.Temp, "shards", garbage.Shards, "bytes", garbage.Bytes)
				return nil
			}
			for _, p := range append(append(append([]string{}, garbage.Runs...), garbage.Sources...), append(garbage.Temp, garbage.Shards...)...) {
				g.out("  %s %s\n", verb, p)
			}
			shards := ""
			if len(garbage.Shards) > 0 {
				shards = fmt.Sprintf(", %d shard sets of merged runs", len(garbage.Shards))
			}
			g.out("%s %d runs, %d sources, %d temp entries%s (%d bytes)\n", verb, len(garbage.Runs), len(garbage.Sources), len(garbage.Temp), shards, garbage.Bytes)
			return nil
		},
	}
}
