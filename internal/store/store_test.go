package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunIDStableAndSensitive(t *testing.T) {
	type P struct {
		Window float64 `json:"window"`
		Min    int     `json:"min"`
	}
	in := []InputRef{{Name: "b", SHA256: "22"}, {Name: "a", SHA256: "11"}}
	base, err := RunID("demo", "cluster", "1", P{60, 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	// Pinned: a change here means every published run id changes.
	if base != "d01af0d18660dc090f4e" {
		t.Errorf("run id scheme changed: got %s", base)
	}
	reordered, _ := RunID("demo", "cluster", "1", P{60, 2}, []InputRef{in[1], in[0]})
	if reordered != base {
		t.Error("input order changed the run id")
	}
	cases := []struct {
		name    string
		dataset string
		stage   string
		version string
		params  any
		inputs  []InputRef
	}{
		{"dataset", "other", "cluster", "1", P{60, 2}, in},
		{"stage", "demo", "summarize", "1", P{60, 2}, in},
		{"version", "demo", "cluster", "2", P{60, 2}, in},
		{"params", "demo", "cluster", "1", P{30, 2}, in},
		{"input digest", "demo", "cluster", "1", P{60, 2}, []InputRef{{Name: "a", SHA256: "11"}, {Name: "b", SHA256: "23"}}},
	}
	for _, c := range cases {
		id, err := RunID(c.dataset, c.stage, c.version, c.params, c.inputs)
		if err != nil {
			t.Fatal(err)
		}
		if id == base {
			t.Errorf("changing the %s did not change the run id", c.name)
		}
	}
}

func TestCanonicalJSONSortsKeys(t *testing.T) {
	a, _ := CanonicalJSON(map[string]any{"b": 1, "a": []int{2, 1}})
	b, _ := CanonicalJSON([]byte(`{"a":[2,1],"b":1}`))
	_ = b
	if string(a) != `{"a":[2,1],"b":1}` {
		t.Fatalf("got %s", a)
	}
	raw, _ := CanonicalJSON(rawJSON(`{ "b" : 1, "a":[2,1] }`))
	if string(raw) != string(a) {
		t.Fatalf("raw JSON not canonical: %s", raw)
	}
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestPublishAndTamper(t *testing.T) {
	ws, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := ws.Begin("twitter-io/x", "normalize", "abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := st.Publish(&Manifest{StageVersion: 1, Params: []byte(`{}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := run.Dir
	if dir != ws.RunDir("twitter-io/x", "normalize", "abc") {
		t.Fatalf("published to %s", dir)
	}
	if _, err := os.Stat(st.Dir); !os.IsNotExist(err) {
		t.Fatal("staging dir left behind")
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Outputs) != 1 || m.Outputs[0].File != "a.txt" || m.Outputs[0].Bytes != 5 {
		t.Fatalf("outputs %+v", m.Outputs)
	}
	if p := CheckOutputs(dir, m); len(p) != 0 {
		t.Fatalf("fresh run has problems %v", p)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hellO"), 0o644)
	if p := CheckOutputs(dir, m); len(p) != 1 || !strings.Contains(p[0].Reason, "altered") {
		t.Fatalf("tamper not found: %v", p)
	}
	os.Remove(filepath.Join(dir, "a.txt"))
	if p := CheckOutputs(dir, m); len(p) != 1 || p[0].Reason != "missing" {
		t.Fatalf("missing file not found: %v", p)
	}
}

func TestManifestVersionRejected(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ManifestName), []byte(`{"manifest_version": 99}`), 0o644)
	if _, err := ReadManifest(dir); !errors.Is(err, ErrManifestVersion) {
		t.Fatalf("err = %v", err)
	}
}

func TestLockRoundTripAndGC(t *testing.T) {
	ws, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keep, _, err := ws.PutSource(strings.NewReader("kept source"))
	if err != nil {
		t.Fatal(err)
	}
	drop, _, _ := ws.PutSource(strings.NewReader("orphan source"))
	for _, id := range []string{"r1", "r2"} {
		st, _ := ws.Begin("demo", "fetch", id)
		WriteSourceList(filepath.Join(st.Dir, SourceListName), SourceList{{Name: "f", SHA256: map[string]string{"r1": keep, "r2": drop}[id]}})
		if _, err := st.Publish(&Manifest{StageVersion: 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	run, err := ws.ReadRun("demo", "fetch", "r1")
	if err != nil {
		t.Fatal(err)
	}
	l, _ := ws.ReadCurrent()
	if err := l.Set(run); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteCurrent(l); err != nil {
		t.Fatal(err)
	}
	l2, err := ws.ReadCurrent()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := l2.Entry("demo", "fetch"); !ok || e.RunID != "r1" {
		t.Fatalf("lock entry %+v", e)
	}
	os.MkdirAll(filepath.Join(ws.Root, "tmp", "normalize-x-123"), 0o755)
	g, err := ws.FindGarbage(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Runs) != 1 || !strings.HasSuffix(g.Runs[0], "r2") {
		t.Errorf("garbage runs %v", g.Runs)
	}
	if len(g.Sources) != 1 || filepath.Base(g.Sources[0]) != drop {
		t.Errorf("garbage sources %v", g.Sources)
	}
	if len(g.Temp) != 1 {
		t.Errorf("garbage temp %v", g.Temp)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if !ws.HasSource(keep) || ws.HasSource(drop) {
		t.Error("gc removed a root or kept garbage")
	}
}

func TestOpenUnwritable(t *testing.T) {
	if os.Getuid() == 0 {
		// root writes anywhere; use a path under a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		if _, err := Open(filepath.Join(f, "ws")); !errors.Is(err, ErrWorkspace) {
			t.Fatalf("err = %v", err)
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if _, err := Open(filepath.Join(dir, "ws")); !errors.Is(err, ErrWorkspace) {
		t.Fatalf("err = %v", err)
	}
}

func TestExclusive(t *testing.T) {
	ws, _ := Open(t.TempDir())
	unlock, err := ws.Exclusive(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Exclusive(0); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	u2, err := ws.Exclusive(0)
	if err != nil {
		t.Fatal(err)
	}
	u2()
}
