package synth

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Accounts = 300
	cfg.Posts = 9000
	cfg.Campaign = "test"
	return cfg
}

func writeTo(t testing.TB, cfg Config) (string, []File) {
	t.Helper()
	dir := t.TempDir()
	files, err := Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return dir, files
}

func readAll(t testing.TB, dir string, files []File) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

func TestFiles(t *testing.T) {
	cfg := smallConfig()
	_, files := writeTo(t, cfg)
	want := []File{
		{Name: "test_truth.csv", Role: RoleTruth},
		{Name: "test_tweets_csv_hashed.zip", Role: RoleTweets},
		{Name: "test_users_csv_hashed.zip", Role: RoleUsers},
	}
	if len(files) != len(want) {
		t.Fatalf("files = %v, want %v", files, want)
	}
	for i := range want {
		if files[i] != want[i] {
			t.Errorf("files[%d] = %v, want %v", i, files[i], want[i])
		}
	}
}

func TestDeterminism(t *testing.T) {
	cfg := smallConfig()
	dirA, files := writeTo(t, cfg)
	a := readAll(t, dirA, files)
	old := runtime.GOMAXPROCS(1)
	dirB, _ := writeTo(t, cfg)
	runtime.GOMAXPROCS(max(4, old*2))
	dirC, _ := writeTo(t, cfg)
	runtime.GOMAXPROCS(old)
	for _, dir := range []string{dirB, dirC} {
		b := readAll(t, dir, files)
		for name, want := range a {
			if !bytes.Equal(b[name], want) {
				t.Errorf("%s differs between runs", name)
			}
		}
	}
	cfg.Seed = 2
	dirD, _ := writeTo(t, cfg)
	d := readAll(t, dirD, files)
	if bytes.Equal(d["test_tweets_csv_hashed.zip"], a["test_tweets_csv_hashed.zip"]) {
		t.Error("seed 2 wrote the same tweets as seed 1")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" = valid
	}{
		{"default", func(c *Config) {}, ""},
		{"no squads", func(c *Config) { c.SquadShare = 0 }, ""},
		{"no virals", func(c *Config) { c.ViralFactor = 0 }, ""},
		{"min accounts", func(c *Config) { c.Accounts, c.Posts = 20, 100 }, ""},
		{"few accounts", func(c *Config) { c.Accounts = 19 }, "accounts"},
		{"too many accounts", func(c *Config) { c.Accounts = maxAccounts + 1; c.Posts = maxPosts }, "accounts"},
		{"few posts", func(c *Config) { c.Posts = 4999 }, "posts"},
		{"too many posts", func(c *Config) { c.Posts = maxPosts + 1 }, "posts"},
		{"empty campaign", func(c *Config) { c.Campaign = "" }, "campaign"},
		{"path campaign", func(c *Config) { c.Campaign = "../x" }, "campaign"},
		{"bad start", func(c *Config) { c.Start = "2019-3-1" }, "start"},
		{"old start", func(c *Config) { c.Start = "2010-01-01" }, "start"},
		{"few days", func(c *Config) { c.Days = 6 }, "days"},
		{"many days", func(c *Config) { c.Days = 731 }, "days"},
		{"negative squad share", func(c *Config) { c.SquadShare = -0.1 }, "squad_share"},
		{"big squad share", func(c *Config) { c.SquadShare = 0.6 }, "squad_share"},
		{"small squads", func(c *Config) { c.SquadMinSize = 1 }, "squad_min_size"},
		{"max below min", func(c *Config) { c.SquadMaxSize = 3 }, "squad_max_size"},
		{"huge squads", func(c *Config) { c.SquadMaxSize = 501 }, "squad_max_size"},
		{"min squad over half", func(c *Config) { c.Accounts, c.Posts, c.SquadMinSize, c.SquadMaxSize = 20, 100, 11, 20 }, "squad_min_size"},
		{"negative viral", func(c *Config) { c.ViralFactor = -1 }, "viral_factor"},
		{"huge viral", func(c *Config) { c.ViralFactor = 11 }, "viral_factor"},
		{"missing users", func(c *Config) { c.MissingUsersShare = 0.51 }, "missing_users_share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error naming %s", tt.field)
			}
			if !strings.HasPrefix(err.Error(), tt.field+" ") {
				t.Errorf("error %q does not start with %q", err, tt.field)
			}
		})
	}
}

func readZipCSV(t *testing.T, path, inner string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != inner {
		t.Fatalf("%s: entries %v, want one %s", path, zr.File, inner)
	}
	zf := zr.File[0]
	if zf.Method != zip.Store {
		t.Errorf("%s: method %d, want Store", path, zf.Method)
	}
	if !zf.Modified.Equal(zipModified) {
		t.Errorf("%s: modified %v, want %v", path, zf.Modified, zipModified)
	}
	rc, err := zf.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawFieldsQuoted checks that every field in raw CSV bytes is quoted: outside
// quotes, only ',' and '\n' may appear, and a field must start with '"'.
func rawFieldsQuoted(b []byte) error {
	inQ := false
	fieldStart := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inQ {
			if c == '"' {
				if i+1 < len(b) && b[i+1] == '"' {
					i++
					continue
				}
				inQ = false
			}
			continue
		}
		switch {
		case fieldStart && c == '"':
			inQ, fieldStart = true, false
		case !fieldStart && (c == ',' || c == '\n'):
			fieldStart = true
		default:
			return errors.New("unquoted byte " + strconv.Quote(string(c)) + " at offset " + strconv.Itoa(i))
		}
	}
	if inQ {
		return errors.New("unterminated quote")
	}
	return nil
}

var hashRE = regexp.MustCompile(`^[A-Za-z0-9+/]{43}=$`)

func TestStructure(t *testing.T) {
	cfg := smallConfig()
	dir, _ := writeTo(t, cfg)

	users := readZipCSV(t, filepath.Join(dir, "test_users_csv_hashed.zip"), "test_users_csv_hashed.csv")
	tweets := readZipCSV(t, filepath.Join(dir, "test_tweets_csv_hashed.zip"), "test_tweets_csv_hashed.csv")
	for name, b := range map[string][]byte{"users": users, "tweets": tweets} {
		if err := rawFieldsQuoted(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if bytes.Contains(b, []byte("\r")) {
			t.Errorf("%s: contains CR", name)
		}
	}

	ur := csv.NewReader(bytes.NewReader(users))
	urows, err := ur.ReadAll()
	if err != nil {
		t.Fatalf("users csv: %v", err)
	}
	if strings.Join(urows[0], ",") != strings.Join(UsersHeader, ",") {
		t.Errorf("users header %v", urows[0])
	}
	userIDs := map[string]bool{}
	for _, r := range urows[1:] {
		if len(r) != 10 {
			t.Fatalf("users row has %d fields", len(r))
		}
		userIDs[r[0]] = true
	}

	tr := csv.NewReader(bytes.NewReader(tweets))
	trows, err := tr.ReadAll()
	if err != nil {
		t.Fatalf("tweets csv: %v", err)
	}
	hdr := trows[0]
	if strings.Join(hdr, ",") != strings.Join(TweetsHeader, ",") {
		t.Fatalf("tweets header %v", hdr)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[h] = i
	}
	if col["in_reply_to_userid"] > col["in_reply_to_tweetid"] {
		t.Error("in_reply_to_userid must come before in_reply_to_tweetid")
	}
	rows := trows[1:]
	if n := len(rows); n < cfg.Posts*95/100 || n > cfg.Posts*105/100 {
		t.Errorf("%d posts, want within 5%% of %d", n, cfg.Posts)
	}

	truth := readTruth(t, filepath.Join(dir, "test_truth.csv"))
	tweetIDs := map[string]bool{}
	tweetUsers := map[string]bool{}
	var newlines, emptyBrackets, emptyBlank, retweets, replies, hashed, absent, present, blankLat int
	for _, r := range rows {
		if len(r) != 31 {
			t.Fatalf("tweets row has %d fields", len(r))
		}
		id, uid := r[col["tweetid"]], r[col["userid"]]
		if tweetIDs[id] {
			t.Fatalf("duplicate tweetid %s", id)
		}
		tweetIDs[id] = true
		tweetUsers[uid] = true
		if _, ok := truth[uid]; !ok {
			t.Fatalf("userid %s missing from truth", uid)
		}
		followers, err := strconv.ParseInt(r[col["follower_count"]], 10, 64)
		if err != nil {
			t.Fatalf("follower_count %q", r[col["follower_count"]])
		}
		if followers < hashThreshold {
			hashed++
			if !hashRE.MatchString(uid) || r[col["user_screen_name"]] != uid || r[col["user_display_name"]] != uid {
				t.Fatalf("account with %d followers not hashed: %v", followers, r[1:4])
			}
		} else if _, err := strconv.ParseUint(uid, 10, 64); err != nil {
			t.Fatalf("account with %d followers has non-numeric id %q", followers, uid)
		}
		// Snowflake agrees with tweet_time.
		sf, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("tweetid %q", id)
		}
		ms := sf>>22 + twitterEpoch
		tt, err := time.Parse("2006-01-02 15:04", r[col["tweet_time"]])
		if err != nil {
			t.Fatalf("tweet_time %q", r[col["tweet_time"]])
		}
		if d := ms - tt.UnixMilli(); d < 0 || d >= msMinute {
			t.Fatalf("tweetid %s (ms %d) disagrees with tweet_time %s", id, ms, r[col["tweet_time"]])
		}
		text := r[col["tweet_text"]]
		if strings.Contains(text, "\n") {
			newlines++
		}
		for _, c := range []string{"hashtags", "urls", "user_mentions"} {
			switch v := r[col[c]]; {
			case v == "[]":
				emptyBrackets++
			case v == "":
				emptyBlank++
			case !strings.HasPrefix(v, "['") || !strings.HasSuffix(v, "']"):
				t.Fatalf("%s not a python list: %q", c, v)
			}
		}
		if r[col["poll_choices"]] != "" {
			t.Fatalf("poll_choices %q", r[col["poll_choices"]])
		}
		switch r[col["latitude"]] {
		case "absent":
			absent++
		case "present":
			present++
		case "":
			blankLat++
		default:
			t.Fatalf("latitude %q", r[col["latitude"]])
		}
		switch r[col["is_retweet"]] {
		case "true":
			retweets++
			if !strings.HasPrefix(text, "RT @") || r[col["retweet_userid"]] == "" || r[col["retweet_tweetid"]] == "" {
				t.Fatalf("bad retweet row: %q", text)
			}
			for _, c := range []string{"quote_count", "reply_count", "like_count", "retweet_count"} {
				if r[col[c]] != "0" {
					t.Fatalf("retweet with %s %s", c, r[col[c]])
				}
			}
		case "false":
			if r[col["retweet_userid"]] != "" {
				t.Fatal("non-retweet with retweet_userid")
			}
		default:
			t.Fatalf("is_retweet %q", r[col["is_retweet"]])
		}
		if r[col["in_reply_to_tweetid"]] != "" {
			replies++
			if r[col["in_reply_to_userid"]] == "" {
				t.Fatal("reply without in_reply_to_userid")
			}
		}
		for _, c := range []string{"quote_count", "reply_count", "like_count", "retweet_count", "following_count"} {
			if _, err := strconv.ParseInt(r[col[c]], 10, 64); err != nil {
				t.Fatalf("%s %q", c, r[col[c]])
			}
		}
	}
	share := float64(newlines) / float64(len(rows))
	if share < 0.08 || share > 0.18 {
		t.Errorf("newline share %.3f, want about 0.10-0.15", share)
	}
	if emptyBrackets == 0 || emptyBlank == 0 {
		t.Errorf("empty lists: %d [] and %d blank, want both", emptyBrackets, emptyBlank)
	}
	if absent == 0 || present == 0 || blankLat == 0 || absent < blankLat {
		t.Errorf("latitude absent %d, blank %d, present %d", absent, blankLat, present)
	}
	if retweets == 0 || replies == 0 || hashed == 0 {
		t.Errorf("retweets %d, replies %d, hashed rows %d", retweets, replies, hashed)
	}
	// Truth covers every account; some accounts only in the tweets file.
	only := 0
	for uid := range tweetUsers {
		if !userIDs[uid] {
			only++
		}
	}
	if want := cfg.Accounts * 2 / 100; only < want/2 || only > want*2 {
		t.Errorf("%d accounts only in tweets, want about %d", only, want)
	}
	if len(truth) != cfg.Accounts || len(tweetUsers) != cfg.Accounts {
		t.Errorf("truth %d accounts, tweets %d accounts, want %d", len(truth), len(tweetUsers), cfg.Accounts)
	}
	squads := map[string]int{}
	for _, tr := range truth {
		if tr.group != "" {
			squads[tr.group]++
			if tr.role != "originator" && tr.role != "amplifier" {
				t.Errorf("squad member with role %q", tr.role)
			}
			if tr.behaviours == "" {
				t.Errorf("squad %s without behaviours", tr.group)
			}
		} else if tr.role != "organic" || tr.behaviours != "" {
			t.Errorf("organic account with role %q behaviours %q", tr.role, tr.behaviours)
		}
	}
	if len(squads) < 2 {
		t.Errorf("%d squads", len(squads))
	}
	for g, n := range squads {
		if n < cfg.SquadMinSize || n > cfg.SquadMaxSize {
			t.Errorf("squad %s has %d members", g, n)
		}
	}
}

type truthRow struct{ group, role, behaviours string }

func readTruth(t *testing.T, path string) map[string]truthRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("truth: %v", err)
	}
	if strings.Join(rows[0], ",") != "account_id,group,role,behaviours" {
		t.Fatalf("truth header %v", rows[0])
	}
	out := map[string]truthRow{}
	for _, r := range rows[1:] {
		out[r[0]] = truthRow{r[1], r[2], r[3]}
	}
	return out
}

func TestSmallAndExtremeConfigs(t *testing.T) {
	for _, edit := range []func(*Config){
		func(c *Config) { c.Accounts, c.Posts = 20, 100 },
		func(c *Config) { c.SquadShare = 0; c.Accounts, c.Posts = 100, 1000 },
		func(c *Config) { c.ViralFactor = 0; c.Accounts, c.Posts = 100, 1000 },
		func(c *Config) { c.ViralFactor = 10; c.SquadShare = 0.5; c.Accounts, c.Posts = 100, 500 },
		func(c *Config) { c.Days = 7; c.MissingUsersShare = 0; c.Accounts, c.Posts = 50, 2000 },
	} {
		cfg := DefaultConfig()
		edit(&cfg)
		dir := t.TempDir()
		if _, err := Write(context.Background(), cfg, dir); err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		tweets := readZipCSV(t, filepath.Join(dir, "demo_tweets_csv_hashed.zip"), "demo_tweets_csv_hashed.csv")
		rows, err := csv.NewReader(bytes.NewReader(tweets)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rows) - 1; n < cfg.Posts*95/100 || n > cfg.Posts*105/100 {
			t.Errorf("%+v: %d posts", cfg, n)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if _, err := Write(ctx, smallConfig(), dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("cancelled Write left %d files", len(ents))
	}
}

func BenchmarkWrite100k(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Accounts = 3000
	cfg.Posts = 100_000
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Write(context.Background(), cfg, dir); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWrite1M(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Accounts = 30000
	cfg.Posts = 1_000_000
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Write(context.Background(), cfg, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInOrderChunks: every row once, in order, for any chunk size and
// GOMAXPROCS; a write error and a cancelled context stop it with that error.
func TestInOrderChunks(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		prev := runtime.GOMAXPROCS(procs)
		for _, tc := range []struct{ lo, hi, size int }{{0, 0, 3}, {0, 1, 3}, {5, 17, 3}, {0, 1000, 7}, {3, 4099, 4096}} {
			var got []int
			err := inOrderChunks(context.Background(), tc.lo, tc.hi, tc.size, func() func(from, to int, buf []byte) []byte {
				return func(from, to int, buf []byte) []byte {
					for n := from; n < to; n++ {
						buf = binary.AppendUvarint(buf, uint64(n))
					}
					return buf
				}
			}, func(b []byte) error {
				for len(b) > 0 {
					v, k := binary.Uvarint(b)
					got = append(got, int(v))
					b = b[k:]
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != max(tc.hi-tc.lo, 0) {
				t.Fatalf("procs %d %+v: %d rows", procs, tc, len(got))
			}
			for i, v := range got {
				if v != tc.lo+i {
					t.Fatalf("procs %d %+v: row %d is %d", procs, tc, i, v)
				}
			}
		}
		boom := errors.New("disk full")
		writes := 0
		err := inOrderChunks(context.Background(), 0, 10000, 10, func() func(int, int, []byte) []byte {
			return func(from, to int, buf []byte) []byte { return append(buf, 1) }
		}, func([]byte) error {
			writes++
			if writes == 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) || writes != 3 {
			t.Fatalf("procs %d: err %v after %d writes, want %v after 3", procs, err, writes, boom)
		}
		ctx, cancel := context.WithCancel(context.Background())
		writes = 0
		err = inOrderChunks(ctx, 0, 10000, 10, func() func(int, int, []byte) []byte {
			return func(from, to int, buf []byte) []byte { return append(buf, 1) }
		}, func([]byte) error {
			if writes++; writes == 2 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("procs %d: cancelled run returned %v", procs, err)
		}
		runtime.GOMAXPROCS(prev)
	}
}
