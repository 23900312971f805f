package main

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/runner"
)

// showOptions are the flags of `takedown show`.
type showOptions struct {
	dataset string
	runID   string
	table   string
	rows    int
	width   int
}

func showCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print the first rows of a table in the terminal",
		ArgsUsage: "TABLE",
		Description: "TABLE is read from the current run of --dataset (or from --run). Cells longer than\n" +
			"--width characters are cut with an ellipsis; null is printed as null.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset whose table to show"},
			&cli.StringFlag{Name: "run", Usage: "show the table of this run id instead of the current one"},
			&cli.IntFlag{Name: "n", Value: 10, Usage: "rows to print"},
			&cli.IntFlag{Name: "width", Value: 40, Usage: "widest cell, in characters"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("show takes one TABLE, got %d arguments", c.NArg())
			}
			return runShow(g, showOptions{
				dataset: c.String("dataset"), runID: c.String("run"), table: c.Args().First(),
				rows: c.Int("n"), width: c.Int("width"),
			})
		},
	}
}

func runShow(g *globals, o showOptions) error {
	if o.rows < 0 {
		return usagef("-n must be at least 0, got %d", o.rows)
	}
	if o.width < 4 {
		return usagef("--width must be at least 4, got %d", o.width)
	}
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	ref, err := findTable(r, o.dataset, o.table, o.runID)
	if err != nil {
		return err
	}
	names, rows, total, err := pqio.Head(ref.Path, int64(o.rows))
	if err != nil {
		return fmt.Errorf("show %s: %w", ref.Path, err)
	}
	g.out("%s  (%s run %s, %d of %d rows)\n", ref.Table, ref.Stage, ref.RunID, len(rows), total)
	g.out("%s", formatGrid(names, rows, o.width))
	return nil
}

// findTable locates the table that show or export reads. It checks first what runner.Table
// cannot tell well from the CLI's side: an unknown dataset (with the nearest
// names), a run id that is no run of the dataset, and a dataset that has no
// current run, each with a command that exists to go on with. An unknown
// table of a run that exists lists the tables there are (runner.Table).
func findTable(r *runner.Runner, dataset, table, runID string) (runner.TableRef, error) {
	if _, err := datasets.Lookup(r.WS.Root, dataset); err != nil {
		return runner.TableRef{}, err
	}
	if runID != "" {
		for _, stage := range runner.Stages {
			if _, err := os.Stat(r.WS.RunDir(dataset, stage, runID)); err == nil {
				return r.Table(dataset, table, runID)
			}
		}
		return runner.TableRef{}, fmt.Errorf("no run %s of dataset %s in %s (`takedown status %s` shows the current run ids): %w",
			runID, dataset, r.WS.Root, dataset, runner.ErrNoTable)
	}
	lock, err := r.WS.ReadLock()
	if err != nil {
		return runner.TableRef{}, err
	}
	if len(lock.Datasets[dataset]) == 0 {
		return runner.TableRef{}, fmt.Errorf("dataset %s has no current runs in %s (run `takedown run %s` first): %w",
			dataset, r.WS.Root, dataset, runner.ErrUpstream)
	}
	return r.Table(dataset, table, "")
}

// formatGrid aligns a header and rows in columns separated by two spaces.
func formatGrid(names []string, rows [][]string, width int) string {
	cut := func(s string) string {
		s = strings.Join(strings.Fields(s), " ")
		if utf8.RuneCountInString(s) > width {
			return string([]rune(s)[:width-1]) + "…"
		}
		return s
	}
	widths := make([]int, len(names))
	cells := make([][]string, 0, len(rows)+1)
	for _, rec := range append([][]string{names}, rows...) {
		line := make([]string, len(rec))
		for i, v := range rec {
			line[i] = cut(v)
			widths[i] = max(widths[i], utf8.RuneCountInString(line[i]))
		}
		cells = append(cells, line)
	}
	var b strings.Builder
	for _, line := range cells {
		for i, v := range line {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(v)
			if i < len(line)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
