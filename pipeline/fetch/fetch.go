// Package fetch is the first stage: it lands the files of a release in the
// workspace's content-addressed source store and writes sources.json, the
// list of what it landed (name, role, sha256, bytes).
//
// Files come from the generator (the synthetic demo, landed exactly as a
// download would), from a local folder (--from-dir, or the paths a local
// descriptor recorded), or are downloaded from their URLs with resume and
// retries (download.go). Every file is verified against the sha256 the
// registry or a local descriptor pins, or else against the trust-on-first-use
// pin takedown.lock holds from the file's first fetch; every zip or gzip file
// is checked with the archive package before it lands.
package fetch

import (
	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/progress"

	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/synth"
)

// Name is the stage name.
const Name = "fetch"

// Version is the stage version.
const Version = 1

// Errors of fetch, mapped to exit codes by the CLI.
var (
	// ErrNoSource means the release cannot be fetched from what was given.
	ErrNoSource = errkind.New(errkind.BadInput, "no source for dataset")
	// ErrDigestMismatch means a file's bytes differ from the digest the
	// registry or a local descriptor pinned.
	ErrDigestMismatch = errkind.New(errkind.BadInput, "digest mismatch")
	// ErrBadArchive means a landed zip or gzip file is corrupt or unsafe
	// (path traversal, symlinks out, a zip bomb).
	ErrBadArchive = errkind.New(errkind.BadInput, "bad archive")
)

// Params are the fetch parameters: the descriptor (and its digest) says
// what the release is, Media whether its media archives are landed too.
type Params struct {
	// Media lands the files of role media (the release's media archives,
	// often hundreds of gigabytes); without it they are left out. Omitted
	// from the JSON form when false, so fetch run ids without it are those
	// of the stage before the flag existed.
	Media bool `json:"media,omitempty"`
}

// DefaultParams returns the defaults.
func DefaultParams() Params { return Params{} }

// WithLocalMedia turns Media on for a release whose media is at hand: a
// local dataset (`takedown datasets add`, every file a path) that lists
// media archives, or a generated one whose generator config asks for media
// (the demo). Registry releases keep Media off unless asked (`--media`):
// their media archives are downloads of up to hundreds of gigabytes. A
// release without media archives keeps the parameters, hence the run ids,
// it had before.
func WithLocalMedia(p Params, d datasets.Descriptor) Params {
	switch {
	case p.Media:
	case len(d.Synth) > 0:
		var cfg struct {
			Media *struct {
				Archives int `json:"archives"`
			} `json:"media"`
		}
		p.Media = json.Unmarshal(d.Synth, &cfg) == nil && cfg.Media != nil && cfg.Media.Archives > 0
	case d.Local:
		p.Media = hasMedia(d.Files)
	}
	return p
}

// Validate checks the parameters.
func (p Params) Validate() error { return nil }

// Input is what fetch needs: the descriptor, the workspace to land files in
// and, optionally, a local folder holding the release's files.
type Input struct {
	Descriptor datasets.Descriptor
	Workspace  *store.Workspace
	FromDir    string
	// Pins are the trust-on-first-use digests takedown.lock holds for this
	// dataset (file -> sha256); nil when there are none (or on --repin).
	Pins map[string]string
	// Download says how to download (mirror, retries, progress...).
	Download DownloadOptions
	// Progress counts the bytes downloaded, imported or generated into the
	// source store; nil counts nothing.
	Progress progress.Meter
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
	if !p.Media {
		in.Descriptor.Files = withoutMedia(in.Descriptor.Files)
	} else if len(in.Descriptor.Synth) == 0 && !hasMedia(in.Descriptor.Files) {
		log.Warn("--media: the descriptor lists no media archives (add them with takedown datasets add)", "dataset", in.Descriptor.Name)
	}
	switch {
	case len(in.Descriptor.Synth) > 0:
		list, err = generate(ctx, in, p.Media, log)
	case in.FromDir != "" || in.Descriptor.HasPaths():
		list, err = importDir(ctx, in, log)
	case len(in.Descriptor.Files) == 0:
		return Stats{}, fmt.Errorf("%w %s: the descriptor lists no files", ErrNoSource, in.Descriptor.Name)
	default:
		list, err = download(ctx, in, log)
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

// withoutMedia leaves out the files of role media.
func withoutMedia(files []datasets.File) []datasets.File {
	var out []datasets.File
	for _, f := range files {
		if f.Role != datasets.RoleMedia {
			out = append(out, f)
		}
	}
	return out
}

func hasMedia(files []datasets.File) bool {
	return len(files) != len(withoutMedia(files))
}

func fileNames(d datasets.Descriptor) []string {
	var out []string
	for _, f := range d.Files {
		out = append(out, f.Name)
	}
	return out
}

func generate(ctx context.Context, in Input, media bool, log *slog.Logger) (store.SourceList, error) {
	cfg := synth.DefaultConfig()
	if err := json.Unmarshal(in.Descriptor.Synth, &cfg); err != nil {
		return nil, fmt.Errorf("dataset %s: generator config: %w", in.Descriptor.Name, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dataset %s: generator config: %w", in.Descriptor.Name, err)
	}
	tmp, err := in.Workspace.TempDir("synth-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	files, err := synth.WriteExcept(ctx, cfg, tmp, func(f synth.File) bool { return f.Role == synth.RoleMedia && !media })
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", in.Descriptor.Name, err)
	}
	m := progress.Or(in.Progress)
	var total int64
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(tmp, f.Name)); err == nil {
			total += st.Size()
		}
	}
	m.Phase("land", progress.Bytes, total)
	var list store.SourceList
	for _, f := range files {
		sf, err := land(in.Workspace, filepath.Join(tmp, f.Name), f.Name, f.Role, m)
		if err != nil {
			return nil, err
		}
		log.Debug("landed", "file", f.Name, "sha256", sf.SHA256, "bytes", sf.Bytes)
		list = append(list, sf)
	}
	return list, nil
}

func importDir(ctx context.Context, in Input, log *slog.Logger) (store.SourceList, error) {
	m := progress.Or(in.Progress)
	m.Phase("import", progress.Bytes, knownBytes(in.Descriptor.Files))
	var list store.SourceList
	for _, f := range in.Descriptor.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want, wantFrom := expected(in, f)
		p, err := FindFile(f, in.FromDir, want)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrNoSource, in.Descriptor.Name, err)
		}
		if err := checkArchive(p, f); err != nil {
			return nil, err
		}
		sf, err := land(in.Workspace, p, f.Name, f.Role, m)
		if err != nil && isDiskFull(err) {
			return nil, fmt.Errorf("%w: disk full: %w; free space in the workspace (or use another --workspace) and fetch again", store.ErrWorkspace, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrNoSource, in.Descriptor.Name, err)
		}
		if want != "" && want != sf.SHA256 {
			return nil, mismatch(in.Descriptor.Name, f.Name, p, sf.SHA256, want, wantFrom)
		}
		log.Debug("imported", "file", p, "sha256", sf.SHA256)
		list = append(list, sf)
	}
	return list, nil
}

// expected is the digest a file must have and who pinned it: the registry
// or local descriptor, else takedown.lock (trust on first use), else none.
func expected(in Input, f datasets.File) (digest, from string) {
	if f.SHA256 != "" {
		if in.Descriptor.Local {
			return f.SHA256, "the local descriptor"
		}
		return f.SHA256, "the registry"
	}
	if d, ok := in.Pins[f.Name]; ok {
		return d, "takedown.lock (first fetch)"
	}
	return "", ""
}

// mismatch is the loud error for bytes that differ from a pinned digest.
func mismatch(dataset, file, where, got, want, from string) error {
	msg := fmt.Sprintf("%v: %s (%s) of %s has sha256 %s, but %s pins %s: these are not the bytes that were described",
		ErrDigestMismatch, file, where, dataset, got, from, want)
	if from == "takedown.lock (first fetch)" {
		msg += ". THE PUBLISHER CHANGED THE FILE since this workspace first fetched it (Twitter re-issued the IRA files in February 2019)." +
			" Results computed from the old bytes stay valid for them. To accept the new bytes, run: takedown fetch --repin " + dataset +
			"; to keep the old ones, bring them with --from-dir DIR"
	} else {
		msg += " (a publisher may have re-issued the file, or the download is damaged)"
	}
	return &mismatchError{msg: msg}
}

type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }
func (e *mismatchError) Unwrap() error { return ErrDigestMismatch }

// checkArchive checks a zip or gzip file with the archive package, and that
// a zip holds the inner file the descriptor names.
func checkArchive(p string, f datasets.File) error {
	lim := archive.DefaultLimits()
	if f.Role == datasets.RoleMedia {
		lim = archive.MediaLimits()
	}
	entries, err := archive.Check(p, lim)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadArchive, f.Name, err)
	}
	if f.Inner != "" && entries != nil {
		if _, err := archive.Match(entries, f.Inner); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadArchive, f.Name, err)
		}
	}
	return nil
}

// FindFile finds a release file in a folder of files downloaded by hand: the
// published name, else a name that only adds a prefix (downloads often
// flatten folders into the name: 2019_01_iran_201901_1_users_csv_hashed.zip),
// else the one file with the pinned digest. Without a folder it is the path
// a local descriptor recorded.
func FindFile(f datasets.File, dir, digest string) (string, error) {
	p := FilePath(f, dir)
	if _, err := os.Stat(p); err == nil || dir == "" {
		return p, err
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var cands []string
	for _, e := range es {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), "_"+f.Name) || strings.HasSuffix(e.Name(), "-"+f.Name)) {
			cands = append(cands, filepath.Join(dir, e.Name()))
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	if digest != "" {
		for _, e := range es {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				q := filepath.Join(dir, e.Name())
				if d, _, err := store.FileDigest(q); err == nil && d == digest {
					return q, nil
				}
			}
		}
	}
	if len(cands) > 1 {
		return "", fmt.Errorf("%s: several files could be %s: %s; keep one", dir, f.Name, strings.Join(cands, ", "))
	}
	return "", fmt.Errorf("%s: no file %s (nor one ending in _%s or with its pinned digest)", dir, f.Name, f.Name)
}

func land(ws *store.Workspace, path, name, role string, m progress.Meter) (store.SourceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.SourceFile{}, err
	}
	defer f.Close()
	digest, n, err := ws.PutSource(progress.Reader(f, m))
	if err != nil {
		return store.SourceFile{}, fmt.Errorf("land %s: %w", path, err)
	}
	return store.SourceFile{Name: name, Role: role, SHA256: digest, Bytes: n}, nil
}

// knownBytes is the sum of the files' sizes the descriptor gives, or -1
// when it lacks one.
func knownBytes(files []datasets.File) int64 {
	var n int64
	for _, f := range files {
		if f.Bytes <= 0 {
			return -1
		}
		n += f.Bytes
	}
	return n
}

// FilePath is where a release file is read from: the --from-dir folder when one
// is given, else the path a local descriptor recorded.
func FilePath(f datasets.File, fromDir string) string {
	if fromDir != "" || f.Path == "" {
		return filepath.Join(fromDir, f.Name)
	}
	return f.Path
}
