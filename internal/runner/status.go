package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/fetch"
)

// States of a stage in Status.
const (
	StateCurrent = "current"
	StateStale   = "stale"
	StateNotRun  = "not run"
	StateDamaged = "damaged"
)

// StageStatus says whether a stage's current run is still valid, and why not.
type StageStatus struct {
	Stage    string   `json:"stage"`
	State    string   `json:"state"`
	RunID    string   `json:"run_id,omitempty"`
	Expected string   `json:"expected_run_id,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
}

// Status checks every stage of a dataset. A stage is current when its locked
// run would get the same run id today (same stage version, same parameters
// as recorded, same input digests as the upstream stages now hold) and its
// outputs on disk still match their manifest.
func (r *Runner) Status(dataset string) ([]StageStatus, error) {
	return r.StatusOf(dataset, StatusOptions{})
}

// StatusOptions select what StatusOf checks.
type StatusOptions struct {
	// Variant is the study variant whose runs are checked ("" for the
	// study's own runs, or a plain workspace's).
	Variant string
	// Want, when set, are the parameters the runs must have been made
	// with (a study's): a run made with others is stale, with the
	// parameters that differ as the reason.
	Want *Params
}

// StatusOf is Status for a variant's runs, or against wanted parameters.
func (r *Runner) StatusOf(dataset string, o StatusOptions) ([]StageStatus, error) {
	desc, err := datasets.Lookup(r.WS.Root, dataset)
	if err != nil {
		return nil, err
	}
	root, err := r.WS.ReadCurrent()
	if err != nil {
		return nil, err
	}
	lock := root.Variant(o.Variant)
	var want *Params
	if o.Want != nil {
		p := effective(*o.Want)
		want = &p
	}
	var out []StageStatus
	upstreamBad := ""
	for _, def := range defs {
		s := StageStatus{Stage: def.name}
		e, ok := lock.Entry(desc.Name, def.name)
		if !ok {
			s.State = StateNotRun
			out = append(out, s)
			upstreamBad = def.name
			continue
		}
		s.RunID = e.RunID
		run, err := r.WS.ReadRun(desc.Name, def.name, e.RunID)
		if err != nil {
			s.State = StateDamaged
			if errors.Is(err, fs.ErrNotExist) {
				s.Reasons = append(s.Reasons, "run directory missing: "+r.WS.RunDir(desc.Name, def.name, e.RunID))
			} else {
				s.Reasons = append(s.Reasons, err.Error())
			}
			out = append(out, s)
			upstreamBad = def.name
			continue
		}
		m := run.Manifest
		for _, p := range store.CheckOutputs(run.Dir, m) {
			s.Reasons = append(s.Reasons, fmt.Sprintf("output %s %s", p.File, p.Reason))
		}
		for _, o := range m.Outputs {
			if e.Outputs[o.File] != o.SHA256 {
				s.Reasons = append(s.Reasons, fmt.Sprintf("takedown.lock records a different digest for %s", o.File))
			}
		}
		if p, ok := manifestEdited(lock, run); ok {
			s.Reasons = append(s.Reasons, p.Reason)
		}
		if def.name == fetch.Name {
			for _, p := range r.checkSources(run.Dir) {
				s.Reasons = append(s.Reasons, fmt.Sprintf("source %s: %s", p.File, p.Reason))
			}
		}
		if len(s.Reasons) > 0 {
			s.State = StateDamaged
			out = append(out, s)
			upstreamBad = def.name
			continue
		}
		s.State = StateCurrent
		if m.StageVersion != def.version {
			s.Reasons = append(s.Reasons, fmt.Sprintf("stage version changed: run made by v%d, this program is v%d", m.StageVersion, def.version))
		}
		s.Reasons = append(s.Reasons, tableVersionReasons(desc.Name, def.name, e.RunID, m.Outputs)...)
		if want != nil {
			s.Reasons = append(s.Reasons, r.paramReasons(def, desc, *want, m.Params, m.Inputs)...)
		}
		if upstreamBad != "" {
			s.Reasons = append(s.Reasons, fmt.Sprintf("upstream stage %s is not current", upstreamBad))
		} else if inputs, err := r.plan(lock, desc, def, "", recordedMedia(def, m.Params)); err != nil {
			s.Reasons = append(s.Reasons, err.Error())
		} else {
			s.Reasons = append(s.Reasons, diffInputs(m.Inputs, inputs)...)
			params := any(m.Params)
			if p, ok, err := r.completedParams(def, desc, m.Params, inputs); err != nil {
				s.Reasons = append(s.Reasons, err.Error())
			} else if ok {
				params = p
				if len(s.Reasons) == 0 {
					s.Reasons = append(s.Reasons, "the parameters filled in from the dataset's descriptor or the upstream runs changed (an upstream run was replaced, e.g. by one with other parameters that wrote the same tables)")
				}
			}
			if expected, err := store.RunID(desc.Name, def.name, def.runVersion(), params, inputs); err == nil && expected != e.RunID {
				s.Expected = expected
				if len(s.Reasons) == 0 {
					s.Reasons = append(s.Reasons, "run id differs from the one its recorded parameters and inputs give")
				}
			}
		}
		if len(s.Reasons) > 0 {
			s.State = StateStale
			upstreamBad = def.name
		}
		out = append(out, s)
	}
	return out, nil
}

func diffInputs(old, cur []store.InputRef) []string {
	om := map[string]string{}
	for _, i := range old {
		om[i.Name] = i.SHA256
	}
	cm := map[string]string{}
	for _, i := range cur {
		cm[i.Name] = i.SHA256
	}
	var out []string
	for _, i := range cur {
		switch d, ok := om[i.Name]; {
		case !ok:
			out = append(out, fmt.Sprintf("new input %s", i.Name))
		case d != i.SHA256:
			out = append(out, fmt.Sprintf("input %s changed (%.12s -> %.12s)", i.Name, d, i.SHA256))
		}
	}
	for _, i := range old {
		if _, ok := cm[i.Name]; !ok {
			out = append(out, fmt.Sprintf("input %s no longer exists", i.Name))
		}
	}
	return out
}

// VerifyResult is the outcome of recomputing one run.
type VerifyResult struct {
	Dataset    string          `json:"dataset"`
	Stage      string          `json:"stage"`
	RunID      string          `json:"run_id"`
	OK         bool            `json:"ok"`
	Mismatches []store.Problem `json:"mismatches,omitempty"`
}

// Verify recomputes runs in a scratch directory and compares every output
// byte for byte (by sha256) with the published manifest and with the files
// on disk. With runID empty it verifies every current stage of the dataset.
func (r *Runner) Verify(ctx context.Context, dataset, runID string) ([]VerifyResult, error) {
	return r.VerifyVariant(ctx, dataset, runID, "")
}

// VerifyVariant is Verify for the current runs of a study variant.
func (r *Runner) VerifyVariant(ctx context.Context, dataset, runID, variant string) ([]VerifyResult, error) {
	desc, err := datasets.Lookup(r.WS.Root, dataset)
	if err != nil {
		return nil, err
	}
	root, err := r.WS.ReadCurrent()
	if err != nil {
		return nil, err
	}
	lock := root.Variant(variant)
	var targets []stageDef
	var ids []string
	for _, def := range defs {
		e, ok := lock.Entry(desc.Name, def.name)
		if runID != "" {
			if r.WS.HasRun(desc.Name, def.name, runID) {
				targets, ids = append(targets, def), append(ids, runID)
			}
			continue
		}
		if ok {
			targets, ids = append(targets, def), append(ids, e.RunID)
		}
	}
	if len(targets) == 0 {
		if runID != "" {
			return nil, fmt.Errorf("%w: no run %s of dataset %s in %s", ErrUsage, runID, desc.Name, r.WS.Root)
		}
		return nil, fmt.Errorf("%w: dataset %s has no runs in %s (run: takedown run %s)", ErrUpstream, desc.Name, r.WS.Root, desc.Name)
	}
	var out []VerifyResult
	for i, def := range targets {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res, err := r.verifyRun(ctx, lock, desc, def, ids[i])
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (r *Runner) verifyRun(ctx context.Context, lock *store.Lock, desc datasets.Descriptor, def stageDef, runID string) (VerifyResult, error) {
	res := VerifyResult{Dataset: desc.Name, Stage: def.name, RunID: runID}
	run, err := r.WS.ReadRun(desc.Name, def.name, runID)
	if err != nil {
		res.Mismatches = append(res.Mismatches, store.Problem{File: store.ManifestName, Reason: err.Error()})
		return res, nil
	}
	dir, m := run.Dir, run.Manifest
	res.Mismatches = append(res.Mismatches, store.CheckOutputs(dir, m)...)
	if p, ok := manifestEdited(lock, run); ok {
		res.Mismatches = append(res.Mismatches, p)
	}
	for _, in := range m.Inputs {
		if in.Name == descriptorPrefix+desc.Name {
			if in.SHA256 != desc.Digest() {
				res.Mismatches = append(res.Mismatches, store.Problem{File: in.Name, Reason: "the registry descriptor changed since this run"})
			}
			continue
		}
		p := inputPath(r.WS, desc.Name, in)
		d, _, err := store.FileDigest(p)
		if err != nil || d != in.SHA256 {
			res.Mismatches = append(res.Mismatches, store.Problem{File: in.Name, Reason: "input missing or changed; cannot recompute from it"})
		}
	}
	if len(res.Mismatches) > 0 {
		return res, nil
	}
	if def.name == fetch.Name && len(desc.Synth) == 0 {
		// A fetched (not generated) release cannot be re-fetched offline; its
		// verification is the digest of every file it landed.
		for _, p := range r.checkSources(dir) {
			res.Mismatches = append(res.Mismatches, p)
		}
		list, _ := store.ReadSourceList(filepath.Join(dir, store.SourceListName))
		for _, s := range list {
			if d, _, err := store.FileDigest(r.WS.SourcePath(s.SHA256)); err != nil || d != s.SHA256 {
				res.Mismatches = append(res.Mismatches, store.Problem{File: s.Name, Reason: "source bytes differ from their content address"})
			}
		}
		res.OK = len(res.Mismatches) == 0
		return res, nil
	}
	log := r.Log.With("dataset", desc.Name, "stage", def.name, "run_id", runID)
	again, err := r.recompute(ctx, desc, def, m.Params, m.Inputs, runID, log)
	if err != nil {
		return res, err
	}
	res.Mismatches = append(res.Mismatches, compareOutputs(m.Outputs, again.Outputs)...)
	if def.name == fetch.Name {
		res.Mismatches = append(res.Mismatches, r.checkSources(dir)...)
	}
	res.OK = len(res.Mismatches) == 0
	return res, nil
}

func compareOutputs(published, recomputed []store.Output) []store.Problem {
	pm := map[string]store.Output{}
	for _, o := range published {
		pm[o.File] = o
	}
	var out []store.Problem
	for _, o := range recomputed {
		p, ok := pm[o.File]
		switch {
		case !ok:
			out = append(out, store.Problem{File: o.File, Reason: "recomputed run writes a file the published run lacks"})
		case p.SHA256 != o.SHA256:
			out = append(out, store.Problem{File: o.File, Reason: fmt.Sprintf("recomputed sha256 %.12s differs from published %.12s", o.SHA256, p.SHA256)})
		}
		delete(pm, o.File)
	}
	for f := range pm {
		out = append(out, store.Problem{File: f, Reason: "published file not produced by recomputation"})
	}
	return out
}

// paramReasons says which parameters of a stage differ between a run's
// recorded ones and the wanted set.
func (r *Runner) paramReasons(def stageDef, desc datasets.Descriptor, want Params, got json.RawMessage, inputs []store.InputRef) []string {
	params := def.params(want)
	if def.withDescriptor != nil {
		params = def.withDescriptor(params, desc)
	}
	if def.completeWanted {
		var err error
		if params, err = def.withInputs(r.WS, params, desc, inputs); err != nil {
			return []string{err.Error()}
		}
	}
	b, err := store.CanonicalJSON(params)
	if err != nil || bytes.Equal(b, got) {
		return nil
	}
	var w, g map[string]any
	if json.Unmarshal(b, &w) != nil || json.Unmarshal(got, &g) != nil {
		return []string{"the study asks for other parameters"}
	}
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	// Keys the wanted set lacks are filled in by the runner from the
	// dataset or the upstream runs (summarize's provenance): not the
	// study's to ask for.
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		wb, _ := json.Marshal(w[k])
		gb, _ := json.Marshal(g[k])
		if !bytes.Equal(wb, gb) {
			out = append(out, fmt.Sprintf("the study asks for %s %s, the run has %s", k, wb, gb))
		}
	}
	return out
}

// completedParams completes a run's recorded parameters again, for a stage
// whose parameters the runner fills in from the descriptor and the upstream
// runs, and reports whether the result differs from the record.
func (r *Runner) completedParams(def stageDef, desc datasets.Descriptor, recorded json.RawMessage, inputs []store.InputRef) (json.RawMessage, bool, error) {
	if def.decodeParams == nil {
		return nil, false, nil
	}
	p, err := def.decodeParams(recorded)
	if err != nil {
		return nil, false, err
	}
	if def.withDescriptor != nil {
		p = def.withDescriptor(p, desc)
	}
	if def.withInputs != nil {
		if p, err = def.withInputs(r.WS, p, desc, inputs); err != nil {
			return nil, false, err
		}
	}
	raw, err := store.CanonicalJSON(p)
	if err != nil {
		return nil, false, err
	}
	old, err := store.CanonicalJSON(recorded)
	if err != nil {
		return nil, false, err
	}
	return raw, !bytes.Equal(raw, old), nil
}

// recordedMedia says whether a fetch run was made with --media (its
// recorded parameters), so that status plans its inputs the same way.
func recordedMedia(def stageDef, raw json.RawMessage) bool {
	if def.name != fetch.Name {
		return false
	}
	p, err := decode(raw, fetch.DefaultParams())
	return err == nil && p.Media
}
