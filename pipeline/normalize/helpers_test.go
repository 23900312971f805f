package normalize

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// Headers of the two twitter-io tweets layouts and the users layout.
var (
	usersCols = strings.Split("userid,user_display_name,user_screen_name,user_reported_location,"+
		"user_profile_description,user_profile_url,follower_count,following_count,"+
		"account_creation_date,account_language", ",")
	// tweetsCols is the Jan 2019 and later order.
	tweetsCols = strings.Split("tweetid,userid,user_display_name,user_screen_name,"+
		"user_reported_location,user_profile_description,user_profile_url,follower_count,"+
		"following_count,account_creation_date,account_language,tweet_language,tweet_text,"+
		"tweet_time,tweet_client_name,in_reply_to_userid,in_reply_to_tweetid,"+
		"quoted_tweet_tweetid,is_retweet,retweet_userid,retweet_tweetid,latitude,longitude,"+
		"quote_count,reply_count,like_count,retweet_count,hashtags,urls,user_mentions,poll_choices", ",")
	// tweetsColsOct2018 swaps in_reply_to_tweetid and in_reply_to_userid.
	tweetsColsOct2018 = swapCols(tweetsCols, "in_reply_to_userid", "in_reply_to_tweetid")
)

func swapCols(cols []string, a, b string) []string {
	out := append([]string(nil), cols...)
	var ia, ib int
	for i, c := range out {
		switch c {
		case a:
			ia = i
		case b:
			ib = i
		}
	}
	out[ia], out[ib] = out[ib], out[ia]
	return out
}

// quoteAll renders one record with every field quoted, as the archives do.
func quoteAll(fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(f, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteByte('\n')
	return b.String()
}

// csvText renders a header and records given as column->value maps.
func csvText(cols []string, rows ...map[string]string) string {
	var b strings.Builder
	b.WriteString(quoteAll(cols))
	for _, r := range rows {
		f := make([]string, len(cols))
		for i, c := range cols {
			f[i] = r[c]
		}
		b.WriteString(quoteAll(f))
	}
	return b.String()
}

// snowflake returns the id of a tweet posted at t.
func snowflake(t time.Time, seq int) string {
	return strconv.FormatUint(uint64(t.UnixMilli()-twitterEpoch)<<22|uint64(seq), 10)
}

var baseTime = time.Date(2016, 3, 1, 12, 34, 56, 789_000_000, time.UTC)

// tweet returns a valid tweet row number i, with overrides.
func tweet(i int, over map[string]string) map[string]string {
	at := baseTime.Add(time.Duration(i) * time.Minute)
	r := map[string]string{
		"tweetid":                  snowflake(at, i),
		"userid":                   "1000" + strconv.Itoa(i%3),
		"user_display_name":        "Name " + strconv.Itoa(i%3),
		"user_screen_name":         "screen" + strconv.Itoa(i%3),
		"user_reported_location":   "Somewhere",
		"user_profile_description": "about me",
		"user_profile_url":         "http://example.org",
		"follower_count":           "10",
		"following_count":          "20",
		"account_creation_date":    "2014-05-06",
		"account_language":         "en",
		"tweet_language":           "en",
		"tweet_text":               "hello world " + strconv.Itoa(i),
		"tweet_time":               at.Format("2006-01-02 15:04"),
		"tweet_client_name":        "Twitter Web Client",
		"is_retweet":               "false",
		"latitude":                 "absent",
		"longitude":                "absent",
		"quote_count":              "0",
		"reply_count":              "1",
		"like_count":               "2",
		"retweet_count":            "3",
		"hashtags":                 "[]",
		"urls":                     "[]",
		"user_mentions":            "[]",
	}
	for k, v := range over {
		r[k] = v
	}
	return r
}

// user returns a valid users row with overrides.
func user(id string, over map[string]string) map[string]string {
	r := map[string]string{
		"userid":                   id,
		"user_display_name":        "Display " + id,
		"user_screen_name":         "screen_" + id,
		"user_reported_location":   "Here",
		"user_profile_description": "desc",
		"user_profile_url":         "",
		"follower_count":           "100",
		"following_count":          "50",
		"account_creation_date":    "2013-01-02",
		"account_language":         "ru",
	}
	for k, v := range over {
		r[k] = v
	}
	return r
}

// writeSource writes content to a content-store-like path (no extension)
// and returns the SourceFile.
func writeSource(t testing.TB, dir, name string, content []byte) SourceFile {
	t.Helper()
	p := filepath.Join(dir, "sha-"+strconv.Itoa(len(name))+"-"+strings.NewReplacer(".", "", "/", "").Replace(name))
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return SourceFile{Name: name, Path: p}
}

type zipEntry struct{ name, body string }

func zipBytes(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Unix(0, 0).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// result is a finished run and its tables.
type result struct {
	stats    Stats
	accounts []schema.Account
	posts    []schema.Post
	rejects  []schema.Reject
	dir      string
}

// run runs the stage over files and reads its outputs back. It checks the
// invariants every run must hold.
func run(t testing.TB, files ...SourceFile) result {
	t.Helper()
	out := t.TempDir()
	st, err := Run(context.Background(), Input{Dataset: "test/ds", Files: files}, DefaultParams(), out, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := result{stats: st, dir: out}
	if r.accounts, err = pqio.ReadAll[schema.Account](filepath.Join(out, "accounts.parquet")); err != nil {
		t.Fatal(err)
	}
	if r.posts, err = pqio.ReadAll[schema.Post](filepath.Join(out, "posts.parquet")); err != nil {
		t.Fatal(err)
	}
	if r.rejects, err = pqio.ReadAll[schema.Reject](filepath.Join(out, "rejects.parquet")); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	return r
}

// checkInvariants checks rows in = written + rejected per file and that the
// tables hold what the stats say.
func checkInvariants(t testing.TB, r result) {
	t.Helper()
	var written, rejected, posts, users int64
	for _, f := range r.stats.Files {
		if f.RowsIn != f.RowsWritten+f.RowsRejected {
			t.Errorf("%s: rows_in %d != written %d + rejected %d", f.File, f.RowsIn, f.RowsWritten, f.RowsRejected)
		}
		var byReason int64
		for _, n := range f.RejectsByReason {
			byReason += n
		}
		if byReason != f.RowsRejected {
			t.Errorf("%s: rejects by reason sum %d != %d", f.File, byReason, f.RowsRejected)
		}
		written += f.RowsWritten
		rejected += f.RowsRejected
		switch f.Kind {
		case "seed": // seed-list accounts are counted with the accounts only in posts
		case "users":
			users += f.RowsWritten
		default:
			posts += f.RowsWritten
		}
	}
	if int64(len(r.rejects)) != rejected || r.stats.Rejects != rejected {
		t.Errorf("rejects table %d rows, stats %d, files %d", len(r.rejects), r.stats.Rejects, rejected)
	}
	if int64(len(r.posts)) != posts || r.stats.Posts != posts {
		t.Errorf("posts table %d rows, stats %d, files %d", len(r.posts), r.stats.Posts, posts)
	}
	if int64(len(r.accounts)) != r.stats.Accounts || r.stats.Accounts != users+r.stats.AccountsOnlyInPosts {
		t.Errorf("accounts table %d rows, stats %d, users %d + only-in-posts %d",
			len(r.accounts), r.stats.Accounts, users, r.stats.AccountsOnlyInPosts)
	}
	for _, rj := range r.rejects {
		if rj.Reason == "" || rj.Detail == "" || rj.SourceFile == "" || rj.SourceLine <= 0 {
			t.Errorf("incomplete reject %+v", rj)
		}
	}
}

// reasons returns the reasons of the rejects, in order.
func reasons(r result) []string {
	var out []string
	for _, rj := range r.rejects {
		out = append(out, rj.Reason)
	}
	return out
}
