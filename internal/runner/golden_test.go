package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/synth"
	"github.com/takedown-research/takedown/pipeline/cluster"
)

// The golden digests pin the bytes of every output file of every stage, for
// the demo and for a small synthetic population of another layout, under the
// version they were made with. See docs/reproducibility.md, "Golden digests".

var updateGolden = flag.Bool("update", false, "TestGoldenDigests: record the digests of new stage versions in "+goldenPath+" (never changes a recorded entry)")

const (
	goldenPath      = "testdata/golden_digests.json"
	goldenUpdateCmd = "go test ./internal/runner -run TestGoldenDigests -update"
	goldenComment   = "Written by `" + goldenUpdateCmd + "`; do not edit. " +
		"An entry (dataset, stage, stage_version, pqio_format_version, run_id) is immutable: " +
		"new bytes need a new stage version. See docs/reproducibility.md, \"Golden digests\"."
)

// goldenFile is the layout of testdata/golden_digests.json.
type goldenFile struct {
	Comment string        `json:"comment"`
	Entries []goldenEntry `json:"entries"`
}

// goldenEntry pins the outputs of one stage run. Its key is the stage, the
// versions that enter the run id (the stage's Version and
// pqio.FormatVersion) and the run id itself, which also hashes the
// parameters and the input digests: a stage downstream of a changed stage
// gets a new run id and a new entry, while bytes that change under the same
// run id are what a forgotten version bump looks like.
type goldenEntry struct {
	Dataset      string `json:"dataset"`
	Stage        string `json:"stage"`
	StageVersion int    `json:"stage_version"`
	PqioVersion  int    `json:"pqio_format_version"`
	RunID        string `json:"run_id"`
	// Tables is the layout version (schema.Versions) of each table written.
	Tables map[string]int `json:"tables,omitempty"`
	// Files is the sha256 of every file the run wrote except manifest.json.
	Files map[string]string `json:"files"`
}

func (e goldenEntry) key() string {
	return fmt.Sprintf("%s %s v%d+pqio%d run %s", e.Dataset, e.Stage, e.StageVersion, e.PqioVersion, e.RunID)
}

// parseGolden decodes a golden file. strict refuses unknown fields (the
// working copy); the versions in git history are read leniently.
func parseGolden(b []byte, strict bool) (goldenFile, error) {
	var g goldenFile
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&g); err != nil {
		return g, err
	}
	seen := map[string]bool{}
	for _, e := range g.Entries {
		if seen[e.key()] {
			return g, fmt.Errorf("two entries for %s", e.key())
		}
		seen[e.key()] = true
	}
	return g, nil
}

func stageIndex(stage string) int {
	if i := slices.Index(Stages, stage); i >= 0 {
		return i
	}
	return len(Stages)
}

func (g *goldenFile) sort() {
	sort.Slice(g.Entries, func(i, j int) bool {
		a, b := g.Entries[i], g.Entries[j]
		switch {
		case a.Dataset != b.Dataset:
			return a.Dataset < b.Dataset
		case a.Stage != b.Stage:
			return stageIndex(a.Stage) < stageIndex(b.Stage)
		case a.StageVersion != b.StageVersion:
			return a.StageVersion < b.StageVersion
		case a.PqioVersion != b.PqioVersion:
			return a.PqioVersion < b.PqioVersion
		}
		return a.RunID < b.RunID
	})
}

func (g goldenFile) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(g, "", "  ")
	return append(b, '\n'), err
}

// diffEntry lists how cur differs from old, two entries of the same key:
// changed, new or missing files and table layouts.
func diffEntry(old, cur goldenEntry) []string {
	var out []string
	for _, f := range sortedKeys(old.Files) {
		switch d, ok := cur.Files[f]; {
		case !ok:
			out = append(out, fmt.Sprintf("output %s is no longer written (sha256 was %s)", f, old.Files[f]))
		case d != old.Files[f]:
			out = append(out, fmt.Sprintf("output %s changed (sha256 %s -> %s)", f, old.Files[f], d))
		}
	}
	for _, f := range sortedKeys(cur.Files) {
		if _, ok := old.Files[f]; !ok {
			out = append(out, fmt.Sprintf("new output %s (sha256 %s)", f, cur.Files[f]))
		}
	}
	for _, tb := range sortedKeys(old.Tables) {
		if v, ok := cur.Tables[tb]; !ok || v != old.Tables[tb] {
			out = append(out, fmt.Sprintf("table %s layout changed (%d -> %d)", tb, old.Tables[tb], v))
		}
	}
	for _, tb := range sortedKeys(cur.Tables) {
		if _, ok := old.Tables[tb]; !ok {
			out = append(out, fmt.Sprintf("table %s layout changed (none -> %d)", tb, cur.Tables[tb]))
		}
	}
	return out
}

// diffGolden lists every entry present in both files whose digests or
// layouts differ: entries may be added or removed, never changed.
func diffGolden(older, newer goldenFile) []string {
	old := map[string]goldenEntry{}
	for _, e := range older.Entries {
		old[e.key()] = e
	}
	var out []string
	for _, e := range newer.Entries {
		if o, ok := old[e.key()]; ok {
			for _, d := range diffEntry(o, e) {
				out = append(out, e.key()+": "+d)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// goldenSynthConfig is the non-demo population: small, another seed, and
// the October 2018 layout quirks, so that normalize's other paths are pinned.
func goldenSynthConfig() synth.Config {
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = 7, 200, 4000, "golden"
	cfg.Variants = synth.Variants{Oct2018Order: true, HexIDs: true, BareLists: true, CapitalBools: true, FloatCounts: true}
	return cfg
}

// addGoldenSynth generates the population into a temporary folder and
// describes it as a local dataset of the workspace, as `takedown synth` and
// `takedown datasets add` do (run ids do not depend on the folder).
func addGoldenSynth(t *testing.T, r *Runner) string {
	t.Helper()
	const name = "local/golden"
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), goldenSynthConfig(), dir)
	if err != nil {
		t.Fatal(err)
	}
	addSynth(t, r, name, dir, files)
	return name
}

// goldenRuns runs the demo (default parameters) and the synthetic population
// (with --compat cnt, which adds the toolkit's keys and networks) through
// every stage and describes each run as a golden entry.
func goldenRuns(t *testing.T) []goldenEntry {
	t.Helper()
	r := newRunner(t)
	res := runDemo(t, r, 2)
	p := DefaultParams()
	p.Cluster.Compat = cluster.CompatToolkit
	name := addGoldenSynth(t, r)
	more, err := r.Run(context.Background(), Options{Dataset: name, Params: p})
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	var out []goldenEntry
	for _, x := range append(res, more...) {
		m, err := store.ReadManifest(x.Dir)
		if err != nil {
			t.Fatal(err)
		}
		e := goldenEntry{Dataset: m.Dataset, Stage: m.Stage, StageVersion: m.StageVersion, PqioVersion: pqio.FormatVersion,
			RunID: m.RunID, Files: map[string]string{}}
		for _, o := range m.Outputs {
			if o.TableVersion != 0 {
				if e.Tables == nil {
					e.Tables = map[string]int{}
				}
				e.Tables[o.File] = o.TableVersion
			}
		}
		entries, err := os.ReadDir(x.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range entries {
			if f.Name() == store.ManifestName {
				continue
			}
			b, err := os.ReadFile(filepath.Join(x.Dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			e.Files[f.Name()] = hex.EncodeToString(sum[:])
		}
		out = append(out, e)
	}
	return out
}

// bumpAdvice says which constant to bump when a run's bytes changed under
// its run id.
func bumpAdvice(e goldenEntry) string {
	s := fmt.Sprintf("but %s.Version is still %d: bump pipeline/%s.Version (or pqio.FormatVersion if the writer changed) and run %s",
		e.Stage, e.StageVersion, e.Stage, goldenUpdateCmd)
	if e.Stage == "fetch" {
		s += " (fetch runs internal/synth for a generated dataset: new generator bytes are a new fetch.Version)"
	}
	return s
}

// TestGoldenDigests compares every output of the demo and of a small synthetic
// population with the digests recorded for the same stage version, pqio
// format version and run id. With -update it records the entries of new
// versions and refuses to change a recorded one.
func TestGoldenDigests(t *testing.T) {
	if testing.Short() && !*updateGolden {
		t.Skip("runs the demo and a synthetic population through every stage; covered without -short")
	}
	var g goldenFile
	switch b, err := os.ReadFile(goldenPath); {
	case errors.Is(err, fs.ErrNotExist) && *updateGolden:
	case err != nil:
		t.Fatalf("%v: record the golden digests with %s", err, goldenUpdateCmd)
	default:
		if g, err = parseGolden(b, true); err != nil {
			t.Fatalf("%s: %v", goldenPath, err)
		}
	}
	recorded := map[string]int{}
	for i, e := range g.Entries {
		recorded[e.key()] = i
	}
	added := 0
	changed := map[string]string{} // dataset -> the first stage whose bytes changed under its run id
	for _, e := range goldenRuns(t) {
		i, ok := recorded[e.key()]
		if !ok && changed[e.Dataset] != "" {
			t.Errorf("%s: no golden digests for %s run id %s: its inputs changed with the output of %s above; fix that first",
				e.Dataset, e.Stage, e.RunID, changed[e.Dataset])
			continue
		}
		if !ok {
			if *updateGolden {
				g.Entries = append(g.Entries, e)
				added++
				continue
			}
			t.Errorf("%s: no golden digests for %s %s.Version %d, pqio.FormatVersion %d, run id %s (a new version, or new parameters or inputs): record them with %s",
				e.Dataset, e.Stage, e.Stage, e.StageVersion, e.PqioVersion, e.RunID, goldenUpdateCmd)
			continue
		}
		for _, d := range diffEntry(g.Entries[i], e) {
			t.Errorf("%s: %s %s %s", e.Dataset, e.Stage, d, bumpAdvice(e))
			if changed[e.Dataset] == "" {
				changed[e.Dataset] = e.Stage
			}
		}
	}
	if !*updateGolden {
		return
	}
	if t.Failed() {
		t.Fatalf("-update refused: %s keeps the digests recorded for a version; bump the versions named above", goldenPath)
	}
	if added == 0 {
		t.Logf("%s is up to date", goldenPath)
		return
	}
	g.Comment = goldenComment
	g.sort()
	b, err := g.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d new entries in %s", added, goldenPath)
}
