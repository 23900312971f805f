package runner

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/bundle"
)

// TestPackDemo packs the demo as a directory and twice as a zip: the zips
// are byte-identical and hold the directory's files; the RO-Crate metadata
// and CITATION.cff pass their structural checks and name every run; a
// fresh workspace recomputes every output identical, and a tampered report
// in a copy of the bundle is found.
func TestPackDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo pipeline three times")
	}
	r := newRunner(t)
	res := runDemo(t, r, 2)
	dir := t.TempDir()
	o := bundle.Options{Authors: []string{"Doe, Jane"}, License: "CC-BY-4.0"}
	if _, err := r.Pack(o, filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	sum, err := r.Pack(o, filepath.Join(dir, "b1.zip"))
	if err != nil {
		t.Fatal(err)
	}
	// The demo's sources: users, tweets, truth and its media archive.
	if sum.Runs != len(Stages) || sum.Sources != 4 {
		t.Errorf("packed %d runs and %d sources, want %d and 4", sum.Runs, sum.Sources, len(Stages))
	}
	if _, err := r.Pack(o, filepath.Join(dir, "b1.zip")); err == nil {
		t.Error("packing over an existing bundle succeeded")
	}
	if _, err := r.Pack(o, filepath.Join(dir, "b2.zip")); err != nil {
		t.Fatal(err)
	}
	z1, _ := os.ReadFile(filepath.Join(dir, "b1.zip"))
	z2, _ := os.ReadFile(filepath.Join(dir, "b2.zip"))
	if !bytes.Equal(z1, z2) {
		t.Error("two packs of the same runs differ in bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(z1), int64(len(z1)))
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, f := range zr.File {
		if f.Name <= prev {
			t.Errorf("zip entries not sorted: %s after %s", f.Name, prev)
		}
		prev = f.Name
		rc, _ := f.Open()
		got, _ := io.ReadAll(rc)
		rc.Close()
		want, err := os.ReadFile(filepath.Join(dir, "b", filepath.FromSlash(f.Name)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("zip entry %s differs from the directory bundle's file (%v)", f.Name, err)
		}
	}
	crate, _ := os.ReadFile(filepath.Join(dir, "b", bundle.CrateName))
	if probs := bundle.CheckCrate(crate); len(probs) > 0 {
		t.Errorf("RO-Crate problems:\n%s", strings.Join(probs, "\n"))
	}
	var doc struct {
		Graph []map[string]any `json:"@graph"`
	}
	if err := json.Unmarshal(crate, &doc); err != nil {
		t.Fatal(err)
	}
	actions := map[string]map[string]any{}
	for _, e := range doc.Graph {
		if e["@type"] == "CreateAction" {
			id, _ := e["identifier"].(string)
			actions[id] = e
		}
	}
	for _, rr := range res {
		a, ok := actions[rr.RunID]
		if !ok {
			t.Errorf("no CreateAction with identifier %s (%s)", rr.RunID, rr.Stage)
			continue
		}
		if objs, _ := a["object"].([]any); rr.Stage != "fetch" && len(objs) == 0 {
			t.Errorf("CreateAction of %s has no object", rr.Stage)
		}
		if outs, _ := a["result"].([]any); len(outs) == 0 {
			t.Errorf("CreateAction of %s has no result", rr.Stage)
		}
	}
	cff, _ := os.ReadFile(filepath.Join(dir, "b", bundle.CitationName))
	if probs := bundle.CheckCitation(cff); len(probs) > 0 {
		t.Errorf("CITATION.cff problems:\n%s", strings.Join(probs, "\n"))
	}
	for _, rr := range res {
		if !bytes.Contains(cff, []byte(rr.RunID)) {
			t.Errorf("CITATION.cff does not name run %s", rr.RunID)
		}
	}
	if !bytes.Contains(cff, []byte("family-names: Doe")) {
		t.Error("CITATION.cff lacks the author")
	}

	verify := func(path string) []BundleRun {
		t.Helper()
		b, err := bundle.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		out, err := newRunner(t).VerifyBundle(context.Background(), b, BundleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, v := range verify(filepath.Join(dir, "b1.zip")) {
		if !v.OK {
			t.Errorf("%s %s: %+v %+v", v.Stage, v.RunID, v.Files, v.Problems)
		}
	}
	// A changed report in the bundle is found; the runs before it verify.
	summ := res[len(res)-1]
	report := filepath.Join(dir, "b", "runs", "demo", "summarize", summ.RunID, "report.md")
	if err := os.WriteFile(report, []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range verify(filepath.Join(dir, "b")) {
		if v.OK != (v.Stage != "summarize") {
			t.Errorf("%s: ok=%v with an edited report.md", v.Stage, v.OK)
		}
	}
	// An edited manifest (its digest is not the bundle lock's): that run
	// is not rerun, nor is any run that reads it.
	var fp Result
	for _, rr := range res {
		if rr.Stage == "fingerprint" {
			fp = rr
		}
	}
	mpath := filepath.Join(dir, "b", "runs", "demo", "fingerprint", fp.RunID, "manifest.json")
	mb, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mpath, append(mb, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range verify(filepath.Join(dir, "b")) {
		before := v.Stage == "fetch" || v.Stage == "normalize"
		if v.OK != before {
			t.Errorf("%s: ok=%v with an edited fingerprint manifest", v.Stage, v.OK)
		}
		if !before && len(v.Problems) == 0 {
			t.Errorf("%s: not rerun without a problem saying why", v.Stage)
		}
		if v.Stage == "fingerprint" && !strings.Contains(v.Problems[0].Reason, "edited") {
			t.Errorf("fingerprint: problem %q does not say the manifest was edited", v.Problems[0].Reason)
		}
	}
}

// TestVerifyBundleMissingSources: a bundle of a dataset whose sources are
// nowhere to be had ends with SourcesMissingError naming each sha256.
func TestVerifyBundleMissingSources(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	r := newRunner(t)
	name := addGoldenSynth(t, r)
	if _, err := r.Run(context.Background(), Options{Dataset: name, Params: DefaultParams()}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.zip")
	sum, err := r.Pack(bundle.Options{}, out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = newRunner(t).VerifyBundle(context.Background(), b, BundleOptions{})
	var missing *SourcesMissingError
	if !errors.As(err, &missing) || !errors.Is(err, ErrSourcesMissing) {
		t.Fatalf("error %v, want SourcesMissingError", err)
	}
	if len(missing.Missing) != sum.Sources {
		t.Errorf("%d missing, want %d", len(missing.Missing), sum.Sources)
	}
	for _, m := range missing.Missing {
		if len(m.SHA256) != 64 || !strings.Contains(err.Error(), m.SHA256) {
			t.Errorf("message does not name sha256 %q", m.SHA256)
		}
	}
	if !strings.Contains(err.Error(), "--from-dir DIR") {
		t.Error("message does not say how to supply the sources")
	}
}
