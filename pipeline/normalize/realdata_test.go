package normalize

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// realDataDir is ../shared/data beside the repository: published files that
// nobody on this project wrote (see its README.md for their sources).
var realDataDir = filepath.Join("..", "..", "..", "shared", "data")

// TestRealData normalizes every published sample in ../shared/data and pins
// its exact row, reject and account counts.
func TestRealData(t *testing.T) {
	if _, err := os.Stat(realDataDir); err != nil {
		t.Skipf("real data not available: %s is absent (it sits beside the clone as ../shared; see docs/formats.md)", realDataDir)
	}
	cases := []struct {
		file     string
		format   string
		kind     string
		rowsIn   int64
		written  int64
		rejects  map[string]int64
		warnings map[string]int64
		accounts int64
		posts    int64
	}{
		{"fivethirtyeight-ira/IRAhandle_tweets_sample.csv", FormatFiveThirtyEight, "tweets", 100, 0,
			map[string]int64{ReasonIDRounded: 100}, map[string]int64{}, 0, 0},
		{"nbc-ira-2018/users.csv", FormatNBC, "users", 454, 454, map[string]int64{}, map[string]int64{}, 454, 0},
		// 944 names, 941 accounts: three names appear twice in another case.
		{"reddit-2018/seed.csv", FormatReddit, "seed", 944, 944, map[string]int64{}, map[string]int64{}, 941, 0},
		// Three users appear twice, byte for byte (KularimGaviril, VudonrisMakasa, UelitheLandagelv).
		{"reddit-2018/users.csv", FormatReddit, "users", 943, 940, map[string]int64{ReasonDuplicateID: 3}, map[string]int64{}, 940, 0},
		// The 6,711 comments were written by 156 accounts.
		{"reddit-2018/comments.csv", FormatReddit, "comments", 6711, 6711, map[string]int64{}, map[string]int64{}, 156, 6711},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join(realDataDir, c.file)
			if _, err := os.Stat(p); err != nil {
				t.Skipf("%s is absent", p)
			}
			r := run(t, SourceFile{Name: filepath.Base(c.file), Path: p})
			if len(r.stats.Files) != 1 {
				t.Fatalf("%d file stats", len(r.stats.Files))
			}
			fs := r.stats.Files[0]
			got := []any{fs.Format, fs.Kind, fs.RowsIn, fs.RowsWritten, fs.RejectsByReason, fs.Warnings}
			want := []any{c.format, c.kind, c.rowsIn, c.written, c.rejects, c.warnings}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("format, kind, rows in, written, rejects, warnings:\n got %v\nwant %v", got, want)
			}
			if r.stats.Posts != c.posts {
				t.Errorf("posts %d, want %d", r.stats.Posts, c.posts)
			}
			if c.posts > 0 && (fs.FirstPostAt == nil || *fs.FirstPostAt != *r.stats.FirstPostAt || *fs.LastPostAt != *r.stats.LastPostAt) {
				t.Errorf("file date coverage %v..%v, run %v..%v", fs.FirstPostAt, fs.LastPostAt, r.stats.FirstPostAt, r.stats.LastPostAt)
			}
			if int64(len(r.accounts)) != c.accounts {
				t.Errorf("accounts %d, want %d", len(r.accounts), c.accounts)
			}
			if c.posts > 0 {
				t.Logf("%s: posts from %s to %s", c.file, fmtMillis(*r.stats.FirstPostAt), fmtMillis(*r.stats.LastPostAt))
			}
		})
	}
}

// TestRealDataReddit normalizes the three Reddit files together, as the
// registry dataset does, and pins the merged accounts and the date coverage.
func TestRealDataReddit(t *testing.T) {
	dir := filepath.Join(realDataDir, "reddit-2018")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not available: %s is absent (it sits beside the clone as ../shared; see docs/formats.md)", dir)
	}
	var files []SourceFile
	for _, n := range []string{"seed.csv", "users.csv", "comments.csv"} {
		files = append(files, SourceFile{Name: n, Path: filepath.Join(dir, n)})
	}
	r := run(t, files...)
	// 940 users-file accounts; the seed list adds the one name whose
	// profile was not harvested; every comment author is in the users file.
	if r.stats.Accounts != 941 || r.stats.AccountsOnlyInPosts != 1 || r.stats.Posts != 6711 || r.stats.Rejects != 3 {
		t.Errorf("accounts %d (only in posts or seed %d), posts %d, rejects %d",
			r.stats.Accounts, r.stats.AccountsOnlyInPosts, r.stats.Posts, r.stats.Rejects)
	}
	if got, want := fmtMillis(*r.stats.FirstPostAt)+" .. "+fmtMillis(*r.stats.LastPostAt), "2014-03-06 09:25 .. 2018-04-09 18:13"; got != want {
		t.Errorf("date coverage %s, want %s", got, want)
	}
}
