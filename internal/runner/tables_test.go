package runner

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/summarize"
)

func TestTable(t *testing.T) {
	r := newRunner(t)
	if _, err := r.Table("demo", "posts", "", true); !errors.Is(err, ErrUpstream) {
		t.Fatalf("before any run: %v, want ErrUpstream", err)
	}
	res := runDemo(t, r, 2)
	byStage := map[string]Result{}
	for _, x := range res {
		byStage[x.Stage] = x
	}
	tests := []struct {
		table, runID string
		stage        string // "" when an error is expected
		errHas       string
	}{
		{table: "posts", stage: "normalize"},
		{table: "evidence.parquet", stage: "cluster"},
		{table: "report_missing", errHas: "no current table \"report_missing\"; tables: account_creation, accounts,"},
		{table: "clusters", runID: byStage["cluster"].RunID, stage: "cluster"},
		{table: "posts", runID: byStage["cluster"].RunID, errHas: "has no table \"posts\"; it has: clusters, edges, evidence"},
		{table: "posts", runID: "00000000000000000000", errHas: "no run 00000000000000000000 of dataset demo"},
	}
	for _, tc := range tests {
		ref, err := r.Table("demo", tc.table, tc.runID, true)
		if tc.stage == "" {
			if !errors.Is(err, ErrNoTable) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Table(%q, %q): %v, want ErrNoTable with %q", tc.table, tc.runID, err, tc.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("Table(%q, %q): %v", tc.table, tc.runID, err)
			continue
		}
		want := filepath.Join(byStage[tc.stage].Dir, strings.TrimSuffix(tc.table, ".parquet")+".parquet")
		if ref.Stage != tc.stage || ref.RunID != byStage[tc.stage].RunID || ref.Path != want {
			t.Errorf("Table(%q, %q) = %+v, want stage %s path %s", tc.table, tc.runID, ref, tc.stage, want)
		}
	}
}

// TestPublishedFiguresEnterSummarizeRunID checks that the runner passes a
// descriptor's published figures to summarize as a parameter, and that a
// descriptor without them leaves the parameters as they were.
func TestPublishedFiguresEnterSummarizeRunID(t *testing.T) {
	def, _ := defOf(summarize.Name)
	posts := int64(42)
	with := def.withDescriptor(summarize.DefaultParams(), datasets.Descriptor{Published: &datasets.Published{Posts: &posts}})
	without := def.withDescriptor(summarize.DefaultParams(), datasets.Descriptor{})
	if p := with.(summarize.Params).Published; p == nil || *p.Posts != 42 {
		t.Fatalf("published figures not passed: %+v", with)
	}
	a, _ := store.CanonicalJSON(with)
	b, _ := store.CanonicalJSON(without)
	d, _ := store.CanonicalJSON(summarize.DefaultParams())
	if string(b) != string(d) {
		t.Errorf("no published figures changed the parameters: %s vs %s", b, d)
	}
	var m map[string]any
	if err := json.Unmarshal(a, &m); err != nil || m["published"] == nil {
		t.Errorf("published figures missing from the canonical parameters: %s", a)
	}
	ida, _ := store.RunID("x", summarize.Name, "1", with, nil)
	idb, _ := store.RunID("x", summarize.Name, "1", without, nil)
	if ida == idb {
		t.Error("published figures do not change the summarize run id")
	}
}
