package normalize

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// runP runs the stage with parameters p and reads its outputs back, as run
// does; it returns the error of Run instead of failing on it.
func runP(t testing.TB, p Params, files ...SourceFile) (result, error) {
	t.Helper()
	out := t.TempDir()
	st, err := Run(context.Background(), Input{Dataset: "test/ds", Files: files}, p, out, nil)
	if err != nil {
		return result{}, err
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
	return r, nil
}

func strp(s string) *string { return &s }

func TestParseMap(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "account=author_id,post=id,time=created_at", want: "account=author_id,post=id,time=created_at"},
		{in: " time = ts:ms , post=id,account=a, urls=links ", want: "account=a,post=id,time=ts:ms,urls=links"},
		{in: "account=a,post=p,time=t:RFC3339,text=body,repost_of=rt,lang=l", want: "account=a,post=p,time=t:rfc3339,text=body,repost_of=rt,lang=l"},
		{in: "Account=a,POST=p,time=my:col:s", want: "account=a,post=p,time=my:col:s"},
		{in: "", err: "the column map is empty"},
		{in: "account=a,,post=p,time=t", err: "item 2 is empty"},
		{in: "account=a,post,time=t", err: `item 2 "post" is not key=column`},
		{in: "acount=a,post=p,time=t", err: `unknown key "acount" (keys: account, post, time, text,`},
		{in: "account=,post=p,time=t", err: "key account names no column"},
		{in: "account=a,post=p,time=t,account=b", err: "key account is given twice"},
		{in: "account=a,post=p", err: "required keys missing: time"},
		{in: "text=x", err: "required keys missing: account, post, time"},
		{in: "account=a,post=p,time=t:minutes", err: `unknown time spelling "minutes"`},
		{in: "account=a,post=p,time=:s", err: "key time names no column"},
		{in: "account=a=b,post=p,time=t", err: `column "a=b" contains '='`},
	} {
		m, err := ParseMap(c.in)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMap(%q) error %v, want %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("ParseMap(%q): %v", c.in, err)
		case m.String() != c.want:
			t.Errorf("ParseMap(%q) = %q, want %q", c.in, m.String(), c.want)
		case CanonicalMap(c.in) != c.want:
			t.Errorf("CanonicalMap(%q) = %q", c.in, CanonicalMap(c.in))
		}
	}
}

func TestParamsValidateMap(t *testing.T) {
	for _, c := range []struct {
		p   Params
		err string
	}{
		{Params{Format: FormatAuto, Map: "account=a,post=p,time=t"}, ""},
		{Params{Format: FormatGeneric, Map: "account=a,post=p,time=t"}, ""},
		{Params{Format: FormatGeneric}, ""}, // Run refuses it: the descriptor may still give the map
		{Params{Format: FormatToolkit, Map: "account=a,post=p,time=t"}, "map: a column map is for the generic format, not cnt"},
		{Params{Format: FormatAuto, Map: "account=a"}, "map: required keys missing: post, time"},
	} {
		err := c.p.Validate()
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: Validate() = %v, want %q", c.p, err, c.err)
		}
	}
	_, err := Run(context.Background(), Input{}, Params{Format: FormatGeneric}, t.TempDir(), nil)
	if !errors.Is(err, ErrNoColumnMap) || errkind.Of(err) != errkind.Usage {
		t.Errorf("generic without a map: %v", err)
	}
}

func TestWithFormatHintMap(t *testing.T) {
	const m = "time=t,post=p,account=a"
	const canon = "account=a,post=p,time=t"
	for _, c := range []struct {
		p                Params
		descFmt, descMap string
		want             Params
	}{
		{Params{Format: FormatAuto}, "twitter-io", "", Params{Format: FormatAuto}},
		{Params{Format: FormatAuto, Map: m}, "twitter-io", "", Params{Format: FormatGeneric, Map: canon}},
		{Params{Format: FormatAuto}, FormatGeneric, m, Params{Format: FormatGeneric, Map: canon}},
		{Params{Format: FormatAuto}, FormatAuto, m, Params{Format: FormatGeneric, Map: canon}},
		{Params{Format: FormatGeneric}, FormatGeneric, m, Params{Format: FormatGeneric, Map: canon}},
		// A map given to the run wins over the descriptor's.
		{Params{Format: FormatAuto, Map: "account=x,post=y,time=z"}, FormatGeneric, m, Params{Format: FormatGeneric, Map: "account=x,post=y,time=z"}},
		// An explicit other format keeps it, and no map is taken.
		{Params{Format: FormatToolkit}, FormatGeneric, m, Params{Format: FormatToolkit}},
		{Params{Format: FormatAuto}, FormatTwarc2, "", Params{Format: FormatTwarc2}},
	} {
		if got := WithFormatHint(c.p, c.descFmt, c.descMap); got != c.want {
			t.Errorf("WithFormatHint(%+v, %s, %q) = %+v, want %+v", c.p, c.descFmt, c.descMap, got, c.want)
		}
	}
}

func TestTimeSpellings(t *testing.T) {
	for _, c := range []struct {
		v, unit string
		ms      int64
		prec    string
	}{
		{"2021-03-04T05:06:07Z", TimeRFC3339, 1614834367000, schema.PrecisionSecond},
		{"2021-03-04T05:06:07.000Z", TimeRFC3339, 1614834367000, schema.PrecisionSecond},
		{"2021-03-04T05:06:07.250Z", TimeRFC3339, 1614834367250, schema.PrecisionMillisecond},
		{"2021-03-04 07:06:07+02:00", TimeRFC3339, 1614834367000, schema.PrecisionSecond},
		{"1614834367", TimeEpochS, 1614834367000, schema.PrecisionSecond},
		{"1614834367.5", TimeEpochS, 1614834367500, schema.PrecisionMillisecond},
		{"99999999999", TimeEpochS, 99999999999000, schema.PrecisionSecond},
		{"100000000000", TimeEpochMs, 100000000000, schema.PrecisionMillisecond},
		{"1614834367250", TimeEpochMs, 1614834367250, schema.PrecisionMillisecond},
		{"0", TimeEpochS, 0, schema.PrecisionSecond},
		{"2021-03-04", "", 0, ""},
		{"03/04/2021 05:06", "", 0, ""},
		{"-5", "", 0, ""},
		{"1614834367250.5", "", 0, ""},
		{"", "", 0, ""},
	} {
		unit := detectTimeUnit(c.v)
		if unit != c.unit {
			t.Errorf("detectTimeUnit(%q) = %q, want %q", c.v, unit, c.unit)
			continue
		}
		if unit == "" {
			continue
		}
		ms, prec, ok := parseTimeAs(c.v, unit)
		if !ok || ms != c.ms || prec != c.prec {
			t.Errorf("parseTimeAs(%q, %s) = %d %s %v, want %d %s", c.v, unit, ms, prec, ok, c.ms, c.prec)
		}
	}
	// A file read in seconds rejects a millisecond value, and the reverse.
	if _, _, ok := parseTimeAs("1614834367250", TimeEpochS); ok {
		t.Error("ms value read as seconds")
	}
	if _, _, ok := parseTimeAs("2021-03-04T05:06:07Z", TimeEpochMs); ok {
		t.Error("RFC 3339 value read as ms")
	}
}

const genericHeader = "Author ID,tweet id,created,body,rt_of,links,tags,language,handle\n"

func TestGenericCSV(t *testing.T) {
	const m = "account=author_id,post=tweet_id,time=created,text=body,repost_of=rt_of,urls=links,hashtags=tags,lang=language,screen_name=handle"
	for _, c := range []struct {
		name, t1, t2, mapTime string
		want1, want2          int64
		format                string
	}{
		{"rfc3339", "2021-03-04T05:06:07Z", "2021-03-04T05:07:07.5Z", "", 1614834367000, 1614834427500, "rfc3339 (detected)"},
		{"seconds", "1614834367", "1614834427", "", 1614834367000, 1614834427000, "epoch_s (detected)"},
		{"milliseconds", "1614834367000", "1614834427001", "", 1614834367000, 1614834427001, "epoch_ms (detected)"},
		{"map fixes ms", "1614834367000", "1614834427001", ":ms", 1614834367000, 1614834427001, "epoch_ms (map)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := genericHeader +
				",,,first row has no time nor id: detection looks further,,,,,\n" +
				"u1,10," + c.t1 + ",hello #tagged @x,,https://a.example/1 https://b.example/2,\"[\"\"one\"\", \"\"#two\"\"]\",en,alice\n" +
				"u2,11," + c.t2 + ",RT hello,10,,,en,bob\n" +
				"u2,12,not a time,x,,,,,bob\n" +
				"u3,1.2E+17," + c.t1 + ",x,,,,,\n" +
				"u3,13," + c.t1 + ",x,,,[unclosed,,\n"
			r, err := runP(t, Params{Format: FormatAuto, Map: strings.Replace(m, "time=created", "time=created"+c.mapTime, 1)},
				writeSource(t, t.TempDir(), "posts.csv", []byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := reasons(r), []string{ReasonBadID, ReasonBadTime, ReasonIDRounded, ReasonBadList}; !reflect.DeepEqual(got, want) {
				t.Fatalf("reasons %q, want %q (%+v)", got, want, r.rejects)
			}
			fs := r.stats.Files[0]
			if fs.Format != FormatGeneric || fs.TimeFormat != c.format || fs.RowsIn != 6 || fs.RowsWritten != 2 {
				t.Errorf("file stats %+v", fs)
			}
			if len(fs.ExtraColumns) != 0 {
				t.Errorf("extra columns %v", fs.ExtraColumns)
			}
			if len(r.posts) != 2 {
				t.Fatalf("posts %+v", r.posts)
			}
			p := r.posts[0]
			if p.PostID != "10" || p.AccountID != "u1" || p.PostedAt != c.want1 || p.Language != "en" || p.IsRepost ||
				!reflect.DeepEqual(p.URLs, []string{"https://a.example/1", "https://b.example/2"}) ||
				!reflect.DeepEqual(p.Hashtags, []string{"one", "two"}) || !reflect.DeepEqual(p.Mentions, []string{"x"}) {
				t.Errorf("post 1 %+v", p)
			}
			p = r.posts[1]
			if p.PostID != "11" || p.PostedAt != c.want2 || !p.IsRepost || p.RepostOfPostID == nil || *p.RepostOfPostID != "10" || len(p.URLs) != 0 {
				t.Errorf("post 2 %+v", p)
			}
			if len(r.accounts) != 2 || r.accounts[0].ScreenName != "alice" || r.accounts[1].ScreenName != "bob" {
				t.Errorf("accounts %+v", r.accounts)
			}
			if !strings.Contains(r.stats.Table(), "generic time="+strings.Fields(c.format)[0]) {
				t.Errorf("table does not say the time spelling:\n%s", r.stats.Table())
			}
		})
	}
}

func TestGenericBadInput(t *testing.T) {
	for _, c := range []struct {
		name, m, body string
		is            error
		msg           []string
	}{
		{"map names a missing column", "account=author_id,post=id,time=created_at",
			"author_id,id,time\nu,1,1614834367\n", ErrUnknownHeader,
			[]string{"posts.csv: line 1:", "columns [author_id,id,time]", "time=created_at names no column of the file"}},
		{"unknown time spelling", "account=author_id,post=id,time=when",
			"author_id,id,when\nu,1,\nu,2,4 March 2021\n", ErrTimeColumn,
			[]string{"posts.csv: line 3: column when (map key time)", `"4 March 2021" is neither RFC 3339`}},
		{"a broken Parquet file", "account=author_id,post=id,time=created_at",
			"PAR1 and nothing a Parquet reader can use", ErrCorruptArchive,
			[]string{"posts.csv: corrupt or unsupported archive: not a readable parquet file"}},
		{"a JSON file with a map", "account=author_id,post=id,time=created_at",
			`{"id":"1","author_id":"2","created_at":"2021-03-04T05:06:07.000Z","text":"x"}` + "\n", ErrUnknownHeader,
			[]string{"posts.csv: line 1:", "no format allowed here reads JSON lines"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := runP(t, Params{Format: FormatAuto, Map: c.m}, writeSource(t, t.TempDir(), "posts.csv", []byte(c.body)))
			if !errors.Is(err, c.is) || errkind.Of(err) != errkind.BadInput {
				t.Fatalf("error %v, want %v (bad input)", err, c.is)
			}
			for _, s := range c.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// genericParquetRow is a Parquet file of someone else's making.
type genericParquetRow struct {
	User     string   `parquet:"user"`
	ID       int64    `parquet:"id"`
	At       int64    `parquet:"at,timestamp(millisecond:utc)"`
	Body     string   `parquet:"body"`
	Tags     []string `parquet:"tags,list"`
	Repost   *string  `parquet:"repost,optional"`
	Ignored  float64  `parquet:"score"`
	Language string   `parquet:"lang"`
}

func TestGenericParquet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in")
	w, err := pqio.Create[genericParquetRow](path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC).UnixMilli()
	if err := w.Write(
		genericParquetRow{User: "u1", ID: 10, At: at, Body: "hi", Tags: []string{"a", "b"}, Language: "en"},
		genericParquetRow{User: "u2", ID: 11, At: at + 1500, Body: "RT hi", Repost: strp("10")},
		genericParquetRow{User: "", ID: 12, At: at},
	); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := runP(t, Params{Format: FormatGeneric, Map: "account=user,post=id,time=at,text=body,hashtags=tags,repost_of=repost,lang=lang"},
		SourceFile{Name: "posts.parquet", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := reasons(r); !reflect.DeepEqual(got, []string{ReasonBadID}) {
		t.Fatalf("reasons %q", got)
	}
	if rj := r.rejects[0]; rj.SourceLine != 3 || !strings.HasPrefix(string(rj.Raw), ",12,2021-03-04T05:06:07.000Z,") {
		t.Errorf("reject %+v (raw %q)", rj, rj.Raw)
	}
	fs := r.stats.Files[0]
	if fs.TimeFormat != "rfc3339 (detected)" || !reflect.DeepEqual(fs.ExtraColumns, []string{"score"}) {
		t.Errorf("file stats %+v", fs)
	}
	want := []schema.Post{
		{Dataset: "test/ds", PostID: "10", AccountID: "u1", PostedAt: at, PostedAtPrecision: schema.PrecisionSecond, Text: "hi", Language: "en",
			Hashtags: []string{"a", "b"}, SourceFile: "posts.parquet", SourceLine: 1},
		{Dataset: "test/ds", PostID: "11", AccountID: "u2", PostedAt: at + 1500, PostedAtPrecision: schema.PrecisionMillisecond, Text: "RT hi",
			IsRepost: true, RepostOfPostID: strp("10"), SourceFile: "posts.parquet", SourceLine: 2},
	}
	for i := range r.posts {
		// Parquet reads empty lists back as empty, not nil.
		if len(r.posts[i].Hashtags) == 0 {
			r.posts[i].Hashtags = nil
		}
		r.posts[i].URLs, r.posts[i].Mentions, r.posts[i].PollChoices = nil, nil, nil
	}
	if !reflect.DeepEqual(r.posts, want) {
		t.Errorf("posts\n%+v\nwant\n%+v", r.posts, want)
	}
}

// twarc2Lines are flattened API v2 tweets as `twarc2 flatten` writes them
// (trimmed to the fields the format reads, plus some it ignores).
var twarc2Lines = []string{
	`{"id":"1367696003131445250","author_id":"100","created_at":"2021-03-05T04:00:00.000Z","text":"hello #one https://t.co/x","lang":"en","source":"Twitter Web App","conversation_id":"1367696003131445250","public_metrics":{"retweet_count":2,"reply_count":1,"like_count":5,"quote_count":0},"entities":{"hashtags":[{"start":6,"end":10,"tag":"one"}],"urls":[{"start":11,"end":34,"url":"https://t.co/x","expanded_url":"https://example.org/a","display_url":"example.org/a"}],"mentions":[{"start":0,"end":4,"username":"bob","id":"200"}]},"author":{"id":"100","username":"alice","name":"Alice A","description":"about me","location":"here","created_at":"2012-01-02T03:04:05.000Z","public_metrics":{"followers_count":10,"following_count":20,"tweet_count":30,"listed_count":0},"verified":false},"__twarc":{"url":"https://api.twitter.com/2/tweets/search/all","version":"2.14.0","retrieved_at":"2023-01-01T00:00:00+00:00"}}`,
	`{"id":"1367696003131445251","author_id":"200","created_at":"2021-03-05T04:00:00.000Z","text":"RT @alice: hello #one","lang":"en","referenced_tweets":[{"type":"retweeted","id":"1367696003131445250","author_id":"100","text":"hello #one","author":{"id":"100","username":"alice"}}],"author":{"id":"200","username":"bob","name":"Bob","created_at":"2020-01-01T00:00:00.000Z","public_metrics":{"followers_count":1,"following_count":2}},"__twarc":{"version":"2.14.0"}}`,
	`{"id":"1367696003131445252","author_id":"100","created_at":"2021-03-05T04:00:00.000Z","text":"@bob yes","in_reply_to_user_id":"200","referenced_tweets":[{"type":"replied_to","id":"1367696003131445251"},{"type":"quoted","id":"1367696003131445250"}],"geo":{"place_id":"p","coordinates":{"type":"Point","coordinates":[13.4,52.5]}},"author":{"id":"100","username":"alice"}}`,
	`{"id":"1367696003131445253","author_id":"","created_at":"2021-03-05T04:00:00.000Z","text":"no author"}`,
	`{"id":"1367696003131445254","author_id":"300","created_at":"yesterday","text":"bad time"}`,
	`{"id":1367696003131445255,"author_id":"300"}`,
	`{"id":"1367696003131445256","author_id":"300","created_at":"2021-03-05T04:00:00.000Z","text":"cut sh`,
}

func TestTwarc2(t *testing.T) {
	body := strings.Join(twarc2Lines[:3], "\n") + "\n\n" + strings.Join(twarc2Lines[3:], "\r\n")
	r := run(t, writeSource(t, t.TempDir(), "search.jsonl", []byte(body)))
	if got, want := reasons(r), []string{ReasonBadID, ReasonBadTime, ReasonBadJSON, ReasonBadJSON}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if lines := []int64{r.rejects[0].SourceLine, r.rejects[3].SourceLine}; lines[0] != 5 || lines[1] != 8 {
		t.Errorf("reject lines %v (blank line 4 counts)", lines)
	}
	if string(r.rejects[3].Raw) != twarc2Lines[6] {
		t.Errorf("raw %q", r.rejects[3].Raw)
	}
	fs := r.stats.Files[0]
	if fs.Format != FormatTwarc2 || fs.Kind != "tweets" || fs.RowsIn != 7 || fs.RowsWritten != 3 {
		t.Errorf("file stats %+v", fs)
	}
	if len(r.posts) != 3 {
		t.Fatalf("posts %+v", r.posts)
	}
	snow, _ := snowflakeMillis("1367696003131445250")
	p := r.posts[0]
	if p.PostID != "1367696003131445250" || p.AccountID != "100" || p.PostedAt != snow || p.PostedAtPrecision != schema.PrecisionMillisecond ||
		p.Text != "hello #one https://t.co/x" || p.Language != "en" || p.Client != "Twitter Web App" ||
		!reflect.DeepEqual(p.Hashtags, []string{"one"}) || !reflect.DeepEqual(p.URLs, []string{"https://example.org/a"}) ||
		!reflect.DeepEqual(p.Mentions, []string{"bob"}) || *p.Likes != 5 || *p.Reposts != 2 || *p.Replies != 1 || *p.Quotes != 0 || p.IsRepost {
		t.Errorf("post 1 %+v", p)
	}
	p = r.posts[1]
	if !p.IsRepost || *p.RepostOfPostID != "1367696003131445250" || *p.RepostOfAccountID != "100" || p.Likes != nil {
		t.Errorf("retweet %+v", p)
	}
	p = r.posts[2]
	if *p.ReplyToPostID != "1367696003131445251" || *p.ReplyToAccountID != "200" || *p.QuotedPostID != "1367696003131445250" ||
		*p.Latitude != 52.5 || *p.Longitude != 13.4 || p.IsRepost {
		t.Errorf("reply %+v", p)
	}
	if len(r.accounts) != 2 {
		t.Fatalf("accounts %+v", r.accounts)
	}
	a := r.accounts[0]
	created := time.Date(2012, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()
	if a.AccountID != "100" || a.ScreenName != "alice" || a.DisplayName != "Alice A" || a.Description != "about me" || a.Location != "here" ||
		*a.CreatedAt != created || *a.Followers != 10 || *a.Following != 20 || a.InUsersFile || a.SourceLine != 1 {
		t.Errorf("account %+v", a)
	}
	if b := r.accounts[1]; b.ScreenName != "bob" || *b.Followers != 1 {
		t.Errorf("account %+v", b)
	}
}

func TestTwarc2Refused(t *testing.T) {
	for _, c := range []struct {
		name, body string
		is         error
		msg        []string
	}{
		{"API v1.1", `{"created_at":"Fri Mar 05 04:00:00 +0000 2021","id":1367696003131445250,"id_str":"1367696003131445250","full_text":"x","user":{"id_str":"1"}}` + "\n",
			ErrOtherVersion, []string{"tweets.jsonl: line 1:", "Twitter API v1.1 tweet", "the twarc2 format reads API v2 tweets only"}},
		{"not flattened", "\n" + `{"data":[{"id":"1","text":"x"}],"includes":{"users":[]},"meta":{"result_count":1}}` + "\n",
			ErrOtherVersion, []string{"tweets.jsonl: line 2:", "twarc2 flatten"}},
		{"other JSON", `{"a":1,"b":2}` + "\n", ErrUnknownHeader, []string{"tweets.jsonl: line 1:", "the first line is no", "its keys are a, b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := runP(t, DefaultParams(), writeSource(t, t.TempDir(), "tweets.jsonl", []byte(c.body)))
			if !errors.Is(err, c.is) || errkind.Of(err) != errkind.BadInput {
				t.Fatalf("error %v, want %v (bad input)", err, c.is)
			}
			for _, s := range c.msg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestCoorTweet(t *testing.T) {
	body := "object_id,account_id,content_id,timestamp_share\n" +
		"https://news.example/a,acc1,c1,1600000000\n" +
		"https://news.example/a,acc2,c2,1600000030.5\n" +
		",acc3,c3,1600000060\n" +
		"obj,acc3,c4,1600000060000\n" +
		"obj,acc3,c5,soon\n"
	r := run(t, writeSource(t, t.TempDir(), "coord.csv", []byte(body)))
	if got, want := reasons(r), []string{ReasonBadID, ReasonBadTime, ReasonBadTime}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if !strings.Contains(r.rejects[1].Detail, "milliseconds") {
		t.Errorf("detail %q", r.rejects[1].Detail)
	}
	if fs := r.stats.Files[0]; fs.Format != FormatCoorTweet || fs.Kind != "shares" {
		t.Errorf("file stats %+v", fs)
	}
	want := []schema.Post{
		{Dataset: "test/ds", PostID: "c1", AccountID: "acc1", PostedAt: 1600000000000, PostedAtPrecision: schema.PrecisionSecond,
			IsRepost: true, RepostOfPostID: strp("https://news.example/a"), SourceFile: "coord.csv", SourceLine: 2},
		{Dataset: "test/ds", PostID: "c2", AccountID: "acc2", PostedAt: 1600000030500, PostedAtPrecision: schema.PrecisionMillisecond,
			IsRepost: true, RepostOfPostID: strp("https://news.example/a"), SourceFile: "coord.csv", SourceLine: 3},
	}
	for i := range r.posts {
		r.posts[i].Hashtags, r.posts[i].URLs, r.posts[i].Mentions, r.posts[i].PollChoices = nil, nil, nil, nil
	}
	if !reflect.DeepEqual(r.posts, want) {
		t.Errorf("posts\n%+v\nwant\n%+v", r.posts, want)
	}

	// A file in milliseconds is refused as a whole.
	ms := "object_id,account_id,content_id,timestamp_share\no,a,c,\no,a,c,1600000000000\n"
	_, err := runP(t, DefaultParams(), writeSource(t, t.TempDir(), "coord_ms.csv", []byte(ms)))
	if !errors.Is(err, ErrTimeColumn) || errkind.Of(err) != errkind.BadInput ||
		!strings.Contains(err.Error(), "coord_ms.csv: line 3: column timestamp_share") || !strings.Contains(err.Error(), "divide the column by 1000") {
		t.Errorf("ms file: %v", err)
	}
}

func TestJSONLineReader(t *testing.T) {
	for _, c := range []struct {
		name, in string
		limit    int64
		lines    []int64
		raws     []string
		large    []bool
		last     []bool
	}{
		{"plain", "{a}\n{b}\n", 100, []int64{1, 2}, []string{"{a}", "{b}"}, []bool{false, false}, []bool{false, true}},
		{"no final newline, CRLF, blanks", "\xEF\xBB\xBF{a}\r\n\r\n  \n{b}", 100, []int64{1, 4}, []string{"{a}", "{b}"}, []bool{false, false}, []bool{false, true}},
		{"too large", "{aaaaaaaaaa}\n{b}\n", 5, []int64{1, 2}, []string{"{aaaaaaaaaa}", "{b}"}, []bool{true, false}, []bool{false, true}},
		{"trailing blank lines", "{a}\n\n\n", 100, []int64{1}, []string{"{a}"}, []bool{false}, []bool{false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			jr := newJSONLineReader(bufioReader(c.in), c.limit)
			var lines []int64
			var raws []string
			var large, last []bool
			for {
				rec, err := jr.next()
				if err != nil {
					break
				}
				lines = append(lines, rec.line)
				raws = append(raws, string(rec.raw))
				large = append(large, rec.tooLarge != "")
				last = append(last, rec.last)
				if rec.tooLarge == "" && (len(rec.fields) != 1 || rec.fields[0] != string(rec.raw)) {
					t.Errorf("fields %q", rec.fields)
				}
			}
			if !reflect.DeepEqual(lines, c.lines) || !reflect.DeepEqual(raws, c.raws) || !reflect.DeepEqual(large, c.large) || !reflect.DeepEqual(last, c.last) {
				t.Errorf("lines %v raws %q large %v last %v", lines, raws, large, last)
			}
		})
	}
}

// fuzzAllowed runs header+body through the stage with the given formats
// and checks the accounting; errors of bad input are allowed.
func fuzzAllowed(t *testing.T, dir string, allowed []format, name string, header, body []byte) {
	p := filepath.Join(dir, "in")
	content := append(append([]byte(nil), header...), body...)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	var acc countWriter[schema.Account]
	var posts countWriter[schema.Post]
	var rej countWriter[schema.Reject]
	n := newNormalizer("fuzz", allowed, slog.New(slog.DiscardHandler), &acc, &posts, &rej)
	if err := n.file(context.Background(), SourceFile{Name: name, Path: p}); err != nil {
		if errkind.Of(err) == errkind.BadInput {
			return
		}
		t.Fatalf("unexpected error: %v", err)
	}
	if err := n.finish(); err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, fs := range n.stats.Files {
		if fs.RowsIn != fs.RowsWritten+fs.RowsRejected {
			t.Fatalf("rows in %d != %d + %d", fs.RowsIn, fs.RowsWritten, fs.RowsRejected)
		}
		rows += fs.RowsIn
	}
	if posts.n+rej.n != rows || posts.n != n.stats.Posts || rej.n != n.stats.Rejects {
		t.Fatalf("posts %d + rejects %d != rows %d", posts.n, rej.n, rows)
	}
}

func FuzzParseMap(f *testing.F) {
	f.Add("account=author_id,post=id,time=created_at")
	f.Add("account=a,post=p,time=t:ms,urls=u,hashtags=h")
	f.Add("time=x:y:s,account=a=b")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMap(s)
		if err != nil {
			return
		}
		// The canonical spelling parses to itself.
		m2, err := ParseMap(m.String())
		if err != nil || m2.String() != m.String() || !reflect.DeepEqual(m, m2) {
			t.Fatalf("%q -> %q -> %q, %v", s, m.String(), m2.String(), err)
		}
		for _, k := range []string{"account", "post", "time"} {
			if m.column(k) == "" {
				t.Fatalf("%q: no %s", s, k)
			}
		}
	})
}

func FuzzTimeSpelling(f *testing.F) {
	for _, s := range []string{"2021-03-04T05:06:07Z", "2021-03-04 05:06:07.123+01:00", "1614834367", "1614834367.25", "1614834367250", "99999999999", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		unit := detectTimeUnit(s)
		if unit == "" {
			return
		}
		ms, prec, ok := parseTimeAs(s, unit)
		if !ok {
			t.Fatalf("%q detected as %s does not parse as %s", s, unit, unit)
		}
		if prec != schema.PrecisionSecond && prec != schema.PrecisionMillisecond {
			t.Fatalf("%q: precision %q", s, prec)
		}
		if unit != TimeRFC3339 && (ms < 0 || ms > maxEpochMillis) {
			t.Fatalf("%q: %d out of range", s, ms)
		}
	})
}

func FuzzTwarc2Line(f *testing.F) {
	for _, l := range twarc2Lines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var out row
		e := twarc2Table{}.mapRecord([]string{line}, &out)
		if e != nil {
			if e.reason == "" || e.detail == "" {
				t.Fatalf("empty reject %+v", e)
			}
			return
		}
		p := out.post
		if idKind(p.PostID) == idInvalid || idKind(p.AccountID) == idInvalid || out.author.AccountID != p.AccountID {
			t.Fatalf("ids %q %q", p.PostID, p.AccountID)
		}
		for _, id := range []*string{p.RepostOfPostID, p.QuotedPostID, p.ReplyToPostID, p.RepostOfAccountID, p.ReplyToAccountID} {
			if id != nil && idKind(*id) == idInvalid {
				t.Fatalf("id %q", *id)
			}
		}
		if p.IsRepost != (p.RepostOfPostID != nil) {
			t.Fatalf("is_repost %v with %v", p.IsRepost, p.RepostOfPostID)
		}
	})
}

func FuzzTwarc2File(f *testing.F) {
	f.Add([]byte(strings.Join(twarc2Lines[1:], "\n")))
	f.Add([]byte("\n\n{\"id\":\"1\"}\r\n{"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzAllowed(t, dir, formats, "in.jsonl", []byte(twarc2Lines[0]+"\n"), b)
	})
}

func FuzzGenericFile(f *testing.F) {
	f.Add([]byte("u1,10,1614834367,hello #x,,a b\nu2,11,1614834368,rt,10,\n"))
	f.Add([]byte("u1,10,2021-03-04T05:06:07Z,x,,\"[\"\"a\"\"]\"\n"))
	f.Add([]byte("u1,10,1614834367000,x,,\n,,,\n"))
	dir := f.TempDir()
	m, err := ParseMap("account=user,post=id,time=at,text=text,repost_of=rt,urls=urls")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzAllowed(t, dir, []format{generic{m: &m}}, "in.csv", []byte("user,id,at,text,rt,urls\n"), b)
	})
}

func FuzzCoorTweetFile(f *testing.F) {
	f.Add([]byte("o,a,c,1600000000\no,b,d,1600000001\n"))
	f.Add([]byte("o,a,c,1600000000000\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzAllowed(t, dir, formats, "in.csv", []byte("object_id,account_id,content_id,timestamp_share\n"), b)
	})
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
