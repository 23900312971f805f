package normalize

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/schema"
)

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		format string
		ok     bool
	}{
		{"auto", true}, {"twitter-io", true}, {"", false}, {"csv", false},
	} {
		err := Params{Format: tc.format}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v", tc.format, err)
		}
		if err != nil && !strings.Contains(err.Error(), "format") {
			t.Errorf("error does not name the parameter: %v", err)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestColumnOrders(t *testing.T) {
	rows := []map[string]string{
		tweet(0, map[string]string{"in_reply_to_userid": "777", "in_reply_to_tweetid": "888"}),
		tweet(1, nil),
	}
	var got [][]schema.Post
	for _, cols := range [][]string{tweetsCols, tweetsColsOct2018} {
		dir := t.TempDir()
		r := run(t, writeSource(t, dir, "tweets.csv", []byte(csvText(cols, rows...))))
		if len(r.posts) != 2 {
			t.Fatalf("posts = %d, rejects %v", len(r.posts), r.rejects)
		}
		if p := r.posts[0]; str(p.ReplyToAccountID) != "777" || str(p.ReplyToPostID) != "888" {
			t.Errorf("reply fields mapped by position: %+v", p)
		}
		got = append(got, r.posts)
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("column order changed the posts:\n%+v\n%+v", got[0], got[1])
	}
}

func TestPostFields(t *testing.T) {
	at := time.Date(2018, 7, 1, 10, 0, 30, 250_000_000, time.UTC)
	id := snowflake(at, 5)
	r := run(t, writeSource(t, t.TempDir(), "t.csv", []byte(csvText(tweetsCols, tweet(0, map[string]string{
		"tweetid": id, "tweet_time": "2018-07-01 10:00", "is_retweet": "True",
		"retweet_userid": "42", "retweet_tweetid": "43", "quoted_tweet_tweetid": "44",
		"hashtags": "['SyrianArmy', 'Hama']", "urls": "[http://a.com/x, http://b.org]",
		"user_mentions": "[2572896396, 0]", "poll_choices": "yes|no|0",
		"like_count": "0.0", "retweet_count": "", "reply_count": "7", "quote_count": "12.00",
		"latitude": "12.5", "longitude": "-3.25", "tweet_text": "line one\nline \"two\"",
	})))))
	if len(r.posts) != 1 {
		t.Fatalf("rejects: %+v", r.rejects)
	}
	p := r.posts[0]
	want := schema.Post{
		Dataset: "test/ds", PostID: id, AccountID: "10000", PostedAt: at.UnixMilli(),
		PostedAtPrecision: "ms", Text: "line one\nline \"two\"", Language: "en",
		Client: "Twitter Web Client", QuotedPostID: new("44"), IsRepost: true,
		RepostOfPostID: new("43"), RepostOfAccountID: new("42"),
		Hashtags: []string{"SyrianArmy", "Hama"}, URLs: []string{"http://a.com/x", "http://b.org"},
		Mentions: []string{"2572896396", "0"}, PollChoices: []string{"yes", "no", "0"},
		Likes: ptr(int64(0)), Reposts: nil, Replies: ptr(int64(7)), Quotes: ptr(int64(12)),
		Latitude: ptr(12.5), Longitude: ptr(-3.25), SourceFile: "t.csv", SourceLine: 2,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("post\n got %+v\nwant %+v", p, want)
	}
}

func ptr[T any](v T) *T { return &v }

// str is *s, "" for nil.
func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestQuirks runs one tweet with one quirk per case and checks the field
// it affects, or the reject it causes.
func TestQuirks(t *testing.T) {
	cases := []struct {
		name   string
		over   map[string]string
		reason string // expected reject reason; "" = written
		check  func(t *testing.T, p schema.Post)
	}{
		{"empty list as []", map[string]string{"hashtags": "[]"}, "", func(t *testing.T, p schema.Post) {
			if len(p.Hashtags) != 0 {
				t.Errorf("hashtags %q", p.Hashtags)
			}
		}},
		{"empty list as empty field", map[string]string{"hashtags": ""}, "", func(t *testing.T, p schema.Post) {
			if len(p.Hashtags) != 0 {
				t.Errorf("hashtags %q", p.Hashtags)
			}
		}},
		{"repr list keeps '0'", map[string]string{"user_mentions": "['0', '12']"}, "", func(t *testing.T, p schema.Post) {
			if !reflect.DeepEqual(p.Mentions, []string{"0", "12"}) {
				t.Errorf("mentions %q", p.Mentions)
			}
		}},
		{"counts 0.0", map[string]string{"like_count": "0.0", "retweet_count": "3.0"}, "", func(t *testing.T, p schema.Post) {
			if p.Likes == nil || *p.Likes != 0 || p.Reposts == nil || *p.Reposts != 3 {
				t.Errorf("likes %v reposts %v", p.Likes, p.Reposts)
			}
		}},
		{"count empty is null", map[string]string{"quote_count": ""}, "", func(t *testing.T, p schema.Post) {
			if p.Quotes != nil {
				t.Errorf("quotes %v", *p.Quotes)
			}
		}},
		{"count fraction", map[string]string{"like_count": "1.5"}, ReasonBadNumber, nil},
		{"coords present", map[string]string{"latitude": "present", "longitude": "present"}, "", func(t *testing.T, p schema.Post) {
			if p.Latitude != nil || p.Longitude != nil {
				t.Error("present not null")
			}
		}},
		{"coords empty", map[string]string{"latitude": "", "longitude": ""}, "", func(t *testing.T, p schema.Post) {
			if p.Latitude != nil || p.Longitude != nil {
				t.Error("empty not null")
			}
		}},
		{"coords bad", map[string]string{"latitude": "north"}, ReasonBadNumber, nil},
		{"bool True", map[string]string{"is_retweet": "True"}, "", func(t *testing.T, p schema.Post) {
			if !p.IsRepost {
				t.Error("True not true")
			}
		}},
		{"bool False", map[string]string{"is_retweet": "False"}, "", func(t *testing.T, p schema.Post) {
			if p.IsRepost {
				t.Error("False not false")
			}
		}},
		{"bool bad", map[string]string{"is_retweet": "yes"}, ReasonBadBool, nil},
		{"bad time", map[string]string{"tweet_time": "2016-13-01 10:00"}, ReasonBadTime, nil},
		{"bad creation date", map[string]string{"account_creation_date": "06/05/2014"}, ReasonBadTime, nil},
		{"no time at all", map[string]string{"tweetid": "12345", "tweet_time": ""}, ReasonBadTime, nil},
		{"pre-snowflake id uses tweet_time", map[string]string{"tweetid": "2970085924", "tweet_time": "2010-06-01 08:09"}, "", func(t *testing.T, p schema.Post) {
			want := time.Date(2010, 6, 1, 8, 9, 0, 0, time.UTC).UnixMilli()
			if p.PostedAt != want || p.PostedAtPrecision != "minute" {
				t.Errorf("posted_at %d %s", p.PostedAt, p.PostedAtPrecision)
			}
		}},
		{"spreadsheet id", map[string]string{"tweetid": "9.06E+17"}, ReasonIDRounded, nil},
		{"spreadsheet user id", map[string]string{"userid": "9.05875E+17"}, ReasonIDRounded, nil},
		{"id with a space", map[string]string{"tweetid": "12 34"}, ReasonBadID, nil},
		{"empty userid", map[string]string{"userid": ""}, ReasonBadID, nil},
		{"bad reply id", map[string]string{"in_reply_to_tweetid": "1.2e5"}, ReasonIDRounded, nil},
		{"bad reply id not a number", map[string]string{"in_reply_to_tweetid": "12.x"}, ReasonBadID, nil},
		{"bad list", map[string]string{"hashtags": "['a', 'b"}, ReasonBadList, nil},
		{"bad follower count", map[string]string{"follower_count": "many"}, ReasonBadNumber, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, writeSource(t, t.TempDir(), "t.csv", []byte(csvText(tweetsCols, tweet(0, tc.over)))))
			if tc.reason == "" {
				if len(r.posts) != 1 {
					t.Fatalf("not written: %+v", r.rejects)
				}
				tc.check(t, r.posts[0])
				return
			}
			if len(r.rejects) != 1 || r.rejects[0].Reason != tc.reason {
				t.Fatalf("rejects = %+v, want one %s", r.rejects, tc.reason)
			}
			rj := r.rejects[0]
			if !strings.HasPrefix(rj.Detail, "field ") {
				t.Errorf("detail does not name the field: %q", rj.Detail)
			}
			if rj.SourceLine != 2 || !bytes.HasPrefix(rj.Raw, []byte(`"`)) || bytes.HasSuffix(rj.Raw, []byte("\n")) {
				t.Errorf("reject line %d raw %q", rj.SourceLine, rj.Raw)
			}
		})
	}
}

func TestBOM(t *testing.T) {
	body := "\xEF\xBB\xBF" + csvText(tweetsCols, tweet(0, nil))
	r := run(t, writeSource(t, t.TempDir(), "bom.csv", []byte(body)))
	if len(r.posts) != 1 || r.stats.Files[0].Kind != "tweets" {
		t.Fatalf("BOM broke the header: %+v", r.stats)
	}
}

func TestNewlineInTextAndRaw(t *testing.T) {
	rows := []map[string]string{
		tweet(0, map[string]string{"tweet_text": "a\nb\r\nc"}),
		tweet(1, map[string]string{"like_count": "bad"}),
		tweet(2, nil),
	}
	body := csvText(tweetsCols, rows...)
	r := run(t, writeSource(t, t.TempDir(), "nl.csv", []byte(body)))
	if len(r.posts) != 2 || r.posts[0].Text != "a\nb\nc" && r.posts[0].Text != "a\nb\r\nc" {
		t.Fatalf("posts %+v", r.posts)
	}
	if r.posts[1].SourceLine != 6 {
		t.Errorf("line of third record = %d, want 6", r.posts[1].SourceLine)
	}
	if len(r.rejects) != 1 || r.rejects[0].SourceLine != 5 {
		t.Fatalf("rejects %+v", r.rejects)
	}
	lines := strings.SplitAfter(body, "\n")
	want := strings.TrimSuffix(lines[4], "\n")
	if string(r.rejects[0].Raw) != want {
		t.Errorf("raw\n got %q\nwant %q", r.rejects[0].Raw, want)
	}
}

func TestTruncatedLastRecord(t *testing.T) {
	full := csvText(tweetsCols, tweet(0, nil), tweet(1, map[string]string{"tweet_text": "long text here"}))
	cutInQuote := full[:strings.Index(full, "long text")+4]
	cutBetweenFields := full[:strings.Index(full, "long text")-1] // after the comma
	cutBetweenFields = strings.TrimSuffix(cutBetweenFields, ",")
	for name, body := range map[string]string{"in quoted field": cutInQuote, "between fields": cutBetweenFields} {
		t.Run(name, func(t *testing.T) {
			r := run(t, writeSource(t, t.TempDir(), "cut.csv", []byte(body)))
			if len(r.posts) != 1 || len(r.rejects) != 1 || r.rejects[0].Reason != ReasonTruncated {
				t.Fatalf("posts %d rejects %+v", len(r.posts), r.rejects)
			}
			if r.rejects[0].SourceLine != 3 || !strings.HasSuffix(body, string(r.rejects[0].Raw)) {
				t.Errorf("reject %+v", r.rejects[0])
			}
		})
	}
}

func TestFieldCountAndBadQuote(t *testing.T) {
	good := csvText(tweetsCols, tweet(0, nil), tweet(1, nil))
	lines := strings.SplitAfter(good, "\n")
	body := lines[0] + lines[1] +
		`"1","2"` + "\n" + // too few fields, not at the end
		`"x"y,"2"` + "\n" + // bad quote
		`a"b,c` + "\n" + // bare quote
		lines[2]
	r := run(t, writeSource(t, t.TempDir(), "bad.csv", []byte(body)))
	if got := reasons(r); !reflect.DeepEqual(got, []string{ReasonFieldCount, ReasonBadQuote, ReasonBadQuote}) {
		t.Fatalf("reasons %v", got)
	}
	if len(r.posts) != 2 || r.posts[1].SourceLine != 6 {
		t.Errorf("posts after bad records: %+v", r.posts)
	}
	for i, want := range []string{`"1","2"`, `"x"y,"2"`, `a"b,c`} {
		if string(r.rejects[i].Raw) != want || r.rejects[i].SourceLine != int64(3+i) {
			t.Errorf("reject %d: line %d raw %q", i, r.rejects[i].SourceLine, r.rejects[i].Raw)
		}
	}
}

func TestInvalidUTF8Repaired(t *testing.T) {
	body := csvText(tweetsCols, tweet(0, map[string]string{"tweet_text": "caf\xe9 ok"}), tweet(1, nil))
	r := run(t, writeSource(t, t.TempDir(), "latin.csv", []byte(body)))
	if len(r.posts) != 2 {
		t.Fatalf("rejects %+v", r.rejects)
	}
	if r.posts[0].Text != "caf\uFFFD ok" {
		t.Errorf("text %q", r.posts[0].Text)
	}
	if n := r.stats.Files[0].Warnings[WarnUTF8Repaired]; n != 1 {
		t.Errorf("utf8_repaired = %d", n)
	}
}

func TestUnknownHeader(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown.csv":        "external_author,author,content,publish_date\n1,a,b,c\n",
		"tweets-no-time.csv": strings.Replace(csvText(tweetsCols), "tweet_time", "tweet_timestamp", 1),
		"empty.csv":          "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{writeSource(t, dir, name, []byte(body))}},
				DefaultParams(), t.TempDir(), nil)
			if !errors.Is(err, ErrUnknownHeader) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name the file: %v", err)
			}
			if body != "" && !strings.Contains(err.Error(), "missing tweetid") && !strings.Contains(err.Error(), "missing tweet_time") {
				t.Errorf("error does not name missing columns: %v", err)
			}
		})
	}
}

func TestOutputsRemovedOnError(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	files := []SourceFile{
		writeSource(t, dir, "a.csv", []byte(csvText(tweetsCols, tweet(0, nil)))),
		writeSource(t, dir, "b.csv", []byte("nope\n")),
	}
	if _, err := Run(context.Background(), Input{Dataset: "d", Files: files}, DefaultParams(), out, nil); err == nil {
		t.Fatal("no error")
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("left %d files in outDir", len(ents))
	}
}

func TestCorruptArchive(t *testing.T) {
	body := csvText(tweetsCols, tweet(0, nil), tweet(1, nil))
	z := zipBytes(t, zipEntry{"tweets.csv", body})
	badCRC := append([]byte(nil), z...)
	// Flip a byte of the deflated data: the entry opens, reading fails.
	badCRC[60] ^= 0xff
	gz := gzipBytes(t, body)
	for name, content := range map[string][]byte{
		"cut.zip":     z[:len(z)/2],
		"garbage.zip": append([]byte("PK\x03\x04"), bytes.Repeat([]byte{7}, 100)...),
		"crc.zip":     badCRC,
		"cut.csv.gz":  gz[:len(gz)-10],
		"bad.gz":      append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{1}, 50)...),
		"data.bz2":    []byte("BZh91AY&SY..."),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{writeSource(t, t.TempDir(), name, content)}},
				DefaultParams(), t.TempDir(), nil)
			if !errors.Is(err, ErrCorruptArchive) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestZipInnerNameDiffers(t *testing.T) {
	body := csvText(tweetsColsOct2018, tweet(0, nil), tweet(1, nil))
	z := zipBytes(t,
		zipEntry{"__MACOSX/._russian_linked_tweets_csv_hashed.csv", "junk"},
		zipEntry{"russian_linked_tweets_csv_hashed.csv", body})
	r := run(t, writeSource(t, t.TempDir(), "ira_tweets_csv_hashed.zip", z))
	if len(r.posts) != 2 || len(r.stats.Files) != 1 {
		t.Fatalf("stats %+v", r.stats)
	}
	fs := r.stats.Files[0]
	if fs.File != "ira_tweets_csv_hashed.zip" || fs.Entry != "russian_linked_tweets_csv_hashed.csv" {
		t.Errorf("file stats %+v", fs)
	}
	if r.posts[0].SourceFile != "ira_tweets_csv_hashed.zip!russian_linked_tweets_csv_hashed.csv" {
		t.Errorf("source_file %q", r.posts[0].SourceFile)
	}
}

func TestGzipInput(t *testing.T) {
	body := csvText(tweetsCols, tweet(0, nil), tweet(1, nil))
	r := run(t, writeSource(t, t.TempDir(), "x_tweets_csv_unhashed.csv.gz", gzipBytes(t, body)))
	if len(r.posts) != 2 || r.posts[0].SourceFile != "x_tweets_csv_unhashed.csv.gz" {
		t.Fatalf("posts %+v", r.posts)
	}
}

func TestAccounts(t *testing.T) {
	hex := strings.Repeat("ab12", 16)
	b64 := "+4ivxsK1TsNx5Ngu0f4TZwmXpUmVQAY5Y0EHCAE1234="
	dir := t.TempDir()
	users := csvText(usersCols,
		user("500", nil),
		user(hex, map[string]string{"follower_count": "", "account_creation_date": ""}),
		user("500", nil), // duplicate
		user("501", map[string]string{"account_creation_date": "2013-02-30"}),
	)
	tweets := csvText(tweetsCols,
		tweet(0, map[string]string{"userid": "900", "user_screen_name": "first"}),
		tweet(1, map[string]string{"userid": "500"}),
		tweet(2, map[string]string{"userid": "900", "user_screen_name": "second"}),
		tweet(3, map[string]string{"userid": "800"}),
	)
	// The tweets file sorts first: posts-only accounts must still be known
	// only after the users file is read.
	r := run(t,
		writeSource(t, dir, "c_users_csv_hashed.csv", []byte(users)),
		writeSource(t, dir, "c_tweets_csv_hashed.csv", []byte(tweets)),
	)
	var ids []string
	for _, a := range r.accounts {
		ids = append(ids, a.AccountID)
	}
	if want := []string{"500", hex, "800", "900"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("account order %v, want %v", ids, want)
	}
	if got := reasons(r); !reflect.DeepEqual(got, []string{ReasonDuplicateID, ReasonBadTime}) {
		t.Errorf("rejects %v", got)
	}
	a0, a1, a3 := r.accounts[0], r.accounts[1], r.accounts[3]
	if !a0.InUsersFile || a0.IDHashed || a0.CreatedAt == nil || *a0.CreatedAt != time.Date(2013, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("users account %+v", a0)
	}
	if !a1.IDHashed || a1.Followers != nil || a1.CreatedAt != nil {
		t.Errorf("hashed account %+v", a1)
	}
	if a3.InUsersFile || a3.ScreenName != "first" || a3.SourceFile != "c_tweets_csv_hashed.csv" || a3.SourceLine != 2 {
		t.Errorf("posts-only account %+v", a3)
	}
	if r.stats.AccountsOnlyInPosts != 2 || r.stats.IDHashFamily != FamilyHex64 {
		t.Errorf("stats %+v", r.stats)
	}

	// A second hash family makes the dataset "mixed".
	r = run(t, writeSource(t, t.TempDir(), "u.csv", []byte(csvText(usersCols, user(hex, nil), user(b64, nil)))))
	if r.stats.IDHashFamily != FamilyMixed || !r.accounts[1].IDHashed {
		t.Errorf("family %q, accounts %+v", r.stats.IDHashFamily, r.accounts)
	}
}

func TestCamelCaseUsersHeader(t *testing.T) {
	cols := []string{"userid", "userDisplayName", "userScreenName", "userReportedLocation",
		"userProfileDescription", "userProfileUrl", "followerCount", "followingCount",
		"accountCreationDate", "accountLanguage"}
	var b strings.Builder
	b.WriteString(strings.Join(cols, ",") + "\n")
	b.WriteString("7,Seven,seven,Here,desc,,1,2,2015-01-01,zh\n")
	r := run(t, writeSource(t, t.TempDir(), "cncc_users.csv", []byte(b.String())))
	if len(r.accounts) != 1 || r.accounts[0].ScreenName != "seven" || r.accounts[0].Language != "zh" {
		t.Fatalf("accounts %+v", r.accounts)
	}
}

func TestTimes(t *testing.T) {
	at := time.Date(2019, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	rows := []map[string]string{
		tweet(0, map[string]string{"tweetid": snowflake(at, 1), "tweet_time": "2019-01-02 03:04"}),
		tweet(1, map[string]string{"tweetid": snowflake(at, 2), "tweet_time": "2019-01-02 03:09"}), // 5 min off
		tweet(2, map[string]string{"tweetid": snowflake(at, 3), "tweet_time": ""}),
	}
	r := run(t, writeSource(t, t.TempDir(), "t.csv", []byte(csvText(tweetsCols, rows...))))
	if len(r.posts) != 3 {
		t.Fatalf("rejects %+v", r.rejects)
	}
	for _, p := range r.posts {
		if p.PostedAt != at.UnixMilli() || p.PostedAtPrecision != schema.PrecisionMillisecond {
			t.Errorf("posted_at %d %s, want %d ms", p.PostedAt, p.PostedAtPrecision, at.UnixMilli())
		}
	}
	if r.stats.TimeDisagreements != 1 || r.stats.Files[0].Warnings[WarnTimeDisagreement] != 1 {
		t.Errorf("disagreements %d", r.stats.TimeDisagreements)
	}
	if *r.stats.FirstPostAt != at.UnixMilli() || *r.stats.LastPostAt != at.UnixMilli() {
		t.Errorf("first/last %d %d", *r.stats.FirstPostAt, *r.stats.LastPostAt)
	}
}

func TestFormatParam(t *testing.T) {
	f := writeSource(t, t.TempDir(), "t.csv", []byte(csvText(tweetsCols, tweet(0, nil))))
	st, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, Params{Format: FormatTwitterIO}, t.TempDir(), nil)
	if err != nil || st.Posts != 1 || st.Files[0].Format != FormatTwitterIO {
		t.Fatalf("%v %+v", err, st)
	}
	if _, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, Params{Format: "x"}, t.TempDir(), nil); err == nil {
		t.Fatal("invalid params accepted")
	}
}

func TestCancel(t *testing.T) {
	f := writeSource(t, t.TempDir(), "t.csv", []byte(csvText(tweetsCols, tweet(0, nil))))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Input{Dataset: "d", Files: []SourceFile{f}}, DefaultParams(), t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestMissingOptionalColumns(t *testing.T) {
	cols := []string{"tweetid", "userid", "tweet_text", "tweet_time", "extra_col"}
	r := run(t, writeSource(t, t.TempDir(), "t.csv", []byte(csvText(cols, tweet(0, map[string]string{"extra_col": "x"})))))
	fs := r.stats.Files[0]
	if len(r.posts) != 1 || len(fs.MissingColumns) != 27 || !reflect.DeepEqual(fs.ExtraColumns, []string{"extra_col"}) {
		t.Fatalf("posts %d missing %v extra %v", len(r.posts), fs.MissingColumns, fs.ExtraColumns)
	}
}

// TestDeterminism runs the same input twice, with different GOMAXPROCS and
// file order, and compares the bytes of every output.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	var rows []map[string]string
	for i := 0; i < 500; i++ {
		over := map[string]string{"userid": "u" + string(rune('a'+i%20)), "hashtags": "['x', 'y']"}
		if i%50 == 7 {
			over["like_count"] = "oops"
		}
		rows = append(rows, tweet(i, over))
	}
	files := []SourceFile{
		writeSource(t, dir, "b_tweets.csv", []byte(csvText(tweetsCols, rows[:250]...))),
		writeSource(t, dir, "a_tweets.zip", zipBytes(t, zipEntry{"inner.csv", csvText(tweetsColsOct2018, rows[250:]...)})),
		writeSource(t, dir, "c_users.csv.gz", gzipBytes(t, csvText(usersCols, user("ua", nil), user("zz", nil)))),
	}
	var outs [][]byte
	for i, procs := range []int{1, 4} {
		old := runtime.GOMAXPROCS(procs)
		in := append([]SourceFile(nil), files...)
		if i == 1 {
			in[0], in[2] = in[2], in[0]
		}
		r := run(t, in...)
		runtime.GOMAXPROCS(old)
		var all []byte
		for _, name := range []string{"accounts", "posts", "rejects"} {
			b, err := os.ReadFile(filepath.Join(r.dir, name+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		outs = append(outs, all)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("outputs differ between runs")
	}
}

func TestRecordTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 17 MB")
	}
	body := quoteAll(tweetsCols) + `"1","` + strings.Repeat("a", MaxRecordBytes+1024)
	f := writeSource(t, t.TempDir(), "open-quote.csv", []byte(body))
	_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, DefaultParams(), t.TempDir(), nil)
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "open-quote.csv") || !strings.Contains(err.Error(), "line 2 opens a quoted field that is never closed") {
		t.Fatalf("err = %v", err)
	}
	// The same record, closed, is a too_large reject; the next is read.
	big := tweet(0, map[string]string{"tweet_text": strings.Repeat("a", MaxRecordBytes+1024)})
	r := run(t, writeSource(t, t.TempDir(), "big.csv", []byte(csvText(tweetsCols, tweet(1, nil), big, tweet(2, nil)))))
	if got := reasons(r); len(got) != 1 || got[0] != ReasonTooLarge || len(r.posts) != 2 {
		t.Fatalf("rejects %v, posts %d", got, len(r.posts))
	}
	if rj := r.rejects[0]; rj.SourceLine != 3 || len(rj.Raw) != RejectRawPrefix || !strings.HasPrefix(csvText(tweetsCols, big), quoteAll(tweetsCols)+string(rj.Raw)) {
		t.Fatalf("reject line %d, %d raw bytes", rj.SourceLine, len(rj.Raw))
	}
}

// TestRawBufferBounded checks that the raw-byte buffer holds about one
// record, not the file.
func TestRawBufferBounded(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		b.WriteString(`"a","b` + strings.Repeat("x", i%300) + "\"\n")
	}
	rr := newRecordReader(strings.NewReader(b.String()))
	maxBuf, n := 0, 0
	for {
		rec, err := rr.next()
		if err != nil {
			break
		}
		n++
		if len(rec.fields) != 2 || string(rec.raw) != `"a","b`+strings.Repeat("x", (n-1)%300)+`"` {
			t.Fatalf("record %d: %q", n, rec.raw)
		}
		maxBuf = max(maxBuf, len(rr.t.buf))
	}
	if n != 20000 || maxBuf > 2*fillSize {
		t.Fatalf("records %d, buffer peaked at %d bytes", n, maxBuf)
	}
}

func TestCRLF(t *testing.T) {
	body := strings.ReplaceAll(csvText(tweetsCols, tweet(0, nil), tweet(1, map[string]string{"is_retweet": "maybe"})), "\n", "\r\n")
	r := run(t, writeSource(t, t.TempDir(), "crlf.csv", []byte(body)))
	if len(r.posts) != 1 || len(r.rejects) != 1 {
		t.Fatalf("posts %d rejects %+v", len(r.posts), r.rejects)
	}
	if raw := r.rejects[0].Raw; bytes.HasSuffix(raw, []byte("\r")) || !bytes.HasSuffix(raw, []byte(`""`)) {
		t.Errorf("raw %q", raw)
	}
}

// TestDeterminismManyBatches runs files spanning many batches, read in
// parallel, under several GOMAXPROCS values: the bytes must not change.
func TestDeterminismManyBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3 files of 3,000 rows")
	}
	dir := t.TempDir()
	var files []SourceFile
	for f := 0; f < 3; f++ {
		var rows []map[string]string
		for i := 0; i < 3000; i++ {
			over := map[string]string{"userid": "u" + strconv.Itoa((i*7+f)%400), "tweet_text": strings.Repeat("x", i%300)}
			if i%97 == 5 {
				over["tweet_time"] = "yesterday"
			}
			rows = append(rows, tweet(f*3000+i, over))
		}
		files = append(files, writeSource(t, dir, "part_"+strconv.Itoa(f)+".csv", []byte(csvText(tweetsCols, rows...))))
	}
	var first []byte
	defer func(n int) { authorChunk = n }(authorChunk)
	// The last run spills the 400 accounts seen only in posts in chunks of
	// 7, merged by id: the same bytes.
	for i, procs := range []int{1, 2, 8, 2} {
		if i == 3 {
			authorChunk = 7
		}
		old := runtime.GOMAXPROCS(procs)
		r := run(t, files...)
		runtime.GOMAXPROCS(old)
		if entries, _ := os.ReadDir(r.dir); len(entries) != 3 {
			t.Errorf("output dir holds %d entries, want the 3 tables (spill left behind?)", len(entries))
		}
		if r.stats.Posts != 9000-3*31 || r.stats.Rejects != 3*31 {
			t.Fatalf("GOMAXPROCS %d: posts %d, rejects %d", procs, r.stats.Posts, r.stats.Rejects)
		}
		var all []byte
		for _, name := range []string{"accounts", "posts", "rejects"} {
			b, err := os.ReadFile(filepath.Join(r.dir, name+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		if first == nil {
			first = all
		} else if !bytes.Equal(first, all) {
			t.Fatalf("GOMAXPROCS %d: outputs differ from GOMAXPROCS 1", procs)
		}
	}
}

func TestMixedHashing(t *testing.T) {
	dir := t.TempDir()
	body := []byte(csvText(tweetsCols, tweet(0, nil)))
	for _, c := range []struct {
		names []string
		ok    bool
	}{
		{[]string{"x_tweets_csv_hashed.zip", "x_users_csv_hashed.zip"}, true},
		{[]string{"x_tweets_csv_unhashed.csv.gz", "x_users_csv_unhashed.csv.gz"}, true},
		{[]string{"x_tweets_csv_hashed.zip", "x_tweets_csv_unhashed.csv.gz"}, false},
	} {
		var files []SourceFile
		for _, n := range c.names {
			files = append(files, writeSource(t, dir, n, body))
		}
		_, err := Run(context.Background(), Input{Dataset: "d", Files: files}, DefaultParams(), t.TempDir(), nil)
		if (err == nil) != c.ok || (!c.ok && !errors.Is(err, ErrMixedHashing)) {
			t.Errorf("%q: err %v", c.names, err)
		}
	}
}
