package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/study"
)

// studyFlags are the global flags that choose the study file.
func studyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "study", Aliases: []string{"f"}, EnvVars: []string{"TAKEDOWN_STUDY"},
			Usage: "study file (default: ./" + study.FileName + " when present): run, status, verify and export work on its datasets and parameters"},
		&cli.BoolFlag{Name: "no-study", Usage: "ignore ./" + study.FileName + " and use flags and defaults only"},
	}
}

// studyPath is the study file the command line chooses, or "".
func studyPath(c *cli.Context) (string, error) {
	if c.Bool("no-study") {
		if c.IsSet("study") {
			return "", usagef("--study and --no-study: give one")
		}
		return "", nil
	}
	if c.IsSet("study") {
		return c.String("study"), nil
	}
	return study.Find("."), nil
}

// loadStudy reads the chosen study file; nil without one.
func (g *globals) loadStudy() (*study.Study, error) {
	if g.studyFile == "" {
		return nil, nil
	}
	return study.Load(g.studyFile)
}

// studyTag is what takedown.lock records of a study with each run.
func studyTag(s *study.Study) string { return s.Name + "@" + s.SHA256[:12] }

// studyJobs are the study's jobs for the DATASET argument, if given.
func studyJobs(c *cli.Context, s *study.Study) ([]study.Job, error) {
	jobs := s.Jobs()
	if c.NArg() > 1 {
		return nil, usagef("%s takes at most one DATASET argument, got %d", c.Command.Name, c.NArg())
	}
	if c.NArg() == 0 {
		return jobs, nil
	}
	ds := c.Args().First()
	var out []study.Job
	for _, j := range jobs {
		if j.Dataset == ds {
			out = append(out, j)
		}
	}
	if len(out) == 0 {
		var names []string
		for _, d := range s.Datasets {
			names = append(names, d.Name)
		}
		return nil, usagef("dataset %s is not in the study file %s (it has %s): add it there, or give --no-study",
			ds, s.Path, strings.Join(names, ", "))
	}
	return out, nil
}

// registerLocal writes the descriptors of the study's local datasets into
// the workspace, as `datasets add` does.
func registerLocal(root string, s *study.Study) error {
	for _, d := range s.Datasets {
		if d.Local == nil {
			continue
		}
		for _, f := range d.Local.Files {
			if _, err := os.Stat(f.Path); err != nil {
				return fmt.Errorf("%w: study file %s, dataset %s: %w", errInput, s.Path, d.Name, err)
			}
		}
		if _, err := datasets.AddLocal(root, *d.Local); err != nil {
			return fmt.Errorf("study file %s: %w", s.Path, err)
		}
	}
	return nil
}

// studyRun runs every job of the study (or of one dataset of it) from
// stage from to stage to; flags given on the command line override the
// study's parameters, and say so.
func studyRun(c *cli.Context, g *globals, s *study.Study, o runner.Options) error {
	jobs, err := studyJobs(c, s)
	if err != nil {
		return err
	}
	if err := prepareRun(g, &o); err != nil {
		return err
	}
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	if err := registerLocal(r.WS.Root, s); err != nil {
		return err
	}
	tag := studyTag(s)
	var probe runner.Params
	if over := applyParamFlags(c, &probe, true); len(over) > 0 {
		if !g.quiet && !g.json {
			fmt.Fprintf(g.stderr, "takedown: %s override the study file %s; these runs are not recorded as the study's\n",
				strings.Join(over, ", "), s.Path)
		}
		tag = ""
	}
	start := time.Now()
	for _, j := range jobs {
		jo := o
		jo.Dataset, jo.Variant, jo.Params, jo.Study = j.Dataset, j.Variant, j.Params, tag
		applyParamFlags(c, &jo.Params, true)
		results, err := r.Run(c.Context, jo)
		if err != nil {
			return err
		}
		printResults(g, r.WS.Root, jo, results)
	}
	if !g.json {
		g.out("study %s: %d runs of %d datasets done in %.1fs; tables of every dataset: %s\n",
			s.Name, len(jobs), len(s.Datasets), time.Since(start).Seconds(), filepath.Join(r.WS.Root, "current"))
	}
	return nil
}

func jobTitle(dataset, variant string) string {
	if variant == "" {
		return "dataset " + dataset
	}
	return "dataset " + dataset + "  variant " + variant
}

// studyStatus reports every job of the study against the study's
// parameters.
func studyStatus(c *cli.Context, g *globals, s *study.Study) error {
	jobs, err := studyJobs(c, s)
	if err != nil {
		return err
	}
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	if err := registerLocal(r.WS.Root, s); err != nil {
		return err
	}
	bad, total := 0, 0
	for _, j := range jobs {
		p := j.Params
		st, err := r.StatusOf(j.Dataset, runner.StatusOptions{Variant: j.Variant, Want: &p})
		if err != nil {
			return err
		}
		for _, x := range st {
			total++
			if x.State != runner.StateCurrent {
				bad++
			}
		}
		if g.json {
			b, _ := json.Marshal(st)
			g.log.Info("status", "event", "status", "dataset", j.Dataset, "variant", j.Variant, "stages", json.RawMessage(b))
			continue
		}
		g.out("%s\n", jobTitle(j.Dataset, j.Variant))
		printStages(g, st)
	}
	if bad > 0 {
		return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("status: %d of %d stage runs of study %s not current (takedown run makes them so)", bad, total, s.Name)}
	}
	g.out("study %s: all %d stage runs current\n", s.Name, total)
	return nil
}

// studyVerify recomputes every current run of the study once.
func studyVerify(c *cli.Context, g *globals, s *study.Study) error {
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	bad, n := 0, 0
	for _, j := range s.Jobs() {
		res, err := r.VerifyVariant(c.Context, j.Dataset, "", j.Variant)
		if err != nil {
			return err
		}
		g.out("%s\n", jobTitle(j.Dataset, j.Variant))
		for _, v := range res {
			if seen[v.Dataset+"/"+v.RunID] {
				g.out("  %-11s %s  (verified above)\n", v.Stage, v.RunID)
				continue
			}
			seen[v.Dataset+"/"+v.RunID] = true
			n++
			if !v.OK {
				bad++
			}
			printVerify(g, v, false)
		}
	}
	if bad > 0 {
		return &exitError{kind: errkind.Mismatch, msg: fmt.Sprintf("verify: %d of %d runs of study %s differ", bad, n, s.Name)}
	}
	g.out("verified %d runs of study %s: every output recomputed byte-identical\n", n, s.Name)
	return nil
}

func studyCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "study",
		Usage: "write and inspect a study file (" + study.FileName + "): a paper's datasets and parameters",
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "write a commented starting " + study.FileName,
				ArgsUsage: "[FILE]  (default: ./" + study.FileName + ")",
				Action: func(c *cli.Context) error {
					if c.NArg() > 1 {
						return usagef("study init takes at most one FILE")
					}
					p := c.Args().First()
					if p == "" {
						p = study.FileName
					}
					f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
					if errors.Is(err, fs.ErrExist) {
						return usagef("%s exists: edit it, or remove it first", p)
					}
					if err != nil {
						return err
					}
					if _, err := f.WriteString(study.Template); err != nil {
						f.Close()
						return err
					}
					if err := f.Close(); err != nil {
						return err
					}
					g.out("wrote %s: edit it, then `takedown run` in this folder runs the study\n", p)
					return nil
				},
			},
			{
				Name:  "show",
				Usage: "list the study's runs: each dataset and variant with the parameters that differ from the defaults",
				Action: func(c *cli.Context) error {
					s, err := g.loadStudy()
					if err != nil {
						return err
					}
					if s == nil {
						return usagef("no study file: give --study FILE, or write one with `takedown study init`")
					}
					g.out("study %s  (%s, sha256 %.12s)\n", s.Name, s.Path, s.SHA256)
					def := runner.DefaultParams()
					for _, j := range s.Jobs() {
						g.out("%s\n", jobTitle(j.Dataset, j.Variant))
						for _, d := range paramDiff(def, j.Params) {
							g.out("  %s\n", d)
						}
					}
					return nil
				},
			},
		},
	}
}

// paramDiff lists stage.parameter = value for each parameter of p that
// differs from def.
func paramDiff(def, p runner.Params) []string {
	flat := func(x runner.Params) map[string]string {
		out := map[string]string{}
		for _, st := range []struct {
			name string
			v    any
		}{{"fetch", x.Fetch}, {"normalize", x.Normalize}, {"fingerprint", x.Fingerprint}, {"cluster", x.Cluster}, {"summarize", x.Summarize}} {
			b, _ := json.Marshal(st.v)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(b, &m)
			for k, v := range m {
				out[st.name+"."+k] = string(v)
			}
		}
		return out
	}
	d, q := flat(def), flat(p)
	var out []string
	for k, v := range q {
		if d[k] != v {
			out = append(out, k+" = "+v)
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		out = append(out, "(defaults)")
	}
	return out
}
