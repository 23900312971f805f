package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/bundle"
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/fetch"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

// Pack writes a bundle of the workspace's current runs (bundle.Pack) with
// this program's stage order: the outputs of fetch (the source list) and
// summarize (the summary tables and reports) are copied in; of the other
// stages, only the manifests.
func (r *Runner) Pack(o bundle.Options, out string) (*bundle.Summary, error) {
	o.Stages = Stages
	o.WithOutputs = []string{fetch.Name, summarize.Name}
	return bundle.Pack(r.WS, o, out)
}

// BundleOptions say where VerifyBundle finds the sources of a bundle that
// does not hold them.
type BundleOptions struct {
	// FromDir is a folder holding source files (found by name or sha256).
	FromDir string
	// Download says how to download sources from their registry URLs.
	Download fetch.DownloadOptions
}

// File states of a run recomputed from a bundle.
const (
	StateIdentical     = "identical"
	StateDiffers       = "DIFFERS"
	StateNotRecomputed = "not recomputed"
)

// FileCheck is one output file of a run recomputed from a bundle.
type FileCheck struct {
	File   string `json:"file"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// BundleRun is the outcome of recomputing one run of a bundle.
type BundleRun struct {
	Dataset  string          `json:"dataset"`
	Stage    string          `json:"stage"`
	RunID    string          `json:"run_id"`
	OK       bool            `json:"ok"`
	Files    []FileCheck     `json:"files"`
	Problems []store.Problem `json:"problems,omitempty"`
}

// MissingSource is a source file of a bundle that could not be had.
type MissingSource struct {
	Dataset string `json:"dataset"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Why     string `json:"why"`
}

// ErrSourcesMissing means sources a bundle's runs read cannot be had.
var ErrSourcesMissing = errkind.New(errkind.BadInput, "sources missing")

// SourcesMissingError lists the sources that could not be had.
type SourcesMissingError struct{ Missing []MissingSource }

func (e *SourcesMissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d source file(s) the bundle's runs read cannot be had:\n", ErrSourcesMissing, len(e.Missing))
	for _, m := range e.Missing {
		fmt.Fprintf(&b, "  sha256 %s  %s (%s): %s\n", m.SHA256, m.Name, m.Dataset, m.Why)
	}
	b.WriteString("supply them: put the files in a folder and run `takedown verify --from-dir DIR BUNDLE` (files are found by name or by sha256), " +
		"or ask for a bundle made with `takedown pack --with-sources`")
	return b.String()
}

func (e *SourcesMissingError) Unwrap() error { return ErrSourcesMissing }

// VerifyBundle reruns every run of a bundle in the workspace: it installs
// the bundle's local descriptors, lands the sources (from the workspace,
// the bundle, FromDir or their URLs, each checked by sha256), then reruns
// each stage in order with the parameters and inputs of the bundle's
// manifest and compares every output with the manifest and with the
// bundle's copy. Runs recomputed identical are published and made current
// in the workspace; the others are discarded. Sources that cannot be had
// end it before any rerun with a SourcesMissingError.
func (r *Runner) VerifyBundle(ctx context.Context, b *bundle.Bundle, o BundleOptions) ([]BundleRun, error) {
	unlock, err := r.WS.Exclusive(r.Wait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	lock, err := r.WS.ReadCurrent()
	if err != nil {
		return nil, err
	}
	names := b.Datasets()
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s lists no runs", bundle.ErrNotBundle, b.Path)
	}
	type plan struct {
		desc datasets.Descriptor
		runs []bundle.Run
	}
	var plans []plan
	var missing []MissingSource
	for _, name := range names {
		desc, err := b.Descriptor(name)
		if err != nil {
			return nil, err
		}
		if desc.Local {
			if have, err := datasets.Lookup(r.WS.Root, name); err != nil || !have.Local || have.Digest() != desc.Digest() {
				if _, err := datasets.AddLocal(r.WS.Root, desc); err != nil {
					return nil, fmt.Errorf("install the bundle's descriptor of %s: %w", name, err)
				}
			}
		}
		runs := b.Runs(name, Stages)
		for _, run := range runs {
			if run.Stage == fetch.Name && run.Manifest != nil && len(desc.Synth) == 0 {
				missing = append(missing, r.landSources(ctx, b, desc, run, o)...)
			}
		}
		plans = append(plans, plan{desc, runs})
	}
	if len(missing) > 0 {
		return nil, &SourcesMissingError{Missing: missing}
	}
	var out []BundleRun
	for _, p := range plans {
		verified := map[string]bool{}
		for _, run := range p.runs {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			res, err := r.rerunFromBundle(ctx, b, lock, p.desc, run, verified, o)
			if err != nil {
				return out, err
			}
			if res.OK {
				verified[run.ID] = true
			}
			out = append(out, res)
		}
	}
	if err := r.WS.WriteCurrent(lock); err != nil {
		return out, err
	}
	return out, nil
}

// rerunFromBundle reruns one run of a bundle and compares its outputs.
func (r *Runner) rerunFromBundle(ctx context.Context, b *bundle.Bundle, lock *store.Lock, desc datasets.Descriptor,
	run bundle.Run, verified map[string]bool, o BundleOptions) (BundleRun, error) {
	res := BundleRun{Dataset: run.Dataset, Stage: run.Stage, RunID: run.ID}
	problem := func(file, reason string) {
		res.Problems = append(res.Problems, store.Problem{File: file, Reason: reason})
	}
	def, ok := defOf(run.Stage)
	m := run.Manifest
	switch {
	case run.Problem != "":
		problem(store.ManifestName, run.Problem)
	case !ok:
		problem(store.ManifestName, "stage "+run.Stage+" is not a stage of this program")
	case m.RunVersion != def.runVersion():
		problem(store.ManifestName, fmt.Sprintf("made by %s version %s (code %s, revision %s); this program runs version %s: verify with the takedown release that made the bundle",
			run.Stage, m.RunVersion, m.Code.Version, m.Code.Revision, def.runVersion()))
	default:
		for _, in := range m.Inputs {
			switch {
			case in.RunID != "":
				if !verified[in.RunID] {
					problem(in.Name, "comes from run "+in.RunID+", which did not recompute identical")
				}
			case strings.HasPrefix(in.Name, descriptorPrefix):
				if in.SHA256 != desc.Digest() {
					problem(in.Name, "the bundle's descriptor is not the one the run read (sha256 "+shortSHA(desc.Digest())+", the run read "+shortSHA(in.SHA256)+")")
				}
			case strings.HasPrefix(in.Name, sourcePrefix) || strings.HasPrefix(in.Name, importPrefix):
				if d, _, err := store.FileDigest(r.WS.SourcePath(in.SHA256)); err != nil || d != in.SHA256 {
					problem(in.Name, "source sha256 "+in.SHA256+" is not in the workspace")
				}
			}
		}
	}
	if len(res.Problems) > 0 {
		if m != nil {
			for _, out := range m.Outputs {
				res.Files = append(res.Files, FileCheck{File: out.File, State: StateNotRecomputed})
			}
		}
		return res, nil
	}
	log := r.Log.With("dataset", desc.Name, "stage", def.name, "run_id", run.ID)
	fx := execExtra{pins: b.Lock.Pins[desc.Name]}
	if def.name == fetch.Name && len(desc.Synth) == 0 {
		dir, err := r.linkSources(b, desc, run)
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		fx.fromDir = dir
	}
	log.Info("recomputing from bundle", "event", "bundle_rerun")
	st, again, err := r.stage(ctx, desc, def, m.Params, m.Inputs, run.ID, run.ID, fx, log)
	if err != nil {
		return res, err
	}
	if _, err := st.Describe(again, tableInfo); err != nil {
		st.Discard()
		return res, err
	}
	recomputed := map[string]store.Output{}
	for _, out := range again.Outputs {
		recomputed[out.File] = out
	}
	res.OK = true
	for _, want := range m.Outputs {
		fc := FileCheck{File: want.File, State: StateIdentical}
		got, ok := recomputed[want.File]
		switch {
		case !ok:
			fc.State, fc.Reason = StateDiffers, "not produced by the rerun"
		case got.SHA256 != want.SHA256:
			fc.State, fc.Reason = StateDiffers, fmt.Sprintf("recomputed sha256 %s, the manifest says %s", shortSHA(got.SHA256), shortSHA(want.SHA256))
		default:
			name := bundle.RunPath(desc.Name, run.Stage, run.ID, want.File)
			if b.Has(name) {
				if d, _, err := b.Digest(name); err != nil || d != got.SHA256 {
					fc.State, fc.Reason = StateDiffers, fmt.Sprintf("the bundle's copy has sha256 %s, recomputed %s", shortSHA(d), shortSHA(got.SHA256))
				}
			}
		}
		delete(recomputed, want.File)
		if fc.State != StateIdentical {
			res.OK = false
		}
		res.Files = append(res.Files, fc)
	}
	for f := range recomputed {
		res.Files = append(res.Files, FileCheck{File: f, State: StateDiffers, Reason: "written by the rerun, not in the manifest"})
		res.OK = false
	}
	if !res.OK {
		st.Discard()
		return res, nil
	}
	published, err := st.Publish(again, tableInfo)
	if err != nil {
		return res, err
	}
	if err := lock.Set(published); err != nil {
		return res, err
	}
	return res, nil
}

// landSources puts every source a bundle's fetch run landed into the
// workspace's source store, each checked by sha256: from the store itself,
// the bundle, FromDir, or else its URL. It returns those it could not have.
func (r *Runner) landSources(ctx context.Context, b *bundle.Bundle, desc datasets.Descriptor, run bundle.Run, o BundleOptions) []MissingSource {
	list, err := bundleSourceList(b, run)
	if err != nil {
		return []MissingSource{{Dataset: desc.Name, Name: store.SourceListName, SHA256: "(unknown)", Why: err.Error()}}
	}
	var missing []MissingSource
	var toDownload []datasets.File
	whys := map[string]string{}
	for _, s := range list {
		if d, _, err := store.FileDigest(r.WS.SourcePath(s.SHA256)); err == nil && d == s.SHA256 {
			continue
		}
		var why []string
		if name := bundle.SourcePath(s.SHA256); b.Has(name) {
			if err := r.landFrom(b, name, s.SHA256); err == nil {
				continue
			} else {
				why = append(why, "the bundle's copy: "+err.Error())
			}
		} else {
			why = append(why, "not in the bundle")
		}
		if o.FromDir != "" {
			p, err := fetch.FindFile(datasets.File{Name: s.Name}, o.FromDir, s.SHA256)
			if err == nil {
				err = r.landFrom(nil, p, s.SHA256)
			}
			if err == nil {
				continue
			}
			why = append(why, "--from-dir: "+err.Error())
		} else {
			why = append(why, "no --from-dir")
		}
		var url string
		for _, f := range desc.Files {
			if f.Name == s.Name && f.URL != "" {
				url = f.URL
				f.SHA256 = s.SHA256
				toDownload = append(toDownload, f)
			}
		}
		if url == "" {
			why = append(why, "the descriptor gives no URL")
			missing = append(missing, MissingSource{Dataset: desc.Name, Name: s.Name, SHA256: s.SHA256, Why: strings.Join(why, "; ")})
			continue
		}
		whys[s.Name] = strings.Join(why, "; ")
	}
	if len(toDownload) > 0 {
		d := desc
		d.Files, d.Synth = toDownload, nil
		tmp, err := r.WS.TempDir("verify-fetch-")
		if err == nil {
			_, err = fetch.Run(ctx, fetch.Input{Descriptor: d, Workspace: r.WS, Download: o.Download}, fetch.DefaultParams(), tmp, r.Log)
			os.RemoveAll(tmp)
		}
		for _, f := range toDownload {
			if err == nil && r.WS.HasSource(f.SHA256) {
				continue
			}
			why := whys[f.Name] + "; download " + f.URL
			if err != nil {
				why += ": " + err.Error()
			}
			missing = append(missing, MissingSource{Dataset: desc.Name, Name: f.Name, SHA256: f.SHA256, Why: why})
		}
	}
	return missing
}

// bundleSourceList reads the source list of a bundle's fetch run, checked
// against its manifest.
func bundleSourceList(b *bundle.Bundle, run bundle.Run) (store.SourceList, error) {
	want, ok := run.Manifest.Output(store.SourceListName)
	if !ok {
		return nil, fmt.Errorf("fetch run %s has no %s", run.ID, store.SourceListName)
	}
	name := bundle.RunPath(run.Dataset, run.Stage, run.ID, store.SourceListName)
	f, err := b.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s is missing from the bundle", name)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if d := hex.EncodeToString(sum[:]); d != want.SHA256 {
		return nil, fmt.Errorf("%s has sha256 %s, its manifest says %s", name, shortSHA(d), shortSHA(want.SHA256))
	}
	var list store.SourceList
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return list, nil
}

// landFrom copies a file (of the bundle when b is set, else of the disk)
// into the source store and checks that it has the digest expected.
func (r *Runner) landFrom(b *bundle.Bundle, name, digest string) error {
	var rd io.ReadCloser
	var err error
	if b != nil {
		rd, err = b.Open(name)
	} else {
		rd, err = os.Open(name)
	}
	if err != nil {
		return err
	}
	defer rd.Close()
	got, _, err := r.WS.PutSource(rd)
	if err != nil {
		return err
	}
	if got != digest {
		os.Remove(r.WS.SourcePath(got))
		return fmt.Errorf("%s has sha256 %s, not %s", name, got, digest)
	}
	return nil
}

// linkSources makes a scratch folder holding the fetch run's sources under
// their published names (links into the store, or copies), for the fetch
// stage to import as from --from-dir.
func (r *Runner) linkSources(b *bundle.Bundle, desc datasets.Descriptor, run bundle.Run) (string, error) {
	list, err := bundleSourceList(b, run)
	if err != nil {
		return "", err
	}
	dir, err := r.WS.TempDir("verify-sources-")
	if err != nil {
		return "", err
	}
	for _, s := range list {
		src, dst := r.WS.SourcePath(s.SHA256), filepath.Join(dir, filepath.Base(s.Name))
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := store.CopyFile(src, dst); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%w: %w", store.ErrWorkspace, err)
		}
	}
	return dir, nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
