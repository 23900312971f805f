package bundle

import (
	"archive/zip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRefusesUnsafeNames: the names in a bundle's lock become paths of
// the workspace that verifies it, so names that leave it are refused.
func TestOpenRefusesUnsafeNames(t *testing.T) {
	const id = "0123456789abcdef0123"
	for _, tc := range []struct{ name, lock, want string }{
		{"good", `{"version":1,"datasets":{"demo":{"fetch":{"run_id":"` + id + `"}}}}`, ""},
		{"dataset leaves", `{"version":1,"datasets":{"../x":{"fetch":{"run_id":"` + id + `"}}}}`, "dataset name"},
		{"stage leaves", `{"version":1,"datasets":{"demo":{"../fetch":{"run_id":"` + id + `"}}}}`, "stage name"},
		{"run id leaves", `{"version":1,"datasets":{"demo":{"fetch":{"run_id":"../../x"}}}}`, "hex digits"},
		{"other version", `{"version":9,"datasets":{}}`, "does not parse"},
		{"not json", `{`, "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "b.zip")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			zw := zip.NewWriter(f)
			w, _ := zw.Create(LockName)
			w.Write([]byte(tc.lock))
			zw.Close()
			f.Close()
			b, err := Open(p)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				b.Close()
				return
			}
			if err == nil || !errors.Is(err, ErrNotBundle) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want ErrNotBundle with %q", err, tc.want)
			}
		})
	}
}

// FuzzOpen opens a zip whose lock, manifest and descriptor are the fuzzed
// bytes, and reads its runs and descriptor: nothing may panic, and what
// opens names only safe paths.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"version":1,"datasets":{"demo":{"fetch":{"run_id":"0123456789abcdef0123","manifest_sha256":"x"}}}}`), []byte(`{"manifest_version":1}`), []byte(`{"name":"demo"}`))
	f.Add([]byte(`{"version":1,"datasets":{"a/b":{"fetch":{"run_id":"0123456789abcdef0123"}}}}`), []byte(`{`), []byte(`[]`))
	f.Add([]byte(`{"version":1,"datasets":{"..":{}}}`), []byte(``), []byte(``))
	f.Fuzz(func(t *testing.T, lock, manifest, desc []byte) {
		p := filepath.Join(t.TempDir(), "b.zip")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(out)
		for name, data := range map[string][]byte{
			LockName: lock,
			"runs/demo/fetch/0123456789abcdef0123/" + "manifest.json": manifest,
			DescriptorPath("demo"): desc,
		} {
			w, _ := zw.Create(name)
			w.Write(data)
		}
		zw.Close()
		out.Close()
		b, err := Open(p)
		if err != nil {
			return
		}
		defer b.Close()
		for _, ds := range b.Datasets() {
			if strings.Contains(ds, "..") || strings.HasPrefix(ds, "/") {
				t.Fatalf("unsafe dataset name %q opened", ds)
			}
			for _, r := range b.Runs(ds, []string{"fetch"}) {
				if r.Manifest == nil && r.Problem == "" {
					t.Fatalf("run %+v has neither a manifest nor a problem", r)
				}
			}
			b.Descriptor(ds)
		}
	})
}
