package runner

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStagesDoNotImportEachOther keeps the architecture: stages talk only
// through their Parquet outputs and manifests, and only pqio imports
// parquet-go.
func TestStagesDoNotImportEachOther(t *testing.T) {
	const mod = "github.com/takedown-research/takedown/pipeline/"
	root := ".."
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{}
	for _, s := range Stages {
		stages[s] = true
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pkg := e.Name()
		files, _ := filepath.Glob(filepath.Join(root, pkg, "*.go"))
		for _, f := range files {
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if strings.HasPrefix(path, "github.com/parquet-go/") && pkg != "pqio" {
					t.Errorf("%s imports %s: only pqio may", f, path)
				}
				other, ok := strings.CutPrefix(path, mod)
				if ok && stages[pkg] && stages[other] && other != pkg {
					t.Errorf("stage %s imports stage %s (%s)", pkg, other, f)
				}
			}
		}
	}
}
