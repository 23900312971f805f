package runner

import (
	"github.com/takedown-research/takedown/internal/errkind"

	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoTable means no run of the dataset has the requested table.
var ErrNoTable = errkind.New(errkind.Usage, "no such table")

// TableRef locates one table of one run.
type TableRef struct {
	Dataset string
	Stage   string
	RunID   string
	Table   string
	Path    string
}

// Table finds the Parquet file of a table: in the run runID when it is not
// empty (any stage of the dataset), else in the stage run takedown.lock
// names as current. An unknown table gives an error wrapping ErrNoTable that
// lists the tables there are; a table whose stage has not run wraps
// ErrUpstream.
func (r *Runner) Table(dataset, table, runID string) (TableRef, error) {
	file := strings.TrimSuffix(table, ".parquet") + ".parquet"
	table = strings.TrimSuffix(file, ".parquet")
	if runID != "" {
		var known []string
		for _, stage := range Stages {
			dir := r.WS.RunDir(dataset, stage, runID)
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			p := filepath.Join(dir, file)
			if _, err := os.Stat(p); err == nil {
				return TableRef{dataset, stage, runID, table, p}, nil
			}
			known = append(known, parquetFiles(dir)...)
			return TableRef{}, fmt.Errorf("run %s (%s %s) has no table %q; it has: %s: %w",
				runID, dataset, stage, table, listOrNone(known), ErrNoTable)
		}
		return TableRef{}, fmt.Errorf("no run %s of dataset %s in %s (see takedown status --dataset %s): %w",
			runID, dataset, r.WS.Root, dataset, ErrNoTable)
	}
	lock, err := r.WS.ReadLock()
	if err != nil {
		return TableRef{}, err
	}
	var known []string
	for _, stage := range Stages {
		e, ok := lock.Entry(dataset, stage)
		if !ok {
			continue
		}
		if _, ok := e.Outputs[file]; ok {
			return TableRef{dataset, stage, e.RunID, table, filepath.Join(r.WS.RunDir(dataset, stage, e.RunID), file)}, nil
		}
		for f := range e.Outputs {
			if t, ok := strings.CutSuffix(f, ".parquet"); ok {
				known = append(known, t)
			}
		}
	}
	if len(known) == 0 {
		return TableRef{}, fmt.Errorf("dataset %s has no current runs in %s (run `takedown run --dataset %s` first): %w",
			dataset, r.WS.Root, dataset, ErrUpstream)
	}
	slices.Sort(known)
	return TableRef{}, fmt.Errorf("dataset %s has no current table %q; tables: %s: %w",
		dataset, table, listOrNone(known), ErrNoTable)
}

func parquetFiles(dir string) []string {
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if t, ok := strings.CutSuffix(e.Name(), ".parquet"); ok && e.Type()&fs.ModeType == 0 {
			out = append(out, t)
		}
	}
	return out
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
