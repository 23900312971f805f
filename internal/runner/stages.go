package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fetch"
	"github.com/takedown-research/takedown/pipeline/fingerprint"
	"github.com/takedown-research/takedown/pipeline/normalize"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

// Stages lists the stage names in pipeline order.
var Stages = []string{fetch.Name, normalize.Name, fingerprint.Name, cluster.Name, summarize.Name}

// Params holds the parameters of every stage.
type Params struct {
	Fetch       fetch.Params
	Normalize   normalize.Params
	Fingerprint fingerprint.Params
	Cluster     cluster.Params
	Summarize   summarize.Params
}

// DefaultParams returns every stage's defaults.
func DefaultParams() Params {
	return Params{
		Fetch:       fetch.DefaultParams(),
		Normalize:   normalize.DefaultParams(),
		Fingerprint: fingerprint.DefaultParams(),
		Cluster:     cluster.DefaultParams(),
		Summarize:   summarize.DefaultParams(),
	}
}

// Validate checks every stage's parameters.
func (p Params) Validate() error {
	for _, v := range []interface{ Validate() error }{p.Fetch, p.Normalize, p.Fingerprint, p.Cluster, p.Summarize} {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
	}
	return nil
}

// execEnv is everything a stage execution gets.
type execEnv struct {
	ws      *store.Workspace
	desc    datasets.Descriptor
	params  json.RawMessage
	inputs  []store.InputRef
	outDir  string
	fromDir string
	fx      execExtra
	log     *slog.Logger
	// self is the id of the run being computed (the staging directory's
	// name differs when verify recomputes it).
	self string
	// meter counts the stage's progress; nil when nothing reports it.
	meter progress.Meter
}

// runID returns the run id of the upstream run an input comes from.
func (e *execEnv) runID(name string) string {
	for _, in := range e.inputs {
		if in.Name == name {
			return in.RunID
		}
	}
	return "(unknown)"
}

// fingerprintParams returns the parameters of the fingerprint run whose
// table the cluster run reads, from its manifest.
func (e *execEnv) fingerprintParams() (fingerprint.Params, string, error) {
	id := e.runID(up(fingerprint.Name, schema.TableFingerprints))
	m, err := store.ReadManifest(e.ws.RunDir(e.desc.Name, fingerprint.Name, id))
	if err != nil {
		return fingerprint.Params{}, id, err
	}
	fp, err := decode(m.Params, fingerprint.DefaultParams())
	return fp, id, err
}

// clusterInput returns the cluster stage's input: the fingerprints table
// and, for near_text, the shingle size its fingerprint run hashed (the
// cluster stage verifies candidates on the same shingles). It refuses a
// cluster run that reads keys its fingerprint run was made without, naming
// that run: MinHash band keys for the near_text signal, the toolkit's keys
// for --compat cnt.
func (e *execEnv) clusterInput(path string, p cluster.Params) (cluster.Input, error) {
	in := cluster.Input{FingerprintsPath: path, Resources: e.fx.resources}
	nearText := slices.Contains(p.Signals, cluster.SignalNearText)
	toolkit := p.Compat == cluster.CompatToolkit
	if !nearText && !toolkit {
		return in, nil
	}
	fp, id, err := e.fingerprintParams()
	if err != nil {
		return in, err
	}
	if nearText && !fp.MinHash {
		return in, fmt.Errorf("%w: near_text needs MinHash band keys, and fingerprint run %s was made without them: run `takedown run --from fingerprint --signals ...,near_text %s` (the same --signals computes them)",
			ErrUpstream, id, e.desc.Name)
	}
	if toolkit && !fp.Toolkit {
		return in, fmt.Errorf("%w: --compat cnt needs the toolkit's text and URL keys, and fingerprint run %s was made without them: run `takedown run --from fingerprint --compat cnt %s` (the same --compat computes them)",
			ErrUpstream, id, e.desc.Name)
	}
	if nearText {
		in.ShingleSize = fp.ShingleSize
	}
	return in, nil
}

// clusterRun returns the cluster stage's parameters and input.
func (e *execEnv) clusterRun() (cluster.Params, cluster.Input, error) {
	p, err := decode(e.params, cluster.DefaultParams())
	if err != nil {
		return p, cluster.Input{}, err
	}
	fp, err := e.path(up(fingerprint.Name, schema.TableFingerprints))
	if err != nil {
		return p, cluster.Input{}, err
	}
	in, err := e.clusterInput(fp, p)
	in.Progress = e.meter
	if img, perr := e.path(up(fingerprint.Name, schema.TableImageFingerprints)); perr == nil {
		in.ImageFingerprintsPath = img
	}
	return p, in, err
}

// clusterErr names the fingerprint run the cluster stage refuses.
func (e *execEnv) clusterErr(err error) error {
	if errors.Is(err, cluster.ErrNormalizerVersion) {
		return fmt.Errorf("%w: cluster stage version %d refuses fingerprint run %s (run `takedown fingerprint` again): %v",
			ErrUpstream, cluster.Version, e.runID(up(fingerprint.Name, schema.TableFingerprints)), err)
	}
	return err
}

// path returns where an input's bytes are.
func (e *execEnv) path(name string) (string, error) {
	for _, in := range e.inputs {
		if in.Name == name {
			return inputPath(e.ws, e.desc.Name, in), nil
		}
	}
	return "", fmt.Errorf("internal: input %s not planned", name)
}

func inputPath(ws *store.Workspace, dataset string, in store.InputRef) string {
	if strings.HasPrefix(in.Name, sourcePrefix) || strings.HasPrefix(in.Name, importPrefix) {
		return ws.SourcePath(in.SHA256)
	}
	stage, file, _ := strings.Cut(in.Name, "/")
	return filepath.Join(ws.RunDir(dataset, stage, in.RunID), file)
}

const (
	sourcePrefix     = "source/"
	descriptorPrefix = "descriptor/"
	importPrefix     = "import/"
)

// stageDef binds a stage package to the runner.
type stageDef struct {
	name    string
	version int
	params  func(Params) any
	// withDescriptor, when set, completes the parameters with figures from
	// the dataset's descriptor, so that they enter the run id.
	withDescriptor func(params any, d datasets.Descriptor) any
	// withInputs, when set, completes the parameters from the planned
	// inputs (the manifests of the upstream runs), so that they enter the
	// run id too.
	withInputs func(ws *store.Workspace, params any, d datasets.Descriptor, inputs []store.InputRef) (any, error)
	// completeWanted says that status completes the parameters a study
	// wants with withInputs (over the run's inputs) before comparing them
	// with a run's: the cluster stage drops the image signals for a
	// dataset without image fingerprints.
	completeWanted bool
	// decodeParams decodes recorded parameters (status completes them again
	// with withDescriptor and withInputs to see whether they still hold).
	decodeParams func(raw json.RawMessage) (any, error)
	// reads names the upstream (stage, file) pairs the stage reads; fetch
	// and normalize plan their inputs specially.
	reads []string
	// optional names upstream (stage, file) pairs the stage reads when the
	// current upstream run wrote them (the media tables), and mediaSources
	// adds the normalize run's zip sources when it wrote a media table (the
	// media archives whose entries the stage reads): a dataset without
	// media plans the same inputs, hence the same run id, as before.
	optional     []string
	mediaSources bool
	exec         func(ctx context.Context, e *execEnv) (any, error)
	// shard, when set, computes shard i of n of the run into e.outDir and
	// returns what the merge needs besides the files; merge makes the run
	// from the published shards (the bytes and stats exec makes).
	shard func(ctx context.Context, e *execEnv, i, n int) (any, error)
	merge func(ctx context.Context, e *execEnv, shards []*store.Shard) (any, error)
}

func decode[T any](raw json.RawMessage, def T) (T, error) {
	if len(raw) == 0 {
		return def, nil
	}
	if err := json.Unmarshal(raw, &def); err != nil {
		return def, fmt.Errorf("decode params: %w", err)
	}
	return def, nil
}

func up(stage, table string) string { return stage + "/" + table + ".parquet" }

var defs = []stageDef{
	{
		name: fetch.Name, version: fetch.Version,
		params: func(p Params) any { return p.Fetch },
		withDescriptor: func(p any, d datasets.Descriptor) any {
			return fetch.WithLocalMedia(p.(fetch.Params), d)
		},
		exec: func(ctx context.Context, e *execEnv) (any, error) {
			p, err := decode(e.params, fetch.DefaultParams())
			if err != nil {
				return nil, err
			}
			return fetch.Run(ctx, fetch.Input{Descriptor: e.desc, Workspace: e.ws, FromDir: e.fromDir, Pins: e.fx.pins, Download: e.fx.download, Progress: e.meter}, p, e.outDir, e.log)
		},
	},
	{
		name: normalize.Name, version: normalize.Version,
		params: func(p Params) any { return p.Normalize },
		withDescriptor: func(p any, d datasets.Descriptor) any {
			return normalize.WithFormatHint(p.(normalize.Params), d.Format, d.Map)
		},
		exec: func(ctx context.Context, e *execEnv) (any, error) {
			p, in, err := e.normalizeRun()
			if err != nil {
				return nil, err
			}
			return normalize.Run(ctx, in, p, e.outDir, e.log)
		},
		shard: normalizeShard,
		merge: normalizeMerge,
	},
	{
		name: fingerprint.Name, version: fingerprint.Version,
		params:       func(p Params) any { return p.Fingerprint },
		reads:        []string{up(normalize.Name, schema.TablePosts)},
		optional:     []string{up(normalize.Name, schema.TableMedia)},
		mediaSources: true,
		exec: func(ctx context.Context, e *execEnv) (any, error) {
			p, in, err := e.fingerprintRun()
			if err != nil {
				return nil, err
			}
			return fingerprint.Run(ctx, in, p, e.outDir, e.log)
		},
		shard: fingerprintShard,
		merge: fingerprintMerge,
	},
	{
		name: cluster.Name, version: cluster.Version,
		params:         func(p Params) any { return p.Cluster },
		reads:          []string{up(fingerprint.Name, schema.TableFingerprints)},
		optional:       []string{up(fingerprint.Name, schema.TableImageFingerprints)},
		withInputs:     clusterImages,
		completeWanted: true,
		exec: func(ctx context.Context, e *execEnv) (any, error) {
			p, in, err := e.clusterRun()
			if err != nil {
				return nil, err
			}
			st, err := cluster.Run(ctx, in, p, e.outDir, e.log)
			return st, e.clusterErr(err)
		},
		shard: clusterShard,
		merge: clusterMerge,
	},
	{
		name: summarize.Name, version: summarize.Version,
		params: func(p Params) any { return p.Summarize },
		withDescriptor: func(p any, d datasets.Descriptor) any {
			sp := p.(summarize.Params)
			sp.Published = d.Published
			return sp
		},
		withInputs: summarizeProvenance,
		decodeParams: func(raw json.RawMessage) (any, error) {
			p, err := decode(raw, summarize.DefaultParams())
			p.Published, p.Provenance, p.ClusterRun = nil, nil, nil
			return p, err
		},
		reads: []string{
			up(normalize.Name, schema.TableAccounts), up(normalize.Name, schema.TablePosts),
			up(normalize.Name, schema.TableRejects), up(fingerprint.Name, schema.TableFingerprints),
			up(cluster.Name, schema.TableEdges), up(cluster.Name, schema.TableClusters),
			up(cluster.Name, schema.TablePairScores),
		},
		optional:     []string{up(fingerprint.Name, schema.TableImageFingerprints), up(normalize.Name, schema.TableMedia)},
		mediaSources: true,
		exec: func(ctx context.Context, e *execEnv) (any, error) {
			p, err := decode(e.params, summarize.DefaultParams())
			if err != nil {
				return nil, err
			}
			in := summarize.Input{Dataset: e.desc.Name, RunID: e.self, RunVersion: stageDef{version: summarize.Version}.runVersion(), Progress: e.meter}
			for _, f := range []struct {
				dst  *string
				name string
			}{
				{&in.AccountsPath, up(normalize.Name, schema.TableAccounts)},
				{&in.PostsPath, up(normalize.Name, schema.TablePosts)},
				{&in.RejectsPath, up(normalize.Name, schema.TableRejects)},
				{&in.FingerprintsPath, up(fingerprint.Name, schema.TableFingerprints)},
				{&in.EdgesPath, up(cluster.Name, schema.TableEdges)},
				{&in.ClustersPath, up(cluster.Name, schema.TableClusters)},
				{&in.PairScoresPath, up(cluster.Name, schema.TablePairScores)},
			} {
				if *f.dst, err = e.path(f.name); err != nil {
					return nil, err
				}
			}
			if img, err := e.path(up(fingerprint.Name, schema.TableImageFingerprints)); err == nil {
				mi, err := e.imageInput()
				if err != nil {
					return nil, err
				}
				in.Images = summarize.ImageInput{ImageFingerprintsPath: img, MediaPath: mi.MediaPath, Archives: mi.Archives}
			}
			return summarize.Run(ctx, in, p, e.outDir, e.log)
		},
	},
}

func defOf(name string) (stageDef, bool) {
	for _, d := range defs {
		if d.name == name {
			return d, true
		}
	}
	return stageDef{}, false
}

// summarizeProvenance fills in summarize's Params.Provenance: the dataset
// and its citation from the descriptor, and from the manifests of the
// normalize, fingerprint and cluster runs it reads their run ids, run
// versions and parameters, the archive files normalize read, and the flags
// of `takedown run` that give all the parameters.
func summarizeProvenance(ws *store.Workspace, params any, d datasets.Descriptor, inputs []store.InputRef) (any, error) {
	sp := params.(summarize.Params)
	pv := &summarize.Provenance{Dataset: summarize.DatasetInfo{
		Title: d.Title, Publisher: d.Publisher, ReleaseDate: d.ReleaseDate, Licence: d.Licence,
		Citation: d.Citation, BibTeX: d.BibTeX(),
	}}
	all := DefaultParams()
	all.Summarize = sp
	for _, stage := range []string{normalize.Name, fingerprint.Name, cluster.Name} {
		id := ""
		for _, in := range inputs {
			if strings.HasPrefix(in.Name, stage+"/") {
				id = in.RunID
				break
			}
		}
		if id == "" {
			return nil, fmt.Errorf("internal: summarize reads no %s table", stage)
		}
		m, err := store.ReadManifest(ws.RunDir(d.Name, stage, id))
		if err != nil {
			return nil, err
		}
		pv.Upstream = append(pv.Upstream, summarize.UpstreamRun{Stage: stage, RunID: id, RunVersion: m.RunVersion, Params: m.Params})
		switch stage {
		case normalize.Name:
			for _, in := range m.Inputs {
				if name, ok := strings.CutPrefix(in.Name, sourcePrefix); ok {
					pv.Sources = append(pv.Sources, summarize.SourceFile{Name: name, SHA256: in.SHA256, Bytes: in.Bytes})
				}
			}
			all.Normalize, err = decode(m.Params, all.Normalize)
		case fingerprint.Name:
			all.Fingerprint, err = decode(m.Params, all.Fingerprint)
		case cluster.Name:
			// A run without image signals records no "images": decode
			// onto parameters without them, so that it stays nil.
			all.Cluster, err = decode(m.Params, cluster.WithoutImages(all.Cluster))
			if err == nil {
				sp.ClusterRun, err = clusterRun(m, all.Cluster)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s run %s: %w", stage, id, err)
		}
	}
	pv.RunArgs = RunArgs(all, d)
	if pv.RunArgs == nil {
		pv.RunArgs = []string{}
	}
	sp.Provenance = pv
	return sp, nil
}
