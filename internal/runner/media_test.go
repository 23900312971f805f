package runner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/internal/synth"
)

// TestMediaArchives: a local dataset's media archives are fetched whether
// or not the media parameter is given (its media is at hand), and then
// normalize writes the media table, every file joined to its post; the
// same files added without the media archives fetch none and keep the
// parameters of a run without media.
func TestMediaArchives(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Seed, cfg.Accounts, cfg.Posts, cfg.Campaign = 5, 150, 1500, "withmedia"
	cfg.Media = synth.DefaultMedia()
	dir := t.TempDir()
	files, err := synth.Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t)
	const name, plain = "local/withmedia", "local/nomedia"
	addSynth(t, r, name, dir, files)
	var noMedia []synth.File
	for _, f := range files {
		if f.Role != synth.RoleMedia {
			noMedia = append(noMedia, f)
		}
	}
	addSynth(t, r, plain, dir, noMedia)
	run := func(name string, media bool) (fetchDir, normDir string) {
		t.Helper()
		p := DefaultParams()
		p.Fetch.Media = media
		res, err := r.Run(context.Background(), Options{Dataset: name, To: "normalize", Params: p})
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Dir, res[1].Dir
	}
	sources := func(fetchDir string) (media int) {
		t.Helper()
		list, err := store.ReadSourceList(filepath.Join(fetchDir, store.SourceListName))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Role == synth.RoleMedia {
				media++
			}
		}
		return media
	}

	f0, n0 := run(plain, false)
	if got := sources(f0); got != 0 {
		t.Errorf("fetch without media landed %d media archives", got)
	}
	if _, err := os.Stat(filepath.Join(n0, schema.TableMedia+".parquet")); !os.IsNotExist(err) {
		t.Errorf("media.parquet without media archives: %v", err)
	}
	if m, err := store.ReadManifest(f0); err != nil || string(m.Params) != "{}" {
		t.Errorf("fetch parameters of a dataset without media: %s (%v), want {}", m.Params, err)
	}

	f1, n1 := run(name, false)
	if f2, n2 := run(name, true); f2 != f1 || n2 != n1 {
		t.Fatalf("a local dataset's media archives are used with or without --media: runs %s %s, then %s %s", f1, n1, f2, n2)
	}
	if got := sources(f1); got != cfg.Media.Archives {
		t.Errorf("fetch with media landed %d media archives, want %d", got, cfg.Media.Archives)
	}
	rows, err := pqio.ReadAll[schema.Media](filepath.Join(n1, schema.TableMedia+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 {
		t.Fatalf("%d media rows", len(rows))
	}
	for _, m := range rows {
		if m.AccountID == nil || m.Reason != "" || m.Dataset != name {
			t.Fatalf("row %+v: every synthetic file names a post and is readable", m)
		}
	}
	m, err := store.ReadManifest(n1)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range m.Outputs {
		found = found || o.File == schema.TableMedia+".parquet" && o.TableVersion == schema.Versions[schema.TableMedia]
	}
	if !found {
		t.Errorf("the manifest does not list media.parquet: %+v", m.Outputs)
	}
}
