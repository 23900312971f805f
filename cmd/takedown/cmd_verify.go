package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/takedown-research/takedown/internal/bundle"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/urfave/cli/v2"
)

func verifyCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "recompute runs (of the workspace, or of a bundle) and compare every output byte for byte",
		ArgsUsage: "[RUN-ID | BUNDLE]",
		Description: "Without an argument, verifies every current stage of --dataset; with RUN-ID, that run.\n" +
			"With BUNDLE (a zip file or directory written by `takedown pack`), reruns every stage of the\n" +
			"bundle in the workspace from its sources, checked by sha256, and compares every output with\n" +
			"the bundle. Exit code 4 on any difference; 3 when sources cannot be had (--from-dir DIR).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset whose runs to verify"},
			&cli.StringFlag{Name: "from-dir", Usage: "BUNDLE: a folder holding source files the bundle lacks (found by name or sha256)"},
			outputFlag(),
		}, bundleDownloadFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("verify takes at most one RUN-ID or BUNDLE")
			}
			if arg := c.Args().First(); arg != "" && bundle.IsBundle(arg) {
				return verifyBundle(c, g, arg)
			} else if looksLikePath(arg) {
				return fmt.Errorf("%w: %s is not a bundle (a zip file or a directory written by `takedown pack`); a RUN-ID is %d hex digits",
					bundle.ErrNotBundle, arg, store.RunIDLength)
			}
			if c.IsSet("from-dir") {
				return usagef("--from-dir is for verifying a BUNDLE")
			}
			if s, err := g.loadStudy(); err != nil {
				return err
			} else if s != nil && c.NArg() == 0 && !c.IsSet("dataset") {
				return studyVerify(c, g, s)
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
				printVerify(g, v, asJSON)
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

// printVerify reports one verified run.
// With asJSON (verify -o json) nothing is printed: the caller writes the
// result document.
func printVerify(g *globals, v runner.VerifyResult, asJSON bool) {
	if g.json {
		b, _ := json.Marshal(v.Mismatches)
		g.log.Info("verify", "event", "verify", "dataset", v.Dataset, "stage", v.Stage, "run_id", v.RunID, "ok", v.OK, "mismatches", json.RawMessage(b))
	}
	if g.json || asJSON {
		return
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

// looksLikePath reports whether a verify argument is meant as a bundle
// path rather than a run id.
func looksLikePath(arg string) bool {
	if arg == "" {
		return false
	}
	if _, err := os.Stat(arg); err == nil {
		return true
	}
	return strings.HasSuffix(strings.ToLower(arg), ".zip") || strings.ContainsAny(arg, `/\`)
}

// bundleDownloadFlags are the download settings verify uses for sources a
// bundle names by URL.
func bundleDownloadFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range downloadFlags() {
		switch f.Names()[0] {
		case "mirror", "jobs", "retries":
			out = append(out, f)
		}
	}
	return out
}

// verifyBundle reruns a bundle in the workspace and prints, per run, the
// state of every output file.
func verifyBundle(c *cli.Context, g *globals, path string) error {
	if c.IsSet("dataset") {
		return usagef("--dataset is not for a BUNDLE: verify reruns every dataset of the bundle")
	}
	b, err := bundle.Open(path)
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	res, err := r.VerifyBundle(c.Context, b, runner.BundleOptions{FromDir: c.String("from-dir"), Download: downloadOptionsFrom(c)})
	var missing *runner.SourcesMissingError
	if errors.As(err, &missing) && g.json {
		for _, m := range missing.Missing {
			g.log.Info("source missing", "event", "source_missing", "dataset", m.Dataset, "file", m.Name, "sha256", m.SHA256, "why", m.Why)
		}
	}
	if err != nil {
		return err
	}
	bad, files := 0, 0
	dataset := ""
	for _, v := range res {
		files += len(v.Files)
		if !v.OK {
			bad++
		}
		if g.json {
			b, _ := json.Marshal(v)
			g.log.Info("verify", "event", "verify_bundle", "run", json.RawMessage(b))
			continue
		}
		if v.Dataset != dataset {
			dataset = v.Dataset
			g.out("dataset %s\n", dataset)
		}
		g.out("  %-11s %s\n", v.Stage, v.RunID)
		for _, p := range v.Problems {
			g.out("      cannot rerun: %s: %s\n", p.File, p.Reason)
		}
		for _, f := range v.Files {
			line := fmt.Sprintf("      %-14s %s", f.State, f.File)
			if f.Reason != "" {
				line += ": " + f.Reason
			}
			g.out("%s\n", line)
		}
	}
	if bad > 0 {
		return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("verify: %d of %d runs of the bundle differ or could not be rerun", bad, len(res))}
	}
	g.out("verified %d runs, %d files: every output recomputed byte-identical to the bundle\n", len(res), files)
	return nil
}

// verifyDocument is the result of verify -o json.
type verifyDocument struct {
	Schema  int                   `json:"schema"`
	Dataset string                `json:"dataset"`
	OK      bool                  `json:"ok"`
	Runs    []runner.VerifyResult `json:"runs"`
}
