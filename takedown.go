// Package takedown reads the results of a takedown workspace from Go: the
// current run of a dataset's table, checked against its run's manifest,
// decoded into the row types the stages write.
//
//	ws, err := takedown.Open("takedown-work")
//	t, err := ws.Table("demo", "clusters")          // the current cluster run's clusters.parquet
//	rows, err := takedown.ReadAll[takedown.ClusterMember](t)
//
// Everything else (stages, the workspace layout, Parquet IO) lives in
// internal packages; this package is the stable surface for notebooks and
// programs. The command line does the same work: `takedown show`,
// `takedown export`.
package takedown

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
)

// The row types of the tables, one per Parquet file (docs/tables.md).
type (
	Account             = schema.Account
	Post                = schema.Post
	Reject              = schema.Reject
	Fingerprint         = schema.Fingerprint
	Edge                = schema.Edge
	Evidence            = schema.Evidence
	ClusterMember       = schema.ClusterMember
	ReleaseSummary      = schema.ReleaseSummary
	ClusterSummary      = schema.ClusterSummary
	DailyTimeline       = schema.DailyTimeline
	TopEntity           = schema.TopEntity
	AccountCreation     = schema.AccountCreation
	CreationBurst       = schema.CreationBurst
	PublishedComparison = schema.PublishedComparison
)

// Workspace is an opened takedown workspace (the folder `takedown -w`
// names; takedown-work by default).
type Workspace struct {
	r *runner.Runner
}

// Open opens the workspace at dir. It does not take the workspace lock:
// reading while a stage runs is safe, since runs are published atomically.
func Open(dir string) (*Workspace, error) {
	ws, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	return &Workspace{r: &runner.Runner{WS: ws, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}, nil
}

// Root is the workspace's folder.
func (w *Workspace) Root() string { return w.r.WS.Root }

// Run is a published stage run.
type Run struct {
	Dataset string // dataset name
	Stage   string // stage name
	ID      string // run id
	Dir     string // the run's folder: its tables, report.html, manifest.json
}

// Current returns the run of a dataset's stage that takedown.lock names as
// current, after checking that its manifest describes it.
func (w *Workspace) Current(dataset, stage string) (Run, error) {
	lock, err := w.r.WS.ReadCurrent()
	if err != nil {
		return Run{}, err
	}
	e, ok := lock.Entry(dataset, stage)
	if !ok {
		return Run{}, fmt.Errorf("stage %s of %s has not run in %s (run `takedown run %s` first): %w",
			stage, dataset, w.r.WS.Root, dataset, runner.ErrUpstream)
	}
	run, err := w.r.WS.ReadRun(dataset, stage, e.RunID)
	if err != nil {
		return Run{}, err
	}
	return Run{Dataset: dataset, Stage: stage, ID: run.ID, Dir: run.Dir}, nil
}

// Table is one Parquet table of one run.
type Table struct {
	Dataset string // dataset name
	Stage   string // stage that wrote it
	RunID   string // run id of that stage run
	Name    string // table name, e.g. "clusters"
	Path    string // the Parquet file
}

// Table finds a table of the current run (the one takedown.lock names) of
// the stage that writes it, and checks the file's size and sha256 against
// that run's manifest and the lock, and its layout version against the row
// types of this package. A file that does not match gives an error naming
// the command that repairs it.
func (w *Workspace) Table(dataset, name string) (Table, error) {
	return w.table(dataset, name, "")
}

// RunTable is Table for the run runID (current or not), for reading the
// exact run a paper cites.
func (w *Workspace) RunTable(dataset, name, runID string) (Table, error) {
	return w.table(dataset, name, runID)
}

func (w *Workspace) table(dataset, name, runID string) (Table, error) {
	ref, err := w.r.TypedTable(dataset, name, runID)
	if err != nil {
		return Table{}, err
	}
	return Table{Dataset: ref.Dataset, Stage: ref.Stage, RunID: ref.RunID, Name: ref.Table, Path: ref.Path}, nil
}

// IDColumns returns the identifier columns of a table by name (the fields
// of its row type tagged `takedown:"id"`), in column order. They are
// strings, null where a row has none; `takedown export` keeps them text.
func IDColumns(table string) []string { return schema.IDColumns(table) }

// Each streams the rows of t to fn in batches. The batch slice is reused
// between calls: fn must copy what it keeps.
func Each[T any](t Table, fn func(batch []T) error) error {
	return pqio.Each(t.Path, fn)
}

// ReadAll reads every row of t.
func ReadAll[T any](t Table) ([]T, error) {
	return pqio.ReadAll[T](t.Path)
}
