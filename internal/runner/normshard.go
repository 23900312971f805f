package runner

import (
	"context"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// normalizeRun returns the normalize stage's parameters and input: the
// fetched source files, the media archives apart.
func (e *execEnv) normalizeRun() (normalize.Params, normalize.Input, error) {
	p, err := decode(e.params, normalize.DefaultParams())
	if err != nil {
		return p, normalize.Input{}, err
	}
	in := normalize.Input{Dataset: e.desc.Name, Progress: e.meter}
	for _, ref := range e.inputs {
		if name, ok := strings.CutPrefix(ref.Name, sourcePrefix); ok {
			// Archives are read whole: on object storage they
			// are downloaded to the local staging cache first.
			path, err := e.ws.Local(inputPath(e.ws, e.desc.Name, ref))
			if err != nil {
				return p, in, err
			}
			f := normalize.SourceFile{Name: name, Path: path}
			if e.desc.RoleOfFile(name) == datasets.RoleMedia {
				in.Media = append(in.Media, f)
			} else {
				in.Files = append(in.Files, f)
			}
		}
	}
	return p, in, nil
}

func normalizeShard(ctx context.Context, e *execEnv, i, n int) (any, error) {
	p, in, err := e.normalizeRun()
	if err != nil {
		return nil, err
	}
	in.Media = nil // the media table is written by the merge
	return normalize.RunShard(ctx, in, p, i, n, e.outDir, e.log)
}

func normalizeMerge(ctx context.Context, e *execEnv, shards []*store.Shard) (any, error) {
	p, in, err := e.normalizeRun()
	if err != nil {
		return nil, err
	}
	metas, err := shardMetas[normalize.ShardMeta](shards)
	if err != nil {
		return nil, err
	}
	inputs := make([]normalize.ShardInput, len(shards))
	for i, s := range shards {
		inputs[i] = normalize.ShardInput{Dir: s.Dir, Meta: metas[i]}
	}
	return normalize.Merge(ctx, in, p, inputs, e.outDir, e.log)
}
