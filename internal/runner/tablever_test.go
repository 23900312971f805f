package runner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
)

func TestCheckTableVersion(t *testing.T) {
	versions := map[string]int{"posts": 1, "fingerprints": 2}
	cases := []struct {
		name string
		out  store.Output
		want string // "" means no error
	}{
		{"same layout", store.Output{File: "fingerprints.parquet", TableVersion: 2}, ""},
		{"not a table", store.Output{File: "report.md"}, ""},
		{"older layout", store.Output{File: "fingerprints.parquet", TableVersion: 1},
			"fingerprint run 1a2b wrote fingerprints.parquet with table layout 1; this program reads layout 2: rerun it with `takedown run --from fingerprint demo`"},
		{"newer layout", store.Output{File: "fingerprints.parquet", TableVersion: 3},
			"fingerprint run 1a2b wrote fingerprints.parquet with table layout 3, newer than layout 2 this program reads: use the takedown that wrote it, or rerun it with `takedown run --from fingerprint demo`"},
		{"no layout recorded", store.Output{File: "posts.parquet"},
			"fingerprint run 1a2b wrote posts.parquet without a table layout version; this program reads layout 1: rerun it with `takedown run --from fingerprint demo`"},
		{"unknown table", store.Output{File: "shingles.parquet", TableVersion: 1},
			"fingerprint run 1a2b wrote shingles.parquet, a table this program does not know: rerun it with `takedown run --from fingerprint demo`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkTableVersion("demo", "fingerprint", "1a2b", c.out, versions)
			if c.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v\nwant %s", err, c.want)
			}
			if !errors.Is(err, ErrUpstream) {
				t.Errorf("%v does not wrap ErrUpstream", err)
			}
		})
	}
}

// setTableVersion rewrites the table_version a run's manifest records for
// one file (0 removes it), as an older or newer program would have written it.
func setTableVersion(t *testing.T, dir, file string, v int) {
	t.Helper()
	p := filepath.Join(dir, store.ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range m["outputs"].([]any) {
		o := o.(map[string]any)
		if o["file"] == file {
			found = true
			if v == 0 {
				delete(o, "table_version")
			} else {
				o["table_version"] = v
			}
		}
	}
	if !found {
		t.Fatalf("%s lists no output %s", p, file)
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUpstreamTableVersionChecked runs the demo, then makes the fingerprint
// run's manifest record another layout of fingerprints.parquet: status must
// call fingerprint stale with the reason (and cluster stale behind it), and a
// cluster run must refuse to read the table.
func TestUpstreamTableVersionChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo pipeline; covered without -short")
	}
	r := newRunner(t)
	res := runDemo(t, r, 2)
	var fpDir, fpRun string
	for _, x := range res {
		if x.Stage == "fingerprint" {
			fpDir, fpRun = x.Dir, x.RunID
		}
	}
	orig, err := os.ReadFile(filepath.Join(fpDir, store.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	want := schema.Versions[schema.TableFingerprints]
	cases := []struct {
		name   string
		layout int
		reason string
	}{
		{"older", want - 1, "fingerprint run " + fpRun + " wrote fingerprints.parquet with table layout " + strconv.Itoa(want-1) +
			"; this program reads layout " + strconv.Itoa(want) + ": rerun it with `takedown run --from fingerprint demo`"},
		{"newer", want + 1, "with table layout " + strconv.Itoa(want+1) + ", newer than layout " + strconv.Itoa(want)},
		{"missing", 0, "wrote fingerprints.parquet without a table layout version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer os.WriteFile(filepath.Join(fpDir, store.ManifestName), orig, 0o644)
			lockBytes, err := os.ReadFile(r.WS.LockPath())
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(r.WS.LockPath(), lockBytes, 0o644)
			if c.name == "older" && c.layout == 0 {
				t.Skip("layout 1 has no older version")
			}
			setTableVersion(t, fpDir, "fingerprints.parquet", c.layout)
			relinkManifest(t, r, "fingerprint", fpDir)
			st, err := r.Status("demo")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range st {
				reasons := strings.Join(s.Reasons, "; ")
				switch s.Stage {
				case "fetch", "normalize":
					if s.State != StateCurrent {
						t.Errorf("%s is %s: %s", s.Stage, s.State, reasons)
					}
				case "fingerprint":
					if s.State != StateStale || !strings.Contains(reasons, c.reason) {
						t.Errorf("fingerprint is %s: %s\nwant stale: %s", s.State, reasons, c.reason)
					}
				case "cluster":
					if s.State != StateStale || !strings.Contains(reasons, "upstream stage fingerprint is not current") {
						t.Errorf("%s is %s: %s", s.Stage, s.State, reasons)
					}
				default:
					if s.State != StateStale || !strings.Contains(reasons, "upstream stage cluster is not current") {
						t.Errorf("%s is %s: %s", s.Stage, s.State, reasons)
					}
				}
			}
			_, err = r.Run(context.Background(), Options{Dataset: "demo", From: "cluster", Params: DefaultParams()})
			if !errors.Is(err, ErrUpstream) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("run --from cluster: %v\nwant ErrUpstream: %s", err, c.reason)
			}
		})
	}
	// The manifest restored, everything is current again.
	st, err := r.Status("demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.State != StateCurrent {
			t.Errorf("after restoring the manifest %s is %s: %v", s.Stage, s.State, s.Reasons)
		}
	}
}

// relinkManifest records the manifest's new digest in takedown.lock, as if an
// older program had made and linked the run (else the edit is, rightly, a
// damaged manifest).
func relinkManifest(t *testing.T, r *Runner, stage, dir string) {
	t.Helper()
	d, _, err := store.FileDigest(filepath.Join(dir, store.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.WS.ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	e := l.Datasets["demo"][stage]
	e.ManifestSHA256 = d
	l.Datasets["demo"][stage] = e
	if err := r.WS.WriteCurrent(l); err != nil {
		t.Fatal(err)
	}
}
