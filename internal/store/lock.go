package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
	// Variants are the current runs of a study's variants: variant ->
	// dataset -> stage, beside the study's own runs in Datasets.
	Variants map[string]map[string]map[string]LockEntry `json:"variants,omitempty"`

	// root is the whole lock when this one is the view of a variant.
	root *Lock
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
	// Study is the name and file sha256 of the study whose run made this
	// run current ("name@sha256-prefix"); empty for runs made current by a
	// command without a study file.
	Study string `json:"study,omitempty"`
}

// ReadCurrent reads takedown.lock, the record of current runs; a missing
// file is an empty record. A file that does not parse wraps ErrLockDamaged
// and says to run `takedown rebuild-lock`.
func (w *Workspace) ReadCurrent() (*Lock, error) {
	b, err := readPath(w.LockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Version: LockVersion, Datasets: map[string]map[string]LockEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", w.LockPath(), err)
	}
	return w.decodeLock(b)
}

// decodeLock parses the bytes of takedown.lock.
func (w *Workspace) decodeLock(b []byte) (*Lock, error) {
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

// Variant returns the view of a variant's runs: Entry, Set and the pins
// read and change the variant's section of l, and WriteCurrent of the view
// writes l whole. The variant "" is l itself.
func (l *Lock) Variant(name string) *Lock {
	if name == "" {
		return l
	}
	if l.root != nil {
		return l.root.Variant(name)
	}
	if l.Variants == nil {
		l.Variants = map[string]map[string]map[string]LockEntry{}
	}
	if l.Variants[name] == nil {
		l.Variants[name] = map[string]map[string]LockEntry{}
	}
	return &Lock{Version: l.Version, Datasets: l.Variants[name], root: l}
}

// VariantNames lists the variants with runs, sorted.
func (l *Lock) VariantNames() []string {
	if l.root != nil {
		return l.root.VariantNames()
	}
	var out []string
	for v := range l.Variants {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Entries calls fn for every current run of l, its variants included
// (variant "" for the study's own runs), in a fixed order.
func (l *Lock) Entries(fn func(variant, dataset, stage string, e LockEntry)) {
	if l.root != nil {
		l.root.Entries(fn)
		return
	}
	each := func(variant string, m map[string]map[string]LockEntry) {
		var names []string
		for ds := range m {
			names = append(names, ds)
		}
		sort.Strings(names)
		for _, ds := range names {
			var stages []string
			for st := range m[ds] {
				stages = append(stages, st)
			}
			sort.Strings(stages)
			for _, st := range stages {
				fn(variant, ds, st, m[ds][st])
			}
		}
	}
	each("", l.Datasets)
	for _, v := range l.VariantNames() {
		each(v, l.Variants[v])
	}
}

// SetStudy records which study made the current run of a stage current.
func (l *Lock) SetStudy(dataset, stage, study string) {
	if e, ok := l.Datasets[dataset][stage]; ok {
		e.Study = study
		l.Datasets[dataset][stage] = e
	}
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
	if l.root != nil {
		return l.root.Pin(dataset, file)
	}
	d, ok := l.Pins[dataset][file]
	return d, ok
}

// PinsOf returns the pins of a dataset's files (file -> sha256).
func (l *Lock) PinsOf(dataset string) map[string]string {
	if l.root != nil {
		return l.root.PinsOf(dataset)
	}
	return l.Pins[dataset]
}

// DropPins forgets the pins of a dataset's files.
func (l *Lock) DropPins(dataset string) {
	if l.root != nil {
		l.root.DropPins(dataset)
		return
	}
	delete(l.Pins, dataset)
}

// SetPin pins a dataset's file to a sha256.
func (l *Lock) SetPin(dataset, file, digest string) {
	if l.root != nil {
		l.root.SetPin(dataset, file, digest)
		return
	}
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

// WriteCurrent replaces takedown.lock atomically, then makes the stable
// paths of current tables (current/, variants/) match it. Callers hold
// Exclusive.
func (w *Workspace) WriteCurrent(l *Lock) error {
	if l.root != nil {
		l = l.root
	}
	l.Version = LockVersion
	if w.remote != nil {
		return w.updateCurrentRemote(func(disk *Lock) error {
			*disk = *l
			return nil
		})
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(w.LockPath(), append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", w.LockPath(), err)
	}
	return w.linkCurrent(l)
}
