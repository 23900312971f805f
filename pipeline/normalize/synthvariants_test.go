package normalize

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/synth"
)

// TestSynthVariants normalizes every quirk variant of the synthetic
// generator and checks that it gives the same posts and accounts as the
// default layout: each quirk is read, none is lost.
func TestSynthVariants(t *testing.T) {
	base := synth.DefaultConfig()
	base.Accounts, base.Posts, base.Campaign = 200, 4000, "v"
	gen := func(t *testing.T, v synth.Variants) []SourceFile {
		cfg := base
		cfg.Variants = v
		dir := t.TempDir()
		files, err := synth.Write(context.Background(), cfg, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []SourceFile
		for _, f := range files {
			if f.Role != synth.RoleTruth {
				out = append(out, SourceFile{Name: f.Name, Path: filepath.Join(dir, f.Name)})
			}
		}
		return out
	}
	def := run(t, gen(t, synth.Variants{})...)
	if def.stats.Rejects != 0 || def.stats.IDHashFamily != FamilyBase64 {
		t.Fatalf("default: rejects %d, family %s", def.stats.Rejects, def.stats.IDHashFamily)
	}
	for _, c := range []struct {
		name    string
		v       synth.Variants
		family  string
		rejects []string
		files   int
	}{
		{"oct2018 order", synth.Variants{Oct2018Order: true}, FamilyBase64, nil, 2},
		{"hex ids", synth.Variants{HexIDs: true}, FamilyHex64, nil, 2},
		{"bare lists", synth.Variants{BareLists: true}, FamilyBase64, nil, 2},
		{"True/False", synth.Variants{CapitalBools: true}, FamilyBase64, nil, 2},
		{"0.0 counts", synth.Variants{FloatCounts: true}, FamilyBase64, nil, 2},
		{"camelCase users", synth.Variants{CamelUsers: true}, FamilyBase64, nil, 2},
		{"4 parts", synth.Variants{Parts: 4}, FamilyBase64, nil, 5},
		{"plain csv", synth.Variants{Container: synth.ContainerCSV}, FamilyBase64, nil, 2},
		{"csv.gz", synth.Variants{Container: synth.ContainerGzip}, FamilyBase64, nil, 2},
		{"truncated", synth.Variants{Truncate: true}, FamilyBase64, []string{ReasonTruncated}, 2},
		{"Oct 2018 release", synth.Variants{Oct2018Order: true, HexIDs: true, BareLists: true, Parts: 2, Container: synth.ContainerGzip}, FamilyHex64, nil, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, gen(t, c.v)...)
			if got := reasons(r); !reflect.DeepEqual(got, c.rejects) {
				t.Errorf("rejects %q, want %q", got, c.rejects)
			}
			if r.stats.IDHashFamily != c.family || len(r.stats.Files) != c.files {
				t.Errorf("family %s, %d files", r.stats.IDHashFamily, len(r.stats.Files))
			}
			wantPosts := len(def.posts) - len(c.rejects)
			if len(r.posts) != wantPosts || len(r.accounts) != len(def.accounts) {
				t.Fatalf("posts %d (want %d), accounts %d (want %d)", len(r.posts), wantPosts, len(r.accounts), len(def.accounts))
			}
			// Same content as the default, field by field, apart from the
			// ids (hex) and where the rows came from. Hex ids sort the
			// accounts differently, and with them the generator's row order.
			got, want := r.posts, def.posts
			if c.v.HexIDs {
				got, want = slices.Clone(got), slices.Clone(want)
				byID := func(a, b schema.Post) int { return strings.Compare(a.PostID, b.PostID) }
				slices.SortFunc(got, byID)
				slices.SortFunc(want, byID)
			}
			for i := range got {
				p, q := got[i], want[i]
				if c.v.HexIDs {
					p.AccountID, q.AccountID = "", ""
					p.RepostOfAccountID, q.RepostOfAccountID = nil, nil
					p.ReplyToAccountID, q.ReplyToAccountID = nil, nil
					p.Mentions, q.Mentions = nil, nil
					p.Text, q.Text = "", ""
					p.URLs, q.URLs = nil, nil // quote links embed the author id
				}
				p.SourceFile, q.SourceFile, p.SourceLine, q.SourceLine = "", "", 0, 0
				if !reflect.DeepEqual(p, q) {
					t.Fatalf("post %d differs:\n got %+v\nwant %+v", i, p, q)
				}
			}
		})
	}
}
