package normalize

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

const fteHeader = "external_author_id,author,content,region,language,publish_date,harvested_date,following,followers,updates,post_type,account_type,retweet,account_category,new_june_2018,alt_external_id,tweet_id,article_url,tco1_step1,tco2_step1,tco3_step1\n"

// fteRow is a FiveThirtyEight row with the ids intact (as in the original
// files, before a spreadsheet rounded them).
const fteRow = `905874659358453760,10_GOP,"""We have a sitting Democrat"" ~ @nedryun https://t.co/gh6g0D1oiC #MAGA",Unknown,English,10/1/2017 19:58,10/1/2017 19:59,1052,9636,253,,Right,0,RightTroll,0,905874659358453760,914580356430536707,http://twitter.com/905874659358453760/statuses/914580356430536707,https://twitter.com/10_gop/status/914580356430536707/video/1,,` + "\n"

func TestFiveThirtyEight(t *testing.T) {
	body := fteHeader + fteRow +
		strings.Replace(fteRow, "914580356430536707,", "9.1458E+17,", 1) +
		strings.Replace(strings.Replace(fteRow, "905874659358453760,10_GOP", "9.06E+17,10_GOP", 1), "914580356430536707,", "1,", 1) +
		strings.Replace(strings.Replace(fteRow, "914580356430536707,", "2,", 1), "10/1/2017 19:58", "13/1/17 19:58", 1) +
		strings.Replace(strings.Replace(fteRow, "914580356430536707,", "3,", 1), "10/1/2017 19:58", "10/2/17 9:05", 1) +
		strings.Replace(strings.Replace(fteRow, "914580356430536707,", "4,", 1), ",,Right,0,", ",RETWEET,Right,1,", 1)
	r := run(t, writeSource(t, t.TempDir(), "IRAhandle_tweets_1.csv", []byte(body)))
	if got, want := reasons(r), []string{ReasonIDRounded, ReasonIDRounded, ReasonBadTime}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if len(r.posts) != 3 {
		t.Fatalf("%d posts", len(r.posts))
	}
	p := r.posts[0]
	if p.PostID != "914580356430536707" || p.AccountID != "905874659358453760" || p.PostedAtPrecision != schema.PrecisionMillisecond ||
		!reflect.DeepEqual(p.Hashtags, []string{"MAGA"}) || !reflect.DeepEqual(p.Mentions, []string{"nedryun"}) ||
		!reflect.DeepEqual(p.URLs, []string{"https://twitter.com/10_gop/status/914580356430536707/video/1"}) ||
		p.Language != "English" || p.IsRepost || !strings.HasPrefix(p.Text, `"We have`) {
		t.Errorf("post: %+v", p)
	}
	// Snowflake 914580356430536707 is 2017-10-01T19:58:xx UTC: no disagreement.
	if r.stats.TimeDisagreements != 0 {
		t.Errorf("time disagreements %d", r.stats.TimeDisagreements)
	}
	if p := r.posts[1]; p.PostID != "3" || p.PostedAt != 1506935100000 || p.PostedAtPrecision != schema.PrecisionMinute {
		t.Errorf("two-digit year, one-digit hour: %+v", p)
	}
	if p := r.posts[2]; !p.IsRepost {
		t.Errorf("retweet: %+v", p)
	}
	if len(r.accounts) != 1 {
		t.Fatalf("accounts %+v", r.accounts)
	}
	a := r.accounts[0]
	if a.Category != "RightTroll" || a.AccountType != "Right" || a.ScreenName != "10_GOP" || a.InUsersFile || *a.Followers != 9636 {
		t.Errorf("account %+v", a)
	}
}

func TestParseUSDateTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		ms   int64
		prec string
	}{
		{"10/1/17 19:58", 1506887880000, schema.PrecisionMinute},
		{"10/1/2017 19:58", 1506887880000, schema.PrecisionMinute},
		{"1/9/2015 0:05:07", 1420761907000, schema.PrecisionSecond},
		{"12/31/99 23:59", 946684740000, schema.PrecisionMinute},
		{"2/29/2016 1:00", 1456707600000, schema.PrecisionMinute},
		{"2/29/2017 1:00", 0, ""},
		{"13/1/17 19:58", 0, ""},
		{"10/1/17", 0, ""},
		{"10/1/17 24:00", 0, ""},
		{"10/1/17 19:5", 0, ""},
		{"2017-10-01 19:58", 0, ""},
		{"10/1/017 19:58", 0, ""},
	} {
		ms, prec, ok := parseUSDateTime(c.in)
		if ok != (c.prec != "") || ms != c.ms || prec != c.prec {
			t.Errorf("parseUSDateTime(%q) = %d %q %v, want %d %q", c.in, ms, prec, ok, c.ms, c.prec)
		}
	}
}

const nbcTweetsHeader = "user_id,user_key,created_at,created_str,retweet_count,retweeted,favorite_count,text,tweet_id,source,hashtags,expanded_urls,posted,mentions,retweeted_status_id,in_reply_to_status_id\n"

func TestNBC(t *testing.T) {
	users := `"id","location","name","followers_count","statuses_count","time_zone","verified","lang","screen_name","description","created_at","favourites_count","friends_count","listed_count"
"18710816","Utah","Robby Delaware","304","11484","Pacific Time (US & Canada)","false","en","RobbyDelaware","I support...","Wed Jan 07 04:38:02 +0000 2009","17","670","13"
"","","No Id","1","2","","false","en","NoIdUser","","Tue Dec 29 23:15:22 +0000 2009","2","3","4"
"3","","Bad Date","1","2","","false","en","BadDate","","2009-12-29","2","3","4"
`
	tweets := nbcTweetsHeader +
		`"18710816","robbydelaware","1487874120000","2017-02-23 18:22:00","0","false","0","RT @x: hi #a","834803046245662722","<a>Twitter</a>","[""a""]","[""https://ex.org/1""]","POSTED","[""x""]","834800000000000000",""` + "\n" +
		`"","ghost","","2016-01-02 03:04:05","","","","text","12345","","[]","[]","POSTED","[]","",""` + "\n" +
		`"","ghost","","2016-01-02","","","","text","12346","","[]","[]","POSTED","[]","",""` + "\n" +
		`"","ghost","1451703845000","","","","","text","","","[]","[]","POSTED","[]","",""` + "\n"
	dir := t.TempDir()
	r := run(t, writeSource(t, dir, "users.csv", []byte(users)), writeSource(t, dir, "tweets.csv", []byte(tweets)))
	if got, want := reasons(r), []string{ReasonBadTime, ReasonBadID, ReasonBadTime}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if len(r.posts) != 2 {
		t.Fatalf("posts %+v", r.posts)
	}
	p := r.posts[0]
	if p.AccountID != "robbydelaware" || !p.IsRepost || str(p.RepostOfPostID) != "834800000000000000" || p.PostedAtPrecision != schema.PrecisionMillisecond ||
		!reflect.DeepEqual(p.Hashtags, []string{"a"}) || !reflect.DeepEqual(p.URLs, []string{"https://ex.org/1"}) || *p.Likes != 0 {
		t.Errorf("post %+v", p)
	}
	if p := r.posts[1]; p.PostedAt != 1451703845000 || p.PostedAtPrecision != schema.PrecisionSecond {
		t.Errorf("created_str fallback: %+v", p)
	}
	var ids []string
	for _, a := range r.accounts {
		ids = append(ids, a.AccountID)
	}
	if want := []string{"robbydelaware", "noiduser", "ghost"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("accounts %q, want %q", ids, want)
	}
	if r.accounts[0].CreatedAt == nil || *r.accounts[0].CreatedAt != 1231303082000 {
		t.Errorf("created_at %v", r.accounts[0].CreatedAt)
	}
}

func TestReddit(t *testing.T) {
	dir := t.TempDir()
	seed := "BlackToLive,-16\nbill_jonson,-8\nnot a name,3\nclawisma,x\n"
	comments := `"fullname","archived","author.name","author_flair_text","body","controversiality","created_utc","distinguished","downs","edited","gilded","id","is_submitter","likes","link_author","link_id","link_permalink","link_title","link_url","name","num_comments","parent_id","permalink","score","stickied","subreddit.display_name_prefixed","subreddit_type","ups"` + "\n" +
		`"t1_a",True,"BlackToLive","","see https://ex.org/a). ok",0,1470604422.0,"",0,False,0,"a",False,"","x","t3_l","p","t","u","t1_a",1,"t3_l","/r/x/a/",3,False,"r/x","public",3` + "\n" +
		// A quote inside an unquoted field: not RFC 4180, but one reading only.
		`"t1_b",True,"Bill_Jonson","",he said "no",0,1470604423.0,"",0,False,0,"b",False,"","x","t3_l","p","t","u","t1_b",1,"t1_a","/r/x/b/",1,False,"r/x","public",1` + "\n" +
		// Stray quotes that change the field count: rejected.
		`"t1_c",True,"Bill_Jonson","","broken "quote, here",0,1470604424.0` + "\n" +
		`"t1_d",True,"[deleted]","","gone",0,1470604425.0,"",0,False,0,"d",False,"","x","t3_l","p","t","u","t1_d",1,"t3_l","/r/x/d/",1,False,"r/x","public",1` + "\n"
	users := `"fullname","comment_karma","created_utc","has_subscribed","has_verified_email","icon_img","id","is_employee","is_gold","is_mod","link_karma","name"` + "\n" +
		`"t2_z919g",-7,1467681198.0,True,True,"i","z919g",False,False,False,1,"BlackToLive"` + "\n"
	r := run(t, writeSource(t, dir, "seed.csv", []byte(seed)), writeSource(t, dir, "comments.csv", []byte(comments)),
		writeSource(t, dir, "users.csv", []byte(users)))
	if got, want := reasons(r), []string{ReasonBadQuote, ReasonBadID, ReasonBadID, ReasonBadNumber}; !reflect.DeepEqual(got, want) {
		t.Fatalf("reasons %q, want %q", got, want)
	}
	if len(r.posts) != 2 {
		t.Fatalf("posts %+v", r.posts)
	}
	if p := r.posts[0]; p.AccountID != "blacktolive" || p.PostedAt != 1470604422000 || p.PostedAtPrecision != schema.PrecisionSecond ||
		!reflect.DeepEqual(p.URLs, []string{"https://ex.org/a"}) || str(p.ReplyToPostID) != "t3_l" || *p.Likes != 3 {
		t.Errorf("comment %+v", p)
	}
	if p := r.posts[1]; p.Text != `he said "no"` || str(p.ReplyToPostID) != "t1_a" {
		t.Errorf("repaired comment %+v", p)
	}
	var files []string
	for _, f := range r.stats.Files {
		files = append(files, f.File+":"+f.Kind)
		if f.File == "comments.csv" && f.Warnings[WarnQuoteRepaired] != 1 {
			t.Errorf("quote_repaired warnings %v", f.Warnings)
		}
	}
	if want := []string{"comments.csv:comments", "seed.csv:seed", "users.csv:users"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files %q", files)
	}
	var ids []string
	for _, a := range r.accounts {
		ids = append(ids, a.AccountID+":"+strings.Repeat("U", boolN(a.InUsersFile)))
	}
	if want := []string{"blacktolive:U", "bill_jonson:"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("accounts %q, want %q", ids, want)
	}
}

func boolN(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTextURLs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"no links http:/x", nil},
		{"[a](https://ex.org/x) and http://b.org.", []string{"https://ex.org/x", "http://b.org"}},
		{"https://", nil},
	} {
		if got := textURLs(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("textURLs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// realSeed returns the first n lines of a real sample file (after its
// header when header is set), or fallback when ../shared/data is absent.
func realSeed(rel string, header bool, n int, fallback string) []byte {
	b, err := os.ReadFile(filepath.Join(realDataDir, rel))
	if err != nil {
		return []byte(fallback)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if header {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[:n]
	}
	return []byte(strings.Join(lines, ""))
}

// FuzzFiveThirtyEightFile fuzzes the body of a FiveThirtyEight file, seeded
// from the real sample.
func FuzzFiveThirtyEightFile(f *testing.F) {
	f.Add([]byte(fteRow))
	f.Add(realSeed("fivethirtyeight-ira/IRAhandle_tweets_sample.csv", true, 5, fteRow))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFile(t, dir, []byte(fteHeader), b) })
}

// FuzzNBCUsersFile fuzzes the body of NBC's users.csv, seeded from the real
// file.
func FuzzNBCUsersFile(f *testing.F) {
	const header = `"id","location","name","followers_count","statuses_count","time_zone","verified","lang","screen_name","description","created_at","favourites_count","friends_count","listed_count"` + "\n"
	f.Add(realSeed("nbc-ira-2018/users.csv", true, 5, `"1","","n","1","2","","false","en","s","","Wed Jan 07 04:38:02 +0000 2009","1","2","3"`+"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFile(t, dir, []byte(header), b) })
}

// FuzzNBCTweetsFile fuzzes the body of NBC's tweets.csv.
func FuzzNBCTweetsFile(f *testing.F) {
	f.Add([]byte(`"18710816","robbydelaware","1487874120000","2017-02-23 18:22:00","0","false","0","RT @x: hi #a","834803046245662722","<a>Twitter</a>","[""a""]","[""https://ex.org/1""]","POSTED","[""x""]","834800000000000000",""` + "\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFile(t, dir, []byte(nbcTweetsHeader), b) })
}

// FuzzRedditCommentsFile fuzzes the body of Reddit's comments.csv, seeded
// from the real file (whose quoting is not always RFC 4180).
func FuzzRedditCommentsFile(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(realDataDir, "reddit-2018", "comments.csv"))
	header := []byte(`"fullname","archived","author.name","author_flair_text","body","controversiality","created_utc","distinguished","downs","edited","gilded","id","is_submitter","likes","link_author","link_id","link_permalink","link_title","link_url","name","num_comments","parent_id","permalink","score","stickied","subreddit.display_name_prefixed","subreddit_type","ups"` + "\n")
	if err == nil {
		f.Add(realSeed("reddit-2018/comments.csv", true, 4, ""))
		_ = b
	}
	f.Add([]byte(`"t1_b",True,"Bill_Jonson","",he said "no",0,1470604423.0,"",0,False,0,"b",False,"","x","t3_l","p","t","u","t1_b",1,"t1_a","/r/x/b/",1,False,"r/x","public",1` + "\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFile(t, dir, header, b) })
}

// FuzzRedditSeedFile fuzzes a headerless seed list: whatever the bytes
// after a valid first line, the accounting must hold.
func FuzzRedditSeedFile(f *testing.F) {
	f.Add(realSeed("reddit-2018/seed.csv", false, 6, "bill_jonson,-8\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) { fuzzFile(t, dir, []byte("BlackToLive,-16\n"), b) })
}
