package takedown_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/takedown-research/takedown"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/store"
)

// demoWorkspace runs the pipeline on the embedded demo into a new workspace.
func demoWorkspace(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	ws, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner.Runner{WS: ws, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := r.Run(context.Background(), runner.Options{Dataset: "demo", Params: runner.DefaultParams()}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadCurrentTables(t *testing.T) {
	dir := demoWorkspace(t)
	ws, err := takedown.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	clusters, err := ws.Table("demo", "clusters")
	if err != nil {
		t.Fatal(err)
	}
	if clusters.Stage != "cluster" || clusters.RunID == "" || filepath.Base(clusters.Path) != "clusters.parquet" {
		t.Fatalf("clusters table = %+v", clusters)
	}
	members, err := takedown.ReadAll[takedown.ClusterMember](clusters)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) == 0 || members[0].ClusterID == "" || members[0].AccountID == "" {
		t.Fatalf("read %d members, first %+v", len(members), members)
	}
	posts, err := ws.Table("demo", "posts")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := takedown.Each(posts, func(b []takedown.Post) error { n += len(b); return nil }); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no posts")
	}
	again, err := ws.RunTable("demo", "posts", posts.RunID)
	if err != nil || again != posts {
		t.Fatalf("RunTable = %+v, %v; want %+v", again, err, posts)
	}

	// Another table's bytes over this one: refused, naming the repair.
	b, err := os.ReadFile(posts.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clusters.Path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ws.Table("demo", "clusters")
	if !errors.Is(err, store.ErrDamaged) {
		t.Fatalf("tampered clusters.parquet: err = %v, want ErrDamaged", err)
	}
	if _, err := ws.Table("demo", "no_such_table"); !errors.Is(err, runner.ErrNoTable) {
		t.Fatalf("unknown table: err = %v, want ErrNoTable", err)
	}
}

func TestCurrentRun(t *testing.T) {
	dir := demoWorkspace(t)
	ws, err := takedown.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	run, err := ws.Current("demo", "summarize")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(run.Dir, "report.html")); err != nil || run.ID != filepath.Base(run.Dir) {
		t.Fatalf("run %+v: %v", run, err)
	}
	if _, err := ws.Current("nosuch", "cluster"); !errors.Is(err, runner.ErrUpstream) {
		t.Fatalf("dataset that has not run: err = %v", err)
	}
}

func TestIDColumns(t *testing.T) {
	for _, tc := range []struct {
		table string
		want  []string
	}{
		{"evidence", []string{"account_a", "account_b", "item_key", "post_a", "post_b"}},
		{"clusters", []string{"cluster_id", "account_id"}},
		{"daily_timeline", nil},
	} {
		if got := takedown.IDColumns(tc.table); !slices.Equal(got, tc.want) {
			t.Errorf("IDColumns(%s) = %q, want %q", tc.table, got, tc.want)
		}
	}
}
