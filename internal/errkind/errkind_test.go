package errkind

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOf(t *testing.T) {
	busy := New(Busy, "workspace busy")
	bad := New(BadInput, "bad archive")
	cases := []struct {
		name string
		err  error
		kind Kind
		code int
	}{
		{"plain error", errors.New("boom"), Failure, 1},
		{"sentinel", busy, Busy, 75},
		{"wrapped sentinel", fmt.Errorf("run demo: %w", bad), BadInput, 3},
		{"outer mark wins", Mark(Usage, fmt.Errorf("x: %w", bad)), Usage, 2},
		{"mark keeps the message", Mark(Mismatch, errors.New("m")), Mismatch, 4},
		{"disk full in a path error", fmt.Errorf("write posts: %w", &fs.PathError{Op: "write", Path: "p", Err: syscall.ENOSPC}), DiskFull, 5},
		{"disk full wins over a kind", Mark(Workspace, &fs.PathError{Op: "write", Path: "p", Err: syscall.ENOSPC}), DiskFull, 5},
		{"cancelled", fmt.Errorf("stage: %w", context.Canceled), Interrupted, 130},
		{"workspace", New(Workspace, "w"), Workspace, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if k := Of(c.err); k != c.kind {
				t.Errorf("Of = %v, want %v", k, c.kind)
			}
			if code := Of(c.err).ExitCode(); code != c.code {
				t.Errorf("exit code %d, want %d", code, c.code)
			}
			if c.err.Error() == "" {
				t.Error("empty message")
			}
		})
	}
	if Mark(Usage, nil) != nil {
		t.Error("Mark(nil) is not nil")
	}
	if !errors.Is(fmt.Errorf("a: %w", busy), busy) {
		t.Error("errors.Is does not find a sentinel")
	}
}

// TestSentinelsHaveKinds keeps the exit codes complete: every exported
// package-level Err* variable of the module is declared with New, so the
// CLI knows its exit code without a list of sentinels.
func TestSentinelsHaveKinds(t *testing.T) {
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != root) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Err") || i >= len(vs.Values) {
						continue
					}
					checked++
					call, ok := vs.Values[i].(*ast.CallExpr)
					sel, ok2 := func() (*ast.SelectorExpr, bool) {
						if !ok {
							return nil, false
						}
						s, ok := call.Fun.(*ast.SelectorExpr)
						return s, ok
					}()
					if !ok2 || sel.Sel.Name != "New" || fmt.Sprint(sel.X) != "errkind" && !strings.HasSuffix(filepath.Dir(p), "errkind") {
						t.Errorf("%s: %s is not declared with errkind.New: give it a kind so the CLI maps it to an exit code", p, name.Name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("found only %d sentinels; the walk is broken", checked)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal("not at the module root")
	}
}
