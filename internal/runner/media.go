package runner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// planOptional lists the optional inputs of a stage (stageDef.optional,
// stageDef.mediaSources) that the current upstream runs have.
func (r *Runner) planOptional(lock *store.Lock, desc datasets.Descriptor, def stageDef) ([]store.InputRef, error) {
	var refs []store.InputRef
	media := false
	for _, name := range def.optional {
		stage, file, _ := strings.Cut(name, "/")
		e, ok := lock.Entry(desc.Name, stage)
		if !ok {
			continue
		}
		d, ok := e.Outputs[file]
		if !ok {
			continue
		}
		refs = append(refs, store.InputRef{Name: name, SHA256: d, RunID: e.RunID})
		if name == up(normalize.Name, schema.TableMedia) {
			media = true
		}
	}
	if !def.mediaSources || !media {
		return refs, nil
	}
	e, _ := lock.Entry(desc.Name, normalize.Name)
	m, err := store.ReadManifest(r.WS.RunDir(desc.Name, normalize.Name, e.RunID))
	if err != nil {
		return nil, err
	}
	for _, in := range m.Inputs {
		if strings.HasPrefix(in.Name, sourcePrefix) && strings.HasSuffix(strings.ToLower(in.Name), ".zip") {
			refs = append(refs, in)
		}
	}
	return refs, nil
}

// imageInput returns the media the fingerprint stage hashes: the media
// table and the zips it names, when the stage's inputs have them. The zips
// are read as files: on object storage they are downloaded to the local
// staging cache first, as normalize's archives are.
func (e *execEnv) imageInput() (fingerprint.ImageInput, error) {
	var in fingerprint.ImageInput
	var zips []store.InputRef
	for _, ref := range e.inputs {
		switch {
		case ref.Name == up(normalize.Name, schema.TableMedia):
			in.MediaPath = inputPath(e.ws, e.desc.Name, ref)
		case strings.HasPrefix(ref.Name, sourcePrefix):
			zips = append(zips, ref)
		}
	}
	if in.MediaPath == "" {
		return fingerprint.ImageInput{}, nil
	}
	for _, ref := range zips {
		p, err := e.ws.Local(inputPath(e.ws, e.desc.Name, ref))
		if err != nil {
			return fingerprint.ImageInput{}, err
		}
		if in.Archives == nil {
			in.Archives = map[string]string{}
		}
		in.Archives[strings.TrimPrefix(ref.Name, sourcePrefix)] = p
	}
	return in, nil
}

// clusterImages completes the cluster stage's parameters from its inputs:
// without image fingerprints (the fingerprint run had no media table) the
// image signals and their parameters are dropped (cluster.WithoutImages),
// so that such a run's parameters and run id are those of a cluster stage
// without image signals. Asking for image signals only is then an error.
func clusterImages(_ *store.Workspace, params any, d datasets.Descriptor, inputs []store.InputRef) (any, error) {
	p := params.(cluster.Params)
	for _, in := range inputs {
		if in.Name == up(fingerprint.Name, schema.TableImageFingerprints) {
			return p, nil
		}
	}
	if len(p.Signals) > 0 && !slices.ContainsFunc(p.Signals, func(s string) bool { return !cluster.IsImageSignal(s) }) {
		return nil, fmt.Errorf("%w: --signals %s: these signals read image fingerprints, and the fingerprint run of %s has none (its normalize run has no media table)",
			ErrUsage, strings.Join(p.Signals, ","), d.Name)
	}
	return cluster.WithoutImages(p), nil
}
