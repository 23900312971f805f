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
			"A stage is damaged when a file of its run differs from the manifest, or the manifest does not\n" +
			"describe its run (another run id, unreadable, or edited since takedown.lock recorded its digest).\n" +
			"Also reported: leftovers of killed runs in tmp/ (gc removes them), and published runs when\n" +
			"takedown.lock names none of the dataset's runs (rebuild-lock re-links them).\n" +
			"Exit code 4 when any stage is stale or damaged, 0 when all are current or not run.",
		Flags: []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			if s, err := g.loadStudy(); err != nil {
				return err
			} else if s != nil {
				return studyStatus(c, g, s)
			}
			ds, err := datasetArg(c)
			if err != nil {
				return err
			}
			asJSON, err := wantJSON(c, g)
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
			notes, err := r.Notes(ds)
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
				n, _ := json.Marshal(notes)
				g.log.Info("status", "event", "status", "dataset", ds, "stages", json.RawMessage(b), "workspace", json.RawMessage(n))
			}
			switch {
			case asJSON:
				if notes.Leftovers.Entries == nil {
					notes.Leftovers.Entries = []string{}
				}
				if err := printDocument(g, statusDocument{Schema: DocumentSchema, Dataset: ds, Workspace: r.WS.Root, Stages: st, Notes: notes}); err != nil {
					return err
				}
			case !g.json:
				g.out("dataset %s  workspace %s\n", ds, r.WS.Root)
				printStages(g, st)
				if notes.Unlinked > 0 {
					g.out("takedown.lock names no run of %s, but runs/ holds %d published runs of it: `takedown rebuild-lock` re-links them\n",
						ds, notes.Unlinked)
				}
				if n := len(notes.Leftovers.Entries); n > 0 {
					g.out("%d leftovers of killed runs in tmp/ (%s): takedown gc removes them\n", n, humanBytes(notes.Leftovers.Bytes))
				}
				if notes.Busy {
					g.out("another takedown process is using the workspace (tmp/ holds its staging)\n")
				}
			}
			if bad > 0 {
				return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("status: %d of %d stages not current", bad, len(st))}
			}
			return nil
		},
	}
}

// statusDocument is the result of status -o json.
type statusDocument struct {
	Schema    int                  `json:"schema"`
	Dataset   string               `json:"dataset"`
	Workspace string               `json:"workspace"`
	Stages    []runner.StageStatus `json:"stages"`
	Notes     runner.Notes         `json:"notes"`
}

// humanBytes formats a size with a binary-free decimal unit (kB, MB, GB).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// printStages prints each stage's state, run id and reasons.
func printStages(g *globals, st []runner.StageStatus) {
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
