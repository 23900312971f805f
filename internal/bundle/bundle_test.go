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
