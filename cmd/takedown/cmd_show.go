package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/pqio"
)

// showOptions are the flags of `takedown show`.
type showOptions struct {
	dataset  string
	runID    string
	table    string
	rows     int
	width    int
	noVerify bool
}

func showCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print the first rows of a table in the terminal",
		ArgsUsage: "TABLE",
		Description: "TABLE is read from the current run of --dataset (or from --run). Cells longer than\n" +
			"--width characters are cut with an ellipsis; null is printed as null.\n" +
			"The table file's size and sha256 are checked against its run's manifest first: a file that\n" +
			"differs is refused with exit code 4, naming its stage and `takedown run DATASET`, which\n" +
			"repairs it (--no-verify reads it anyway).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset whose table to show"},
			&cli.StringFlag{Name: "run", Usage: "show the table of this run id instead of the current one"},
			&cli.IntFlag{Name: "n", Value: 10, Usage: "rows to print"},
			&cli.IntFlag{Name: "width", Value: 40, Usage: "widest cell, in characters"},
			&cli.BoolFlag{Name: "no-verify", Usage: "read the table even when its bytes differ from its run's manifest"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("show takes one TABLE, got %d arguments", c.NArg())
			}
			return runShow(g, showOptions{
				dataset: c.String("dataset"), runID: c.String("run"), table: c.Args().First(),
				rows: c.Int("n"), width: c.Int("width"), noVerify: c.Bool("no-verify"),
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
	ref, err := r.Table(o.dataset, o.table, o.runID, !o.noVerify)
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
