// Package bundle writes and reads citable result bundles: the manifests of a
// workspace's current runs, the matching part of takedown.lock, the summary
// tables and reports, the dataset descriptors, a CITATION.cff and RO-Crate
// metadata (Workflow Run Crate profile), in a directory or a zip file whose
// bytes depend only on the runs packed. `takedown verify BUNDLE` reruns the
// pipeline from a bundle (internal/runner) and compares every output.
//
// Layout (paths inside the bundle, sorted in a zip):
//
//	CITATION.cff                               how to cite the results and the data
//	ro-crate-metadata.json                     RO-Crate 1.1, Workflow Run Crate 0.5
//	takedown.lock                              the current runs of the packed datasets
//	descriptors/<dataset>.json                 each dataset's descriptor (no local paths)
//	runs/<dataset>/<stage>/<run-id>/manifest.json
//	runs/<dataset>/<stage>/<run-id>/<file>     outputs of the stages chosen (fetch, summarize)
//	sources/sha256/<ab>/<sha256>               source files, only with --with-sources
//	<study file>                               the study file, when one is given
package bundle

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/store"
)

// Names of the fixed files of a bundle.
const (
	CrateName      = "ro-crate-metadata.json"
	CitationName   = "CITATION.cff"
	LockName       = store.LockName
	descriptorsDir = "descriptors"
	runsDir        = "runs"
	sourcesDir     = "sources/sha256"
)

// Errors of packing and reading bundles.
var (
	// ErrNotBundle means a path given as a bundle is not one.
	ErrNotBundle = errkind.New(errkind.BadInput, "not a takedown bundle")
	// ErrNothing means there are no current runs to pack.
	ErrNothing = errkind.New(errkind.Usage, "nothing to pack")
	// ErrExists means the output path exists.
	ErrExists = errkind.New(errkind.Usage, "output exists")
)

// zipTime is the modification time of every zip entry, so that a bundle's
// bytes depend on its content alone.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// RunPath is the path in a bundle of a file of a run.
func RunPath(dataset, stage, runID, file string) string {
	return path.Join(runsDir, dataset, stage, runID, file)
}

// SourcePath is the path in a bundle of a source file (--with-sources).
func SourcePath(digest string) string {
	return path.Join(sourcesDir, digest[:2], digest)
}

// DescriptorPath is the path in a bundle of a dataset's descriptor.
func DescriptorPath(dataset string) string {
	return path.Join(descriptorsDir, dataset+".json")
}

// Options say what Pack packs.
type Options struct {
	// Datasets to pack; empty packs every dataset with current runs.
	Datasets []string
	// Stages is the pipeline order of the stage names.
	Stages []string
	// WithOutputs are the stages whose output files are copied into the
	// bundle (of the others only the manifest is).
	WithOutputs []string
	// Study is a study file copied as-is into the bundle ("" for none).
	Study string
	// WithSources copies the source files into the bundle.
	WithSources bool
	// Authors of the results for CITATION.cff ("Family, Given" or a name).
	Authors []string
	// License is the SPDX id of the results' licence.
	License string
	// Title of the bundle; empty makes one from the dataset names.
	Title string
}

// packOptions are the options with the program that made the runs.
type packOptions struct {
	Options
	Software store.Code
}

// Summary says what Pack wrote.
type Summary struct {
	Path     string   `json:"path"`
	Datasets []string `json:"datasets"`
	Runs     int      `json:"runs"`
	Files    int      `json:"files"`
	Bytes    int64    `json:"bytes"`
	Sources  int      `json:"sources"`
	// SourcesIncluded says whether the sources were copied in.
	SourcesIncluded bool `json:"sources_included"`
}

// entry is one file of a bundle: bytes in memory, or a file on disk.
type entry struct {
	name string
	data []byte
	path string
}

// packed is what the metadata files are built from.
type packed struct {
	opts     packOptions
	datasets []packedDataset
	entries  []entry
	date     string // YYYY-MM-DD of the last run's end
}

type packedDataset struct {
	desc    datasets.Descriptor
	descSHA string // sha256 of the bundled descriptor file
	runs    []packedRun
	sources []packedSource
}

type packedRun struct {
	m       *store.Manifest
	bundled map[string]bool // output file -> copied into the bundle
}

type packedSource struct {
	store.SourceFile
	URL     string
	Bundled bool
}

// Pack writes a bundle of the current runs of the workspace to out: a zip
// file when out ends in .zip, else a new directory. Every run packed must be
// intact (outputs and manifest as takedown.lock records them).
func Pack(ws *store.Workspace, o Options, out string) (*Summary, error) {
	if _, err := os.Stat(out); err == nil {
		return nil, fmt.Errorf("%w: %s exists; remove it or choose another --out", ErrExists, out)
	}
	lock, err := ws.ReadCurrent()
	if err != nil {
		return nil, err
	}
	names := o.Datasets
	if len(names) == 0 {
		for _, d := range lock.DatasetNames() {
			if len(lock.Datasets[d]) > 0 {
				names = append(names, d)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w: %s has no current runs (run: takedown run DATASET)", ErrNothing, ws.Root)
		}
	}
	names = dedupe(names)
	sub := &store.Lock{Version: store.LockVersion, Datasets: map[string]map[string]store.LockEntry{}}
	p := &packed{opts: packOptions{Options: o}}
	with := map[string]bool{}
	for _, s := range o.WithOutputs {
		with[s] = true
	}
	var last string
	for _, name := range names {
		stages := lock.Datasets[name]
		if len(stages) == 0 {
			return nil, fmt.Errorf("%w: dataset %s has no current runs in %s (run: takedown run %s)", ErrNothing, name, ws.Root, name)
		}
		desc, err := datasets.Lookup(ws.Root, name)
		if err != nil {
			return nil, err
		}
		desc = withoutPaths(desc)
		db, err := json.MarshalIndent(desc, "", "  ")
		if err != nil {
			return nil, err
		}
		db = append(db, '\n')
		p.entries = append(p.entries, entry{name: DescriptorPath(name), data: db})
		pd := packedDataset{desc: desc, descSHA: sha(db)}
		sub.Datasets[name] = stages
		if pins := lock.Pins[name]; len(pins) > 0 {
			for f, d := range pins {
				sub.SetPin(name, f, d)
			}
		}
		for _, stage := range orderStages(stages, o.Stages) {
			e := stages[stage]
			run, err := ws.ReadRun(name, stage, e.RunID)
			if err != nil {
				return nil, fmt.Errorf("pack %s %s: %w (run `takedown run %s` to repair it)", name, stage, err, name)
			}
			problems := store.CheckOutputs(run.Dir, run.Manifest)
			if e.ManifestSHA256 != "" && e.ManifestSHA256 != run.ManifestSHA256 {
				problems = append(problems, store.Problem{File: store.ManifestName, Reason: "manifest edited since takedown.lock recorded it"})
			}
			if len(problems) > 0 {
				return nil, fmt.Errorf("%w: pack %s %s run %s: %s: %s (run `takedown run %s` to repair it)",
					store.ErrDamaged, name, stage, e.RunID, problems[0].File, problems[0].Reason, name)
			}
			mb, err := os.ReadFile(filepath.Join(run.Dir, store.ManifestName))
			if err != nil {
				return nil, err
			}
			p.entries = append(p.entries, entry{name: RunPath(name, stage, e.RunID, store.ManifestName), data: mb})
			pr := packedRun{m: run.Manifest, bundled: map[string]bool{}}
			if with[stage] {
				for _, out := range run.Manifest.Outputs {
					p.entries = append(p.entries, entry{name: RunPath(name, stage, e.RunID, out.File), path: filepath.Join(run.Dir, out.File)})
					pr.bundled[out.File] = true
				}
			}
			if end := run.Manifest.Timings.FinishedAt; end > last {
				// The program named in the citation is the one that made
				// the last run, so the bundle's bytes do not depend on
				// the program that packs it.
				last, p.opts.Software = end, run.Manifest.Code
			}
			pd.runs = append(pd.runs, pr)
			if _, ok := run.Manifest.Output(store.SourceListName); ok {
				srcs, err := packSources(ws, desc, run.Dir, o.WithSources, &p.entries)
				if err != nil {
					return nil, err
				}
				pd.sources = append(pd.sources, srcs...)
			}
		}
		p.datasets = append(p.datasets, pd)
	}
	lb, err := json.MarshalIndent(sub, "", "  ")
	if err != nil {
		return nil, err
	}
	p.entries = append(p.entries, entry{name: LockName, data: append(lb, '\n')})
	if o.Study != "" {
		sb, err := os.ReadFile(o.Study)
		if err != nil {
			return nil, fmt.Errorf("%w: --study: %w", errkind.New(errkind.BadInput, "study file"), err)
		}
		p.entries = append(p.entries, entry{name: filepath.Base(o.Study), data: sb})
	}
	if t, err := time.Parse(time.RFC3339Nano, last); err == nil {
		p.date = t.UTC().Format(time.DateOnly)
	}
	cff, err := p.citation()
	if err != nil {
		return nil, err
	}
	p.entries = append(p.entries, entry{name: CitationName, data: cff})
	crate, err := p.crate()
	if err != nil {
		return nil, err
	}
	p.entries = append(p.entries, entry{name: CrateName, data: crate})
	sort.SliceStable(p.entries, func(i, j int) bool { return p.entries[i].name < p.entries[j].name })
	p.entries = slices.CompactFunc(p.entries, func(a, b entry) bool {
		// Two datasets may share a source file: it is packed once.
		return a.name == b.name && a.data == nil && b.data == nil && a.path == b.path
	})
	for i := 1; i < len(p.entries); i++ {
		if p.entries[i].name == p.entries[i-1].name {
			return nil, fmt.Errorf("%w: two files of the bundle are both %s (is the study file named like one of them?)", errkind.New(errkind.Usage, "bundle"), p.entries[i].name)
		}
	}
	sum := &Summary{Path: out, Datasets: names, SourcesIncluded: o.WithSources}
	for _, d := range p.datasets {
		sum.Runs += len(d.runs)
		sum.Sources += len(d.sources)
	}
	if strings.HasSuffix(strings.ToLower(out), ".zip") {
		err = writeZip(out, p.entries)
	} else {
		err = writeDir(out, p.entries)
	}
	if err != nil {
		return nil, err
	}
	sum.Files = len(p.entries)
	for _, e := range p.entries {
		if e.data != nil {
			sum.Bytes += int64(len(e.data))
		} else if info, err := os.Stat(e.path); err == nil {
			sum.Bytes += info.Size()
		}
	}
	return sum, nil
}

// packSources lists the sources a fetch run landed, with the URL the
// descriptor gives for each, and adds them to the bundle when asked to.
func packSources(ws *store.Workspace, desc datasets.Descriptor, fetchDir string, with bool, entries *[]entry) ([]packedSource, error) {
	list, err := store.ReadSourceList(filepath.Join(fetchDir, store.SourceListName))
	if err != nil {
		return nil, err
	}
	var out []packedSource
	for _, s := range list {
		ps := packedSource{SourceFile: s}
		for _, f := range desc.Files {
			if f.Name == s.Name {
				ps.URL = f.URL
			}
		}
		if with {
			p := ws.SourcePath(s.SHA256)
			if d, _, err := store.FileDigest(p); err != nil || d != s.SHA256 {
				return nil, fmt.Errorf("%w: source %s (%s) is missing from the store or altered: run `takedown fetch --refetch %s`", store.ErrDamaged, s.Name, s.SHA256, desc.Name)
			}
			*entries = append(*entries, entry{name: SourcePath(s.SHA256), path: p})
			ps.Bundled = true
		}
		out = append(out, ps)
	}
	return out, nil
}

func withoutPaths(d datasets.Descriptor) datasets.Descriptor {
	d.Files = append([]datasets.File(nil), d.Files...)
	for i := range d.Files {
		d.Files[i].Path = ""
	}
	return d
}

// orderStages lists the stages of a lock entry in pipeline order; stages
// this program does not know come last, sorted.
func orderStages(m map[string]store.LockEntry, order []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range order {
		if _, ok := m[s]; ok {
			out = append(out, s)
			seen[s] = true
		}
	}
	var rest []string
	for s := range m {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (e entry) open() (io.ReadCloser, error) {
	if e.data != nil {
		return io.NopCloser(bytes.NewReader(e.data)), nil
	}
	return os.Open(e.path)
}

// writeZip writes the entries, sorted, with fixed times and modes, through
// a temp file renamed into place.
func writeZip(out string, entries []entry) (err error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", errkind.New(errkind.Usage, "--out"), err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		r, err := e.open()
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("write %s: %w", e.name, err)
		}
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}

// writeDir writes the entries into a new directory, built beside it and
// renamed into place.
func writeDir(out string, entries []entry) (err error) {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%w: %w", errkind.New(errkind.Usage, "--out"), err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, e := range entries {
		p := filepath.Join(tmp, filepath.FromSlash(e.name))
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		r, err := e.open()
		if err != nil {
			return err
		}
		w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			r.Close()
			return err
		}
		_, err = io.Copy(w, r)
		r.Close()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err = os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// Bundle is an opened bundle (a directory or a zip file).
type Bundle struct {
	Path string
	// Lock is the bundle's takedown.lock: its datasets, runs and pins.
	Lock   *store.Lock
	fsys   fs.FS
	closer io.Closer
}

// Run is a run of a bundle with its manifest.
type Run struct {
	Dataset, Stage, ID string
	Manifest           *store.Manifest
	// Problem says what is wrong with the manifest ("" when nothing): it
	// is missing, does not parse, does not describe the run, or differs
	// from the digest the bundle's lock records.
	Problem string
}

// IsBundle reports whether p looks like a bundle: a zip file, or a
// directory holding takedown.lock and ro-crate-metadata.json.
func IsBundle(p string) bool {
	info, err := os.Stat(p)
	if err != nil {
		return false
	}
	if !info.IsDir() {
		return strings.HasSuffix(strings.ToLower(p), ".zip")
	}
	_, e1 := os.Stat(filepath.Join(p, LockName))
	_, e2 := os.Stat(filepath.Join(p, CrateName))
	return e1 == nil && e2 == nil
}

// Open opens the bundle at p and reads its lock.
func Open(p string) (*Bundle, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotBundle, err)
	}
	b := &Bundle{Path: p}
	if info.IsDir() {
		b.fsys = os.DirFS(p)
	} else {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNotBundle, p, err)
		}
		b.fsys, b.closer = zr, zr
	}
	lb, err := fs.ReadFile(b.fsys, LockName)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: %s has no %s (make bundles with `takedown pack`)", ErrNotBundle, p, LockName)
	}
	var l store.Lock
	if err := json.Unmarshal(lb, &l); err != nil || l.Version != store.LockVersion {
		b.Close()
		return nil, fmt.Errorf("%w: %s: %s does not parse as a version %d lock", ErrNotBundle, p, LockName, store.LockVersion)
	}
	if err := checkNames(&l); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: %s: %s: %w", ErrNotBundle, p, LockName, err)
	}
	b.Lock = &l
	return b, nil
}

var (
	stageName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	runID     = regexp.MustCompile(fmt.Sprintf(`^[0-9a-f]{%d}$`, store.RunIDLength))
)

// checkNames checks every dataset name, stage name and run id of a
// bundle's lock, which become paths of the workspace that verifies it.
func checkNames(l *store.Lock) error {
	for ds, stages := range l.Datasets {
		if err := datasets.ValidateName(ds); err != nil {
			return err
		}
		for stage, e := range stages {
			if !stageName.MatchString(stage) {
				return fmt.Errorf("dataset %s: stage name %q", ds, stage)
			}
			if !runID.MatchString(e.RunID) {
				return fmt.Errorf("dataset %s: stage %s: run id %q is not %d hex digits", ds, stage, e.RunID, store.RunIDLength)
			}
		}
	}
	return nil
}

// Close releases the bundle.
func (b *Bundle) Close() error {
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}

// Open opens a file of the bundle by its slash path.
func (b *Bundle) Open(name string) (fs.File, error) { return b.fsys.Open(name) }

// Has reports whether the bundle holds a file.
func (b *Bundle) Has(name string) bool {
	_, err := fs.Stat(b.fsys, name)
	return err == nil
}

// Digest returns the sha256 and size of a file of the bundle.
func (b *Bundle) Digest(name string) (string, int64, error) {
	f, err := b.fsys.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return readerDigest(f)
}

// Datasets lists the bundle's datasets, sorted.
func (b *Bundle) Datasets() []string { return b.Lock.DatasetNames() }

// Runs returns the runs of a dataset in the given stage order, with their
// manifests checked against the bundle's lock.
func (b *Bundle) Runs(dataset string, order []string) []Run {
	stages := b.Lock.Datasets[dataset]
	var out []Run
	for _, stage := range orderStages(stages, order) {
		e := stages[stage]
		r := Run{Dataset: dataset, Stage: stage, ID: e.RunID}
		name := RunPath(dataset, stage, e.RunID, store.ManifestName)
		mb, err := fs.ReadFile(b.fsys, name)
		switch {
		case err != nil:
			r.Problem = name + " is missing from the bundle"
		case e.ManifestSHA256 != "" && sha(mb) != e.ManifestSHA256:
			r.Problem = fmt.Sprintf("%s: sha256 %.12s, the bundle's %s records %.12s (edited)", name, sha(mb), LockName, e.ManifestSHA256)
		default:
			m, err := store.ParseManifest(name, mb)
			if err != nil {
				r.Problem = err.Error()
				break
			}
			if why := m.Describes(dataset, stage, e.RunID); why != "" {
				r.Problem = name + ": " + why
				break
			}
			r.Manifest = m
		}
		out = append(out, r)
	}
	return out
}

// Descriptor returns the bundle's descriptor of a dataset.
func (b *Bundle) Descriptor(dataset string) (datasets.Descriptor, error) {
	name := DescriptorPath(dataset)
	db, err := fs.ReadFile(b.fsys, name)
	if err != nil {
		return datasets.Descriptor{}, fmt.Errorf("%w: %s: %s is missing", ErrNotBundle, b.Path, name)
	}
	var d datasets.Descriptor
	if err := json.Unmarshal(db, &d); err != nil {
		return datasets.Descriptor{}, fmt.Errorf("%w: %s: %s: %w", ErrNotBundle, b.Path, name, err)
	}
	if d.Name != dataset {
		return datasets.Descriptor{}, fmt.Errorf("%w: %s: %s describes %q", ErrNotBundle, b.Path, name, d.Name)
	}
	return d, nil
}

// CopyTo copies a file of the bundle to a new file at dst.
func (b *Bundle) CopyTo(name, dst string) error {
	r, err := b.fsys.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readerDigest(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
