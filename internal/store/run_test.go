package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// publishOne publishes a run with one output file and a run version, so
// that its manifest's contents hash to its run id.
func publishOne(t *testing.T, ws *Workspace) *Run {
	t.Helper()
	inputs := []InputRef{{Name: "source/a.csv", SHA256: "11"}}
	id, err := RunID("demo", "normalize", "1+pqio4", map[string]int{"x": 1}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ws.Begin("demo", "normalize", id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := st.Publish(&Manifest{StageVersion: 1, RunVersion: "1+pqio4", Params: []byte(`{"x":1}`), Inputs: inputs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestReadRunDamage(t *testing.T) {
	cases := []struct {
		name     string
		manifest func(id string) string // "" removes the file
		notExist bool
	}{
		{"run id of another directory", func(string) string {
			return `{"manifest_version":1,"dataset":"demo","stage":"normalize","run_id":"00000000000000000000"}`
		}, false},
		{"another stage", func(id string) string {
			return `{"manifest_version":1,"dataset":"demo","stage":"cluster","run_id":"` + id + `"}`
		}, false},
		{"contents hash to another run id", func(id string) string {
			return `{"manifest_version":1,"dataset":"demo","stage":"normalize","run_version":"1+pqio4","params":{"x":2},"inputs":[{"name":"source/a.csv","sha256":"11"}],"run_id":"` + id + `"}`
		}, false},
		{"not JSON", func(string) string { return `{"manifest_version":` }, false},
		{"unknown version", func(id string) string { return `{"manifest_version":99,"run_id":"` + id + `"}` }, false},
		{"manifest missing", func(string) string { return "" }, false},
		{"directory missing", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			run := publishOne(t, ws)
			if _, err := ws.ReadRun("demo", "normalize", run.ID); err != nil {
				t.Fatalf("intact run: %v", err)
			}
			p := filepath.Join(run.Dir, ManifestName)
			switch {
			case c.manifest == nil:
				os.RemoveAll(run.Dir)
			case c.manifest(run.ID) == "":
				os.Remove(p)
			default:
				os.WriteFile(p, []byte(c.manifest(run.ID)), 0o644)
			}
			_, err = ws.ReadRun("demo", "normalize", run.ID)
			if c.notExist {
				if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrDamaged) {
					t.Fatalf("err = %v, want not exist", err)
				}
				return
			}
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("err = %v, want ErrDamaged", err)
			}
			// The lock takes no run whose manifest does not describe it.
			l, _ := ws.ReadCurrent()
			forged := *run
			forged.Manifest = &Manifest{ManifestVersion: 1, Dataset: "demo", Stage: "normalize", RunID: "00000000000000000000"}
			if err := l.Set(&forged); !errors.Is(err, ErrDamaged) {
				t.Fatalf("Set of a run whose manifest names another id: %v", err)
			}
			if _, ok := l.Entry("demo", "normalize"); ok {
				t.Fatal("Set recorded a refused run")
			}
			// Publishing the run again replaces the damaged directory.
			again := publishOne(t, ws)
			if _, err := ws.ReadRun("demo", "normalize", again.ID); err != nil {
				t.Fatalf("after republish: %v", err)
			}
			if got, _ := ManifestSHA256(again.Dir); got != again.ManifestSHA256 {
				t.Fatalf("Publish reported manifest sha256 %s, file has %s", again.ManifestSHA256, got)
			}
			if left, _ := os.ReadDir(ws.tmpDir()); len(left) != 0 {
				t.Fatalf("tmp/ holds %v after replacing a damaged run", left)
			}
		})
	}
}
