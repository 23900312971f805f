package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/fetch"
)

// Linked is a run rebuild-lock made current.
type Linked struct {
	store.RunRef
	FinishedAt string `json:"finished_at"`
	// Candidates is how many intact runs of the stage there were.
	Candidates int `json:"candidates"`
}

// Skipped is a run directory rebuild-lock did not link, and why.
type Skipped struct {
	store.RunRef
	Reason string `json:"reason"`
}

// Relinked is what RebuildLock did.
type Relinked struct {
	Linked  []Linked  `json:"linked"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Previous says what became of the old takedown.lock: "missing",
	// "damaged: ..." or "replaced".
	Previous string `json:"previous"`
}

// RebuildLock writes a new takedown.lock from the published runs alone: for
// each dataset and stage it makes current the intact run (its manifest
// parses and describes its directory, its outputs match the manifest, and a
// fetch's sources are in the store) that finished last by its manifest's
// timings.finished_at. Pins of a readable old lock are kept; a fetch run's
// sources are pinned anew for files the registry gives no digest for. A
// lock written by a newer program (ErrLockVersion) is left alone.
func (r *Runner) RebuildLock() (*Relinked, error) {
	unlock, err := r.WS.Exclusive(r.Wait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := &Relinked{Previous: "missing"}
	fresh := &store.Lock{Version: store.LockVersion, Datasets: map[string]map[string]store.LockEntry{}}
	// recorded is the old lock when it is readable: a run it names with
	// another manifest digest has an edited manifest and is not linked.
	recorded := fresh
	if r.WS.HasLockFile() {
		old, err := r.WS.ReadCurrent()
		switch {
		case err == nil:
			out.Previous = "replaced"
			fresh.Pins, recorded = old.Pins, old
		case errors.Is(err, store.ErrLockDamaged):
			out.Previous = "damaged: " + err.Error()
		default:
			return nil, err
		}
	}
	type pick struct {
		run  *store.Run
		at   time.Time
		seen int
	}
	best := map[store.RunRef]*pick{} // keyed by dataset and stage (ID empty)
	for _, ref := range r.WS.PublishedRuns() {
		run, err := r.WS.ReadRun(ref.Dataset, ref.Stage, ref.ID)
		if err != nil {
			out.Skipped = append(out.Skipped, Skipped{ref, err.Error()})
			continue
		}
		if _, ok := defOf(ref.Stage); !ok {
			out.Skipped = append(out.Skipped, Skipped{ref, "not a stage of this program"})
			continue
		}
		if problems := r.runProblems(recorded, run); len(problems) > 0 {
			out.Skipped = append(out.Skipped, Skipped{ref, fmt.Sprintf("%s: %s", problems[0].File, problems[0].Reason)})
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, run.Manifest.Timings.FinishedAt)
		if err != nil {
			out.Skipped = append(out.Skipped, Skipped{ref, "manifest has no valid timings.finished_at"})
			continue
		}
		key := store.RunRef{Dataset: ref.Dataset, Stage: ref.Stage}
		p := best[key]
		if p == nil {
			p = &pick{}
			best[key] = p
		}
		p.seen++
		if p.run == nil || at.After(p.at) || at.Equal(p.at) && run.ID > p.run.ID {
			p.run, p.at = run, at
		}
	}
	for key, p := range best {
		if err := fresh.Set(p.run); err != nil {
			return nil, err
		}
		if key.Stage == fetch.Name {
			if desc, err := datasets.Lookup(r.WS.Root, key.Dataset); err == nil {
				r.recordPins(fresh, desc, p.run.Dir, r.Log)
			}
		}
		out.Linked = append(out.Linked, Linked{RunRef: store.RunRef{Dataset: key.Dataset, Stage: key.Stage, ID: p.run.ID},
			FinishedAt: p.run.Manifest.Timings.FinishedAt, Candidates: p.seen})
	}
	stageIndex := map[string]int{}
	for i, s := range Stages {
		stageIndex[s] = i
	}
	sort.Slice(out.Linked, func(i, j int) bool {
		a, b := out.Linked[i], out.Linked[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		return stageIndex[a.Stage] < stageIndex[b.Stage]
	})
	if err := r.WS.WriteCurrent(fresh); err != nil {
		return nil, err
	}
	return out, nil
}

// Notes are facts about the workspace that status reports besides the
// stages: leftovers of killed runs, and published runs no lock entry names.
type Notes struct {
	// Leftovers are staging dirs and partial downloads in tmp/. They are
	// counted only when no process holds the workspace (Busy is false).
	Leftovers store.Leftovers `json:"leftovers"`
	Busy      bool            `json:"busy"`
	// Unlinked is the number of published runs of the dataset when
	// takedown.lock names none of its runs (a lost lock): rebuild-lock
	// re-links them.
	Unlinked int `json:"unlinked_runs"`
}

// Notes gathers the workspace notes for a dataset's status.
func (r *Runner) Notes(dataset string) (Notes, error) {
	var n Notes
	if r.WS.Remote() {
		held, err := r.WS.Held()
		if err != nil {
			return n, err
		}
		if n.Busy = held; !held {
			n.Leftovers = r.WS.FindLeftovers()
		}
	} else if unlock, err := r.WS.Exclusive(0); err == nil {
		n.Leftovers = r.WS.FindLeftovers()
		unlock()
	} else if errors.Is(err, store.ErrBusy) {
		n.Busy = true
	} else {
		return n, err
	}
	lock, err := r.WS.ReadCurrent()
	if err != nil {
		return n, err
	}
	if len(lock.Datasets[dataset]) == 0 {
		for _, ref := range r.WS.PublishedRuns() {
			if ref.Dataset == dataset {
				n.Unlinked++
			}
		}
	}
	return n, nil
}

// SourceByRole returns the path in the source store and the file name of
// the dataset's fetched source with the given role (e.g. truth), from its
// current fetch run.
func (r *Runner) SourceByRole(dataset, role string) (path, name string, err error) {
	lock, err := r.WS.ReadCurrent()
	if err != nil {
		return "", "", err
	}
	e, ok := lock.Entry(dataset, fetch.Name)
	if !ok {
		return "", "", fmt.Errorf("%w: dataset %s has no fetch run (run: takedown fetch %s)", ErrUpstream, dataset, dataset)
	}
	list, err := store.ReadSourceList(filepath.Join(r.WS.RunDir(dataset, fetch.Name, e.RunID), store.SourceListName))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("%w: fetch run %s of %s: %w (repair it with `takedown run %s`)", store.ErrDamaged, e.RunID, dataset, err, dataset)
		}
		return "", "", err
	}
	for _, f := range list {
		if f.Role == role {
			p, err := r.WS.Local(r.WS.SourcePath(f.SHA256))
			return p, f.Name, err
		}
	}
	return "", "", fmt.Errorf("%w: dataset %s has no source with role %s", ErrUsage, dataset, role)
}
