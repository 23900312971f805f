package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LockVersion is the version of the takedown.lock format.
const LockVersion = 1

// Lock is the content of the lock file takedown.lock, the record of what is
// current: for each dataset and stage, the run that is current, the digests
// of its outputs and of its manifest. (It is not a mutex: the process lock
// is Workspace.Exclusive.) ReadCurrent reads it, WriteCurrent writes it.
type Lock struct {
	Version  int                             `json:"version"`
	Datasets map[string]map[string]LockEntry `json:"datasets"`
	// Pins are trust-on-first-use digests: dataset -> file -> sha256 of
	// the bytes its first fetch landed, for files the registry gives no
	// digest for. Every later fetch of the file must find the same bytes.
	Pins map[string]map[string]string `json:"pins,omitempty"`
}

// LockEntry is the current run of one stage of one dataset.
type LockEntry struct {
	RunID   string            `json:"run_id"`
	Outputs map[string]string `json:"outputs"` // file -> sha256
	// ManifestSHA256 is the sha256 of the run's manifest.json bytes, so an
	// edited manifest (its stats, say) is seen. Locks written before it
	// existed lack it: the manifest is then unchecked until the next run
	// of the stage records it.
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
}

// ReadCurrent reads takedown.lock, the record of current runs; a missing
// file is an empty record. A file that does not parse wraps ErrLockDamaged
// and says to run `takedown rebuild-lock`.
func (w *Workspace) ReadCurrent() (*Lock, error) {
	b, err := os.ReadFile(w.LockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Version: LockVersion, Datasets: map[string]map[string]LockEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", w.LockPath(), err)
	}
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%w: %s: %v: run `takedown rebuild-lock`, which writes it anew from the manifests of the published runs (they are all kept)", ErrLockDamaged, w.LockPath(), err)
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("read %s: %w %d", w.LockPath(), ErrLockVersion, l.Version)
	}
	if l.Datasets == nil {
		l.Datasets = map[string]map[string]LockEntry{}
	}
	return &l, nil
}

// Entry returns the current run of a stage.
func (l *Lock) Entry(dataset, stage string) (LockEntry, bool) {
	e, ok := l.Datasets[dataset][stage]
	return e, ok
}

// Set records run as the current run of its stage. The run id recorded is
// the run directory's name; a run whose manifest names another run id,
// dataset or stage is refused (ErrDamaged), so the lock never names a run
// id no directory holds.
func (l *Lock) Set(run *Run) error {
	m := run.Manifest
	if m == nil || filepath.Base(run.Dir) != run.ID {
		return fmt.Errorf("%w: internal: run %s is not read from its directory %s", ErrDamaged, run.ID, run.Dir)
	}
	if why := m.describes(run.Dataset, run.Stage, run.ID); why != "" {
		return fmt.Errorf("%w: %s: %s", ErrDamaged, run.Dir, why)
	}
	if l.Datasets[run.Dataset] == nil {
		l.Datasets[run.Dataset] = map[string]LockEntry{}
	}
	outs := make(map[string]string, len(m.Outputs))
	for _, o := range m.Outputs {
		outs[o.File] = o.SHA256
	}
	l.Datasets[run.Dataset][run.Stage] = LockEntry{RunID: run.ID, Outputs: outs, ManifestSHA256: run.ManifestSHA256}
	return nil
}

// Pin returns the pinned sha256 of a dataset's file.
func (l *Lock) Pin(dataset, file string) (string, bool) {
	d, ok := l.Pins[dataset][file]
	return d, ok
}

// SetPin pins a dataset's file to a sha256.
func (l *Lock) SetPin(dataset, file, digest string) {
	if l.Pins == nil {
		l.Pins = map[string]map[string]string{}
	}
	if l.Pins[dataset] == nil {
		l.Pins[dataset] = map[string]string{}
	}
	l.Pins[dataset][file] = digest
}

// DatasetNames lists the datasets in the lock, sorted.
func (l *Lock) DatasetNames() []string {
	var out []string
	for d := range l.Datasets {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// WriteCurrent replaces takedown.lock atomically. Callers hold Exclusive.
func (w *Workspace) WriteCurrent(l *Lock) error {
	l.Version = LockVersion
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(w.LockPath(), append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", w.LockPath(), err)
	}
	return nil
}
