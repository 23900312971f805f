package runner

import (
	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"

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
// ErrUpstream. With verify, the file's size and sha256 are checked against
// the run's manifest (and takedown.lock, for a current run) first: a file
// that differs, or a run whose manifest does not describe it, gives an
// error wrapping store.ErrDamaged (exit 4) that names the stage and the
// command that repairs it.
func (r *Runner) Table(dataset, table, runID string, verify bool) (TableRef, error) {
	ref, err := r.findTable(dataset, table, runID)
	if err != nil || !verify {
		return ref, err
	}
	return ref, r.checkTable(ref)
}

// checkTable compares a table file with its run's manifest and lock entry.
func (r *Runner) checkTable(ref TableRef) error {
	lock, err := r.WS.ReadCurrent()
	if err != nil {
		return err
	}
	e, ok := lock.Entry(ref.Dataset, ref.Stage)
	current := ok && e.RunID == ref.RunID
	repair := fmt.Sprintf("repair it with `takedown run %s`", ref.Dataset)
	if !current {
		repair = fmt.Sprintf("it is not the current %s run: `takedown run %s` with the parameters of its manifest rebuilds it", ref.Stage, ref.Dataset)
	}
	damaged := func(why string) error {
		return fmt.Errorf("%w: table %s of %s (%s run %s): %s; %s (show and export read it anyway with --no-verify)",
			store.ErrDamaged, ref.Table, ref.Dataset, ref.Stage, ref.RunID, why, repair)
	}
	run, err := r.WS.ReadRun(ref.Dataset, ref.Stage, ref.RunID)
	if err != nil {
		return damaged(err.Error())
	}
	file := filepath.Base(ref.Path)
	o, ok := run.Manifest.Output(file)
	if !ok {
		return damaged("the manifest lists no " + file)
	}
	if current && e.Outputs[file] != o.SHA256 {
		return damaged(fmt.Sprintf("takedown.lock records another digest for %s", file))
	}
	if p, ok := manifestEdited(lock, run); ok {
		return damaged(p.Reason)
	}
	size, err := store.Stat(ref.Path)
	if err != nil {
		return damaged(file + " missing")
	}
	if size != o.Bytes {
		return damaged(fmt.Sprintf("%s has %d bytes, the manifest says %d", file, size, o.Bytes))
	}
	d, _, err := store.FileDigest(ref.Path)
	if err != nil {
		return fmt.Errorf("read %s: %w", ref.Path, err)
	}
	if d != o.SHA256 {
		return damaged(fmt.Sprintf("%s has sha256 %.12s, the manifest says %.12s", file, d, o.SHA256))
	}
	return nil
}

func (r *Runner) findTable(dataset, table, runID string) (TableRef, error) {
	return r.findTableIn(dataset, table, runID, "")
}

// StablePath is the stable path of a current table (store's
// current/<table>/dataset=<name>/part-0.parquet, or a variant's), checked
// to be one of the dataset's current tables.
func (r *Runner) StablePath(dataset, table, variant string) (TableRef, string, error) {
	ref, err := r.findTableIn(dataset, table, "", variant)
	if err != nil {
		return ref, "", err
	}
	return ref, r.WS.CurrentTablePath(variant, ref.Dataset, ref.Table), nil
}

func (r *Runner) findTableIn(dataset, table, runID, variant string) (TableRef, error) {
	if _, err := datasets.Lookup(r.WS.Root, dataset); err != nil {
		return TableRef{}, err
	}
	file := strings.TrimSuffix(table, ".parquet") + ".parquet"
	table = strings.TrimSuffix(file, ".parquet")
	if runID != "" {
		var known []string
		for _, stage := range Stages {
			dir := r.WS.RunDir(dataset, stage, runID)
			if !r.WS.HasRun(dataset, stage, runID) {
				continue
			}
			p := filepath.Join(dir, file)
			if _, err := store.Stat(p); err == nil {
				return TableRef{dataset, stage, runID, table, p}, nil
			}
			known = append(known, parquetFiles(dir)...)
			return TableRef{}, fmt.Errorf("run %s (%s %s) has no table %q; it has: %s: %w",
				runID, dataset, stage, table, listOrNone(known), ErrNoTable)
		}
		return TableRef{}, fmt.Errorf("no run %s of dataset %s in %s (`takedown status %s` shows the current run ids): %w",
			runID, dataset, r.WS.Root, dataset, ErrNoTable)
	}
	root, err := r.WS.ReadCurrent()
	if err != nil {
		return TableRef{}, err
	}
	if variant != "" && !slices.Contains(root.VariantNames(), variant) {
		return TableRef{}, fmt.Errorf("no runs of variant %s in %s (variants: %s): %w",
			variant, r.WS.Root, listOrNone(root.VariantNames()), ErrNoTable)
	}
	lock := root.Variant(variant)
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
		return TableRef{}, fmt.Errorf("dataset %s has no current runs in %s (run `takedown run %s` first): %w",
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

// TypedTable is Table with verify that also checks the layout version the
// run's manifest records for the table against package schema, for readers
// that decode its rows into schema types: a table in another layout gives a
// *TableVersionError rather than rows read into the wrong fields.
func (r *Runner) TypedTable(dataset, table, runID string) (TableRef, error) {
	ref, err := r.Table(dataset, table, runID, true)
	if err != nil {
		return ref, err
	}
	run, err := r.WS.ReadRun(ref.Dataset, ref.Stage, ref.RunID)
	if err != nil {
		return ref, err
	}
	o, _ := run.Manifest.Output(filepath.Base(ref.Path))
	return ref, checkTableVersion(ref.Dataset, ref.Stage, ref.RunID, o, schema.Versions)
}
