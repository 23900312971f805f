package datasets

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAddLocal(t *testing.T) {
	users := File{Name: "x_users.csv", Role: "users", SHA256: strings.Repeat("a", 64), Bytes: 10, Path: "/data/x_users.csv"}
	tweets := File{Name: "x_tweets.csv", Role: "tweets", SHA256: strings.Repeat("b", 64), Bytes: 20, Path: "/data/x_tweets.csv"}
	other := File{Name: "y_tweets.csv", Role: "tweets", SHA256: strings.Repeat("c", 64), Bytes: 30, Path: "/data/y_tweets.csv"}
	moved := tweets
	moved.Path = "/elsewhere/x_tweets.csv"
	desc := func(format string, files ...File) Descriptor {
		return Descriptor{Name: "local/x", Title: "x", Platform: "local", Format: format, Local: true, Files: files}
	}
	withMap := func(d Descriptor, m string) Descriptor { d.Map = m; return d }
	root := t.TempDir()
	steps := []struct {
		name string
		d    Descriptor
		want error  // nil: added
		msg  string // in the error
	}{
		{"first", desc("twitter-io", users, tweets), nil, ""},
		{"same files again", desc("twitter-io", tweets, users), nil, ""},
		{"same bytes moved", desc("twitter-io", users, moved), nil, ""},
		{"other files", desc("twitter-io", users, other), ErrExists,
			"local dataset already exists: local/x has other files: it has x_users.csv (users, sha256 aaaaaaaaaaaa), x_tweets.csv (tweets, sha256 bbbbbbbbbbbb); " +
				"this add gives x_users.csv (users, sha256 aaaaaaaaaaaa), y_tweets.csv (tweets, sha256 cccccccccccc). " +
				"To replace it, remove it first (takedown datasets remove local/x), or add these files under another name"},
		{"other format", desc("cnt", users, tweets), ErrExists, "local/x has another format (it has twitter-io, this add gives cnt)"},
		{"map", withMap(desc("generic", users, tweets), "account=a,post=p,time=t"), ErrExists, "local/x has another format (it has twitter-io, this add gives generic)"},
		{"bogus format", desc("bogus", users, tweets), ErrBadFormat, `unknown format "bogus": want one of auto, twitter-io, fivethirtyeight, nbc, reddit, cnt`},
	}
	for _, s := range steps {
		_, err := AddLocal(root, s.d)
		if s.want == nil {
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		if !errors.Is(err, s.want) || !strings.Contains(err.Error(), s.msg) {
			t.Fatalf("%s: err = %v\nwant %v with %q", s.name, err, s.want, s.msg)
		}
	}
	d, err := Lookup(root, "local/x")
	if err != nil || d.Files[1].Path != moved.Path {
		t.Fatalf("Lookup = %+v, %v: the last accepted add must be kept", d, err)
	}
	// Removed, the name takes other files.
	if _, err := RemoveLocal(root, "local/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := AddLocal(root, desc("cnt", other)); err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveLocal(root, "local/x"); err != nil {
		t.Fatal(err)
	}
	// A generic dataset's column map is part of what it is.
	if _, err := AddLocal(root, withMap(desc("generic", users), "account=a,post=p,time=t")); err != nil {
		t.Fatal(err)
	}
	if _, err := AddLocal(root, withMap(desc("generic", users), "account=a,post=p,time=t")); err != nil {
		t.Fatalf("same map again: %v", err)
	}
	_, err = AddLocal(root, withMap(desc("generic", users), "account=b,post=p,time=t"))
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), `has another column map (it has "account=a,post=p,time=t", this add gives "account=b,post=p,time=t")`) {
		t.Errorf("other map: %v", err)
	}
	for name, msg := range map[string]string{"local/none": "this workspace has no local/none", "demo": "demo is a registry release"} {
		if _, err := RemoveLocal(root, name); !errors.Is(err, ErrNotLocal) || !strings.Contains(err.Error(), msg) {
			t.Errorf("RemoveLocal(%s) = %v", name, err)
		}
	}
}

// TestAddLocalConcurrent adds one descriptor from many goroutines at once,
// as the tasks of a scheduler running a study's datasets in one workspace
// do: every add succeeds and no temporary file is left.
func TestAddLocalConcurrent(t *testing.T) {
	root := t.TempDir()
	d := Descriptor{Name: "local/x", Title: "x", Platform: "local", Format: "twitter-io", Local: true,
		Files: []File{{Name: "x_tweets.csv", Role: "tweets", SHA256: strings.Repeat("b", 64), Bytes: 20, Path: "/data/x_tweets.csv"}}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := AddLocal(root, d)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(root, "datasets", "*", "*.tmp"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if _, err := Lookup(root, "local/x"); err != nil {
		t.Fatal(err)
	}
}

func TestRoleOfMedia(t *testing.T) {
	for _, c := range []struct{ name, role string }{
		{"ira_tweet_media_hashed_10.zip", RoleMedia},
		{"/data/china_052020_hashed_001.zip", RoleMedia},
		{"CHINA_052020_HASHED_017.ZIP", RoleMedia},
		{"china_052020_hashed_README.txt", RoleTweets},
		{"china_052020_tweets_csv_hashed.zip", RoleTweets},
		{"x_tweets_csv_hashed_001.zip", RoleTweets}, // a numbered CSV part, not media
		{"china_052020_users_csv_hashed.zip", RoleUsers},
		{"demo_truth.csv", RoleTruth},
		{"x_hashed_01.zip", RoleTweets},
	} {
		if got := RoleOf(c.name); got != c.role {
			t.Errorf("RoleOf(%q) = %q, want %q", c.name, got, c.role)
		}
	}
	d := Descriptor{Files: []File{{Name: "pics.zip", Role: RoleMedia}}}
	if d.RoleOfFile("pics.zip") != RoleMedia || d.RoleOfFile("a_hashed_002.zip") != RoleMedia || d.RoleOfFile("users.csv") != RoleUsers {
		t.Errorf("RoleOfFile: descriptor roles first, else the name's")
	}
}
