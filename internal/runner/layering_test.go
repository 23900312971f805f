package runner

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLayering keeps the architecture easy to see: pipeline/ holds the five
// stages and nothing else, stages never import each other (they talk only
// through their Parquet outputs and manifests, and share rules through
// packages under internal/), and only pqio imports parquet-go.
func TestLayering(t *testing.T) {
	const mod = "github.com/takedown-research/takedown/"
	pipelineDirs, err := os.ReadDir(filepath.Join("..", "..", "pipeline"))
	if err != nil {
		t.Fatal(err)
	}
	var inPipeline []string
	for _, e := range pipelineDirs {
		if e.IsDir() {
			inPipeline = append(inPipeline, e.Name())
		}
	}
	want := slices.Clone(Stages)
	slices.Sort(want)
	if !slices.Equal(inPipeline, want) {
		t.Errorf("pipeline/ holds %v; it must hold exactly the stages %v (infrastructure lives under internal/)", inPipeline, want)
	}
	stages := map[string]bool{}
	for _, s := range Stages {
		stages["pipeline/"+s] = true
	}
	err = filepath.WalkDir(filepath.Join("..", ".."), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && d.Name() != "." && d.Name() != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), filepath.Dir(p))
		pkg := filepath.ToSlash(rel)
		ast, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/parquet-go/") && pkg != "internal/pqio" {
				t.Errorf("%s imports %s: only internal/pqio may", p, path)
			}
			other, ok := strings.CutPrefix(path, mod)
			if ok && stages[pkg] && stages[other] && other != pkg {
				t.Errorf("stage %s imports stage %s (%s)", pkg, other, p)
			}
			if ok && strings.HasPrefix(pkg, "internal/") && stages[other] && pkg != "internal/runner" && !strings.HasSuffix(p, "_test.go") {
				t.Errorf("%s imports stage %s: only internal/runner binds the stages", p, other)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
