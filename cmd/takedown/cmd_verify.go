package main

import (
	"encoding/json"
	"fmt"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/urfave/cli/v2"
)

func verifyCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "verify",
		Usage:       "recompute runs in a scratch directory and compare every output byte for byte",
		ArgsUsage:   "[RUN-ID]",
		Description: "Without RUN-ID, verifies every current stage of --dataset. Exit code 4 on any difference.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset whose runs to verify"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("verify takes at most one RUN-ID")
			}
			asJSON, err := wantJSON(c, g)
			if err != nil {
				return err
			}
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			res, err := r.Verify(c.Context, c.String("dataset"), c.Args().First())
			if err != nil {
				return err
			}
			bad := 0
			for _, v := range res {
				if !v.OK {
					bad++
				}
				if g.json {
					b, _ := json.Marshal(v.Mismatches)
					g.log.Info("verify", "event", "verify", "dataset", v.Dataset, "stage", v.Stage, "run_id", v.RunID, "ok", v.OK, "mismatches", json.RawMessage(b))
				}
				if g.json || asJSON {
					continue
				}
				state := "identical"
				if !v.OK {
					state = "MISMATCH"
				}
				g.out("  %-11s %s  %s\n", v.Stage, v.RunID, state)
				for _, p := range v.Mismatches {
					g.out("      %s: %s\n", p.File, p.Reason)
				}
			}
			if asJSON {
				if res == nil {
					res = []runner.VerifyResult{}
				}
				doc := verifyDocument{Schema: DocumentSchema, Dataset: c.String("dataset"), OK: bad == 0, Runs: res}
				if err := printDocument(g, doc); err != nil {
					return err
				}
			}
			if bad > 0 {
				return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("verify: %d of %d runs differ", bad, len(res))}
			}
			if g.json || asJSON {
				return nil
			}
			g.out("verified %d runs: every output recomputed byte-identical\n", len(res))
			return nil
		},
	}
}

// verifyDocument is the result of verify -o json.
type verifyDocument struct {
	Schema  int                   `json:"schema"`
	Dataset string                `json:"dataset"`
	OK      bool                  `json:"ok"`
	Runs    []runner.VerifyResult `json:"runs"`
}
