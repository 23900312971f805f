package runner

import (
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
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
// table and the zips it names, when the stage's inputs have them.
func (e *execEnv) imageInput() fingerprint.ImageInput {
	var in fingerprint.ImageInput
	for _, ref := range e.inputs {
		switch {
		case ref.Name == up(normalize.Name, schema.TableMedia):
			in.MediaPath = inputPath(e.ws, e.desc.Name, ref)
		case strings.HasPrefix(ref.Name, sourcePrefix):
			if in.Archives == nil {
				in.Archives = map[string]string{}
			}
			in.Archives[strings.TrimPrefix(ref.Name, sourcePrefix)] = inputPath(e.ws, e.desc.Name, ref)
		}
	}
	if in.MediaPath == "" {
		return fingerprint.ImageInput{}
	}
	return in
}
