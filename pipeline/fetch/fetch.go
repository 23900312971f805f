// Package fetch is the first stage: it lands the files of a release in the
// workspace's content-addressed source store and writes sources.json, the
// list of what it landed (name, role, sha256, bytes).
//
// In this version a synthetic release (the demo) is produced by the generator
// exactly as a download would land; releases with published files are read
// from a local folder (--from) until downloading is implemented.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/pipeline/store"
	"github.com/takedown-research/takedown/pipeline/synth"
)

// Name is the stage name.
const Name = "fetch"

// Version is the stage version.
const Version = 1

// Errors of fetch, mapped to exit codes by the CLI.
var (
	// ErrNoSource means the release cannot be fetched from what was given.
	ErrNoSource = errors.New("no source for dataset")
	// ErrDigestMismatch means a file's bytes differ from the digest the
	// registry or a local descriptor pinned.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// Params are the fetch parameters. Fetch has none that change its output:
// the descriptor (and its digest) says what the release is.
type Params struct{}

// DefaultParams returns the defaults.
func DefaultParams() Params { return Params{} }

// Validate checks the parameters.
func (p Params) Validate() error { return nil }

// Input is what fetch needs: the descriptor, the workspace to land files in
// and, optionally, a local folder holding the release's files.
type Input struct {
	Descriptor datasets.Descriptor
	Workspace  *store.Workspace
	FromDir    string
}

// Stats lists the files landed.
type Stats struct {
	Files []store.SourceFile `json:"files"`
	Bytes int64              `json:"bytes"`
}

// Run lands every file of the release in the source store and writes
// outDir/sources.json.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	var list store.SourceList
	var err error
	switch {
	case len(in.Descriptor.Synth) > 0:
		list, err = generate(ctx, in, log)
	case in.FromDir != "" || in.Descriptor.HasPaths():
		list, err = importDir(ctx, in, log)
	default:
		return Stats{}, fmt.Errorf("%w %s: downloading is not available in this version; put the files %s in a folder and use --from DIR",
			ErrNoSource, in.Descriptor.Name, fileNames(in.Descriptor))
	}
	if err != nil {
		return Stats{}, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if err := store.WriteSourceList(filepath.Join(outDir, store.SourceListName), list); err != nil {
		return Stats{}, err
	}
	st := Stats{Files: list}
	for _, f := range list {
		st.Bytes += f.Bytes
	}
	return st, nil
}

func fileNames(d datasets.Descriptor) []string {
	var out []string
	for _, f := range d.Files {
		out = append(out, f.Name)
	}
	return out
}

func generate(ctx context.Context, in Input, log *slog.Logger) (store.SourceList, error) {
	cfg := synth.DefaultConfig()
	if err := json.Unmarshal(in.Descriptor.Synth, &cfg); err != nil {
		return nil, fmt.Errorf("dataset %s: generator config: %w", in.Descriptor.Name, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dataset %s: generator config: %w", in.Descriptor.Name, err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(in.Workspace.Root, "tmp"), "synth-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrWorkspace, err)
	}
	defer os.RemoveAll(tmp)
	files, err := synth.Write(ctx, cfg, tmp)
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", in.Descriptor.Name, err)
	}
	var list store.SourceList
	for _, f := range files {
		sf, err := land(in.Workspace, filepath.Join(tmp, f.Name), f.Name, f.Role)
		if err != nil {
			return nil, err
		}
		log.Debug("landed", "file", f.Name, "sha256", sf.SHA256, "bytes", sf.Bytes)
		list = append(list, sf)
	}
	return list, nil
}

func importDir(ctx context.Context, in Input, log *slog.Logger) (store.SourceList, error) {
	var list store.SourceList
	for _, f := range in.Descriptor.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := FilePath(f, in.FromDir)
		sf, err := land(in.Workspace, p, f.Name, f.Role)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrNoSource, in.Descriptor.Name, err)
		}
		if f.SHA256 != "" && f.SHA256 != sf.SHA256 {
			return nil, fmt.Errorf("%w: %s has sha256 %s, the descriptor of %s pins %s: these are not the bytes that were described (a publisher may have re-issued the file)",
				ErrDigestMismatch, p, sf.SHA256, in.Descriptor.Name, f.SHA256)
		}
		log.Debug("imported", "file", p, "sha256", sf.SHA256)
		list = append(list, sf)
	}
	return list, nil
}

func land(ws *store.Workspace, path, name, role string) (store.SourceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.SourceFile{}, err
	}
	defer f.Close()
	digest, n, err := ws.PutSource(f)
	if err != nil {
		return store.SourceFile{}, fmt.Errorf("land %s: %w", path, err)
	}
	return store.SourceFile{Name: name, Role: role, SHA256: digest, Bytes: n}, nil
}

// FilePath is where a release file is read from: the --from folder when one
// is given, else the path a local descriptor recorded.
func FilePath(f datasets.File, fromDir string) string {
	if fromDir != "" || f.Path == "" {
		return filepath.Join(fromDir, f.Name)
	}
	return f.Path
}
