package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/study"
)

// exportOptions are the flags of `takedown export`.
type exportOptions struct {
	dataset  string
	runID    string
	table    string
	format   string
	out      string
	noVerify bool
}

func exportCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a table as CSV, JSON lines or Arrow IPC, for tools that do not read Parquet",
		ArgsUsage: "TABLE",
		Description: "TABLE is a table name (posts, clusters, release_summary, ...). Without --run it is read\n" +
			"from the run takedown.lock names as current for --dataset; with --run, from that run.\n" +
			"CSV and JSON lines write timestamps as RFC 3339 UTC strings, lists as JSON arrays and bytes\n" +
			"as base64; Arrow keeps the Parquet types (timestamp[ms, UTC], list<utf8>) and needs --out.\n" +
			"Ids (post_id, account_id, post_a, ...) are text: CSV quotes them, JSON lines writes strings;\n" +
			"an absent id is an empty unquoted CSV field and null in JSON lines.\n" +
			"See docs/export.md for one-liners in pandas, polars, DuckDB and R that keep ids exact.\n" +
			"The table file's size and sha256 are checked against its run's manifest first: a file that\n" +
			"differs is refused with exit code 4, naming its stage and `takedown run DATASET`, which\n" +
			"repairs it (--no-verify exports it anyway).\n" +
			"With a study file (and no --dataset or --run), --out is a folder and every dataset of the\n" +
			"study is written to OUT/<table>/dataset=<name>/part-0.<format>, Hive-partitioned as current/.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset whose table to export"},
			&cli.StringFlag{Name: "run", Usage: "export from this run id instead of the current one"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: pqio.FormatCSV, Usage: "csv, jsonl or arrow"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output file (default: stdout; required for arrow)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "export the table even when its bytes differ from its run's manifest"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("export takes one TABLE, got %d arguments", c.NArg())
			}
			o := exportOptions{
				dataset: c.String("dataset"), runID: c.String("run"), table: c.Args().First(),
				format: strings.ToLower(c.String("format")), out: c.String("out"), noVerify: c.Bool("no-verify"),
			}
			if !c.IsSet("dataset") && !c.IsSet("run") {
				s, err := g.loadStudy()
				if err != nil {
					return err
				}
				if s != nil {
					return studyExport(g, s, o)
				}
			}
			return runExport(g, o)
		},
	}
}

func runExport(g *globals, o exportOptions) error {
	if !slices.Contains(pqio.Formats, o.format) {
		return usagef("--format must be one of %s, got %q", strings.Join(pqio.Formats, ", "), o.format)
	}
	if o.format == pqio.FormatArrow && o.out == "" {
		return usagef("--format arrow writes an Arrow IPC file: give --out FILE")
	}
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	ref, err := r.Table(o.dataset, o.table, o.runID, !o.noVerify)
	if err != nil {
		return err
	}
	var w io.Writer = g.stdout
	var f *os.File
	var tmp string
	if o.out != "" {
		// Write next to the target and rename, so a failed export leaves
		// no half-written file behind.
		f, err = os.CreateTemp(filepath.Dir(o.out), "."+filepath.Base(o.out)+".tmp*")
		if err != nil {
			return fmt.Errorf("export %s: %w: %w", o.out, errInput, err)
		}
		tmp = f.Name()
		defer os.Remove(tmp)
		w = f
	}
	n, err := pqio.Export(ref.Path, o.format, w, schema.IDColumns(o.table))
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp, 0o644)
		}
		if err == nil {
			err = os.Rename(tmp, o.out)
		}
	}
	if err != nil {
		return fmt.Errorf("export %s: %w", ref.Path, err)
	}
	g.log.Info("exported", "event", "export", "dataset", ref.Dataset, "stage", ref.Stage, "run_id", ref.RunID,
		"table", ref.Table, "format", o.format, "rows", n, "out", o.out)
	if o.out != "" {
		g.out("exported %d rows of %s (%s run %s) to %s\n", n, ref.Table, ref.Stage, ref.RunID, o.out)
	}
	return nil
}

// studyExport writes a table of every dataset of a study into a folder,
// one file per dataset, laid out as the workspace's current/ folder.
func studyExport(g *globals, s *study.Study, o exportOptions) error {
	if o.out == "" {
		return usagef("in a study, export writes one file per dataset: give --out FOLDER (or --dataset D for one dataset to stdout)")
	}
	ext := map[string]string{pqio.FormatCSV: "csv", pqio.FormatJSONL: "jsonl", pqio.FormatArrow: "arrow"}[o.format]
	if ext == "" {
		return usagef("--format must be one of %s, got %q", strings.Join(pqio.Formats, ", "), o.format)
	}
	folder := o.out
	for _, d := range s.Datasets {
		do := o
		do.dataset = d.Name
		table := strings.TrimSuffix(o.table, ".parquet")
		do.out = filepath.Join(folder, table, "dataset="+url.PathEscape(d.Name), "part-0."+ext)
		if err := os.MkdirAll(filepath.Dir(do.out), 0o755); err != nil {
			return fmt.Errorf("export %s: %w", do.out, err)
		}
		if err := runExport(g, do); err != nil {
			return err
		}
	}
	return nil
}
