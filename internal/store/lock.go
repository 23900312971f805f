package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// LockVersion is the version of the takedown.lock format.
const LockVersion = 1

// Lock is the content of takedown.lock: for each dataset and stage, the run
// that is current and the digests of its outputs.
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
}

// ReadLock reads takedown.lock; a missing file is an empty lock.
func (w *Workspace) ReadLock() (*Lock, error) {
	b, err := os.ReadFile(w.LockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Version: LockVersion, Datasets: map[string]map[string]LockEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", w.LockPath(), err)
	}
	var l Lock
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("read %s: %w (delete it to start over; runs are kept)", w.LockPath(), err)
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

// Set records m as the current run of its stage.
func (l *Lock) Set(m *Manifest) {
	if l.Datasets[m.Dataset] == nil {
		l.Datasets[m.Dataset] = map[string]LockEntry{}
	}
	outs := make(map[string]string, len(m.Outputs))
	for _, o := range m.Outputs {
		outs[o.File] = o.SHA256
	}
	l.Datasets[m.Dataset][m.Stage] = LockEntry{RunID: m.RunID, Outputs: outs}
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

// WriteLock replaces takedown.lock atomically. Callers hold Mutex.
func (w *Workspace) WriteLock(l *Lock) error {
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
