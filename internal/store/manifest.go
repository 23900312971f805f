package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
)

// ManifestVersion is the version of the manifest.json format.
const ManifestVersion = 1

// ManifestName is the file name of a run's manifest.
const ManifestName = "manifest.json"

// Code version and VCS revision of the binary, injected at build time with
//
//	-ldflags "-X github.com/takedown-research/takedown/internal/store.CodeVersion=v0.1.0
//	          -X github.com/takedown-research/takedown/internal/store.Revision=$(git rev-parse HEAD)"
//
// They are provenance only and never enter a run id.
var (
	CodeVersion = "dev"
	Revision    = "unknown"
)

// InputRef is one input of a run: a file read by the stage.
type InputRef struct {
	Name   string `json:"name"`             // role of the file, e.g. "normalize/posts.parquet" or a source file name
	SHA256 string `json:"sha256"`           // digest of the bytes read
	Bytes  int64  `json:"bytes"`            // size of the bytes read
	RunID  string `json:"run_id,omitempty"` // run that produced it, when it is a stage output
}

// Output is one file a run wrote.
type Output struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Rows   *int64 `json:"rows,omitempty"` // for Parquet tables
	// TableVersion is the layout version of a Parquet table (schema.Versions).
	TableVersion int `json:"table_version,omitempty"`
}

// Code records the program that produced a run.
type Code struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"go_version"`
}

// Timings are wall-clock facts about a run. They are kept apart from
// everything that is hashed or compared.
type Timings struct {
	StartedAt  string `json:"started_at"`
	FinishedAt string `json:"finished_at"`
	WallMillis int64  `json:"wall_ms"`
}

// Manifest describes one immutable run.
type Manifest struct {
	ManifestVersion int    `json:"manifest_version"`
	Dataset         string `json:"dataset"`
	Stage           string `json:"stage"`
	StageVersion    int    `json:"stage_version"`
	// RunVersion is the version string that entered the run id (stage
	// version and Parquet format version, e.g. "3+pqio4"), so the run id
	// can be recomputed from the manifest alone. Manifests written before
	// it was recorded lack it.
	RunVersion string          `json:"run_version,omitempty"`
	RunID      string          `json:"run_id"`
	Params     json.RawMessage `json:"params"`
	Inputs     []InputRef      `json:"inputs"`
	Outputs    []Output        `json:"outputs"`
	Stats      json.RawMessage `json:"stats,omitempty"`
	Code       Code            `json:"code"`
	Timings    Timings         `json:"timings"`
}

// CurrentCode describes the running binary. Values injected with -ldflags
// win; otherwise the module version and VCS revision recorded by the go
// command are used when it recorded them (not with -buildvcs=false).
func CurrentCode() Code {
	c := Code{Version: CodeVersion, Revision: Revision, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if c.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			c.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c.Revision == "unknown" {
				c.Revision = s.Value
			}
		}
	}
	return c
}

// RunIDLength is the number of hex digits of a run id (80 bits).
const RunIDLength = 20

// RunID computes the run id of a stage run: a hash of the dataset, the stage
// name, its version (the stage version and the version of the file format
// writer, e.g. "3+pqio2"), the canonical JSON of its parameters and the
// digests of every input. Inputs are sorted by name first, so their order
// does not matter.
func RunID(dataset, stage, version string, params any, inputs []InputRef) (string, error) {
	canon, err := CanonicalJSON(params)
	if err != nil {
		return "", err
	}
	in := make([]InputRef, len(inputs))
	copy(in, inputs)
	sort.Slice(in, func(i, j int) bool { return in[i].Name < in[j].Name })
	h := sha256.New()
	fmt.Fprintf(h, "takedown-run-v1\x00dataset=%s\x00stage=%s\x00version=%s\x00params=%s\x00", dataset, stage, version, canon)
	for _, i := range in {
		fmt.Fprintf(h, "input=%s:%s\x00", i.Name, i.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))[:RunIDLength], nil
}

// CanonicalJSON encodes v as compact JSON with object keys sorted, so that
// equal parameters always give equal bytes.
func CanonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("decode params: %w", err)
	}
	// encoding/json sorts map keys when it encodes a map.
	return json.Marshal(generic)
}

// ReadManifest reads and checks the manifest of the run in dir. It does not
// check that the manifest describes that directory: Workspace.ReadRun does.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	b, err := readPath(p)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", p, err)
	}
	return decodeManifest(p, b)
}

// Output returns the output with the given file name.
func (m *Manifest) Output(file string) (Output, bool) {
	for _, o := range m.Outputs {
		if o.File == file {
			return o, true
		}
	}
	return Output{}, false
}

// Problem is a difference between a run's manifest and its files on disk.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// CheckOutputs recomputes the digest of every output file of the run in dir
// and reports each one that is missing or differs from the manifest.
func CheckOutputs(dir string, m *Manifest) []Problem {
	if s, key, ok := resolve(dir); ok {
		return checkOutputsRemote(s, key, m)
	}
	var out []Problem
	for _, o := range m.Outputs {
		d, n, err := FileDigest(filepath.Join(dir, o.File))
		switch {
		case err != nil:
			out = append(out, Problem{File: o.File, Reason: "missing"})
		case d != o.SHA256 || n != o.Bytes:
			out = append(out, Problem{File: o.File, Reason: fmt.Sprintf("altered on disk: sha256 %s, manifest says %s", d[:12], o.SHA256[:12])})
		}
	}
	return out
}

// ParseManifest parses and checks manifest bytes read from name (a path or
// a bundle entry), as ReadManifest does for a file.
func ParseManifest(name string, b []byte) (*Manifest, error) { return decodeManifest(name, b) }

// Describes says why m is not the manifest of run id of dataset's stage
// (another id, dataset or stage, or parameters and inputs that hash to
// another run id), or "" when it is.
func (m *Manifest) Describes(dataset, stage, id string) string {
	return m.describes(dataset, stage, id)
}
