package runner

import (
	"fmt"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
)

// TableVersionError says that a run wrote a Parquet table in a layout this
// program does not read: older than the one in package schema, newer, not
// recorded at all (Got 0), or a table the schema does not know (Want 0). Like
// Prometheus tsdb's readMetaFile, which rejects a meta.json of an unknown
// version, the runner refuses such a table rather than misread it. It wraps
// ErrUpstream: the remedy is to run the upstream stage again.
type TableVersionError struct {
	Dataset, Stage, RunID, File string
	Got, Want                   int
}

func (e *TableVersionError) Error() string {
	rerun := fmt.Sprintf("rerun it with `takedown run --from %s %s`", e.Stage, e.Dataset)
	switch {
	case e.Want == 0:
		return fmt.Sprintf("%s run %s wrote %s, a table this program does not know: %s", e.Stage, e.RunID, e.File, rerun)
	case e.Got == 0:
		return fmt.Sprintf("%s run %s wrote %s without a table layout version; this program reads layout %d: %s",
			e.Stage, e.RunID, e.File, e.Want, rerun)
	case e.Got > e.Want:
		return fmt.Sprintf("%s run %s wrote %s with table layout %d, newer than layout %d this program reads: use the takedown that wrote it, or %s",
			e.Stage, e.RunID, e.File, e.Got, e.Want, rerun)
	}
	return fmt.Sprintf("%s run %s wrote %s with table layout %d; this program reads layout %d: %s",
		e.Stage, e.RunID, e.File, e.Got, e.Want, rerun)
}

func (e *TableVersionError) Unwrap() error { return ErrUpstream }

// checkTableVersion compares the layout version a run's manifest records
// for one output table with the one this program reads (versions, the
// layout version of each table by name: schema.Versions). It returns nil
// for a file that is not a Parquet table.
func checkTableVersion(dataset, stage, runID string, o store.Output, versions map[string]int) error {
	table, ok := strings.CutSuffix(o.File, ".parquet")
	if !ok {
		return nil
	}
	if want := versions[table]; o.TableVersion != want || want == 0 {
		return &TableVersionError{Dataset: dataset, Stage: stage, RunID: runID, File: o.File, Got: o.TableVersion, Want: want}
	}
	return nil
}

// checkUpstreamTables checks, for every planned input that is an upstream
// run's table, the layout version that run's manifest records for it. plan
// calls it, so that a stage never reads a table in a layout it does not know
// and status reports the stage stale with the reason.
func (r *Runner) checkUpstreamTables(dataset string, refs []store.InputRef) error {
	manifests := map[string]*store.Manifest{}
	for _, ref := range refs {
		stage, file, ok := strings.Cut(ref.Name, "/")
		if !ok || ref.RunID == "" || !strings.HasSuffix(file, ".parquet") {
			continue
		}
		m, ok := manifests[stage]
		if !ok {
			var err error
			if m, err = store.ReadManifest(r.WS.RunDir(dataset, stage, ref.RunID)); err != nil {
				return fmt.Errorf("%w: %s run %s: %v", ErrUpstream, stage, ref.RunID, err)
			}
			manifests[stage] = m
		}
		out, found := store.Output{File: file}, false
		for _, o := range m.Outputs {
			if o.File == file {
				out, found = o, true
			}
		}
		if !found {
			return fmt.Errorf("%w: %s run %s has no %s in its manifest", ErrUpstream, stage, ref.RunID, file)
		}
		if err := checkTableVersion(dataset, stage, ref.RunID, out, schema.Versions); err != nil {
			return err
		}
	}
	return nil
}

// tableVersionReasons lists, for status, every table of a run written in a
// layout this program does not read.
func tableVersionReasons(dataset, stage, runID string, outputs []store.Output) []string {
	var out []string
	for _, o := range outputs {
		if err := checkTableVersion(dataset, stage, runID, o, schema.Versions); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}
