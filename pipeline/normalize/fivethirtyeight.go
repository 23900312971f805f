package normalize

import (
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatFiveThirtyEight is the FiveThirtyEight / Clemson University IRA
// tweets layout (Linvill & Warren, 2018): IRAhandle_tweets_1..13.csv, 21
// columns, one row per tweet with the account's attributes repeated.
const FormatFiveThirtyEight = "fivethirtyeight"

var fteLayout = layout{
	kind:     "tweets",
	required: []string{"external_author_id", "author", "content", "publish_date"},
	optional: []string{
		"region", "language", "harvested_date", "following", "followers", "updates",
		"post_type", "account_type", "retweet", "account_category", "new_june_2018",
		"alt_external_id", "tweet_id", "article_url", "tco1_step1", "tco2_step1", "tco3_step1",
	},
}

// fiveThirtyEight implements format for the FiveThirtyEight IRA tweets.
type fiveThirtyEight struct{}

// name implements format.
func (fiveThirtyEight) name() string { return FormatFiveThirtyEight }

// detect implements format.
func (fiveThirtyEight) detect(h *header) (*binding, []string) {
	missing, extra, problem := fteLayout.match(h)
	if problem != "" {
		return nil, []string{problem}
	}
	return &binding{
		format: FormatFiveThirtyEight, kind: fteLayout.kind, missing: missing, extra: extra,
		table: &fteTable{
			authorID: h.col("external_author_id"), author: h.col("author"), content: h.col("content"),
			region: h.col("region"), language: h.col("language"), published: h.col("publish_date"),
			following: h.col("following"), followers: h.col("followers"), postType: h.col("post_type"),
			accountType: h.col("account_type"), retweet: h.col("retweet"), category: h.col("account_category"),
			tweetID: h.col("tweet_id"),
			tco:     [3]twCol{h.col("tco1_step1"), h.col("tco2_step1"), h.col("tco3_step1")},
		},
	}, nil
}

// fteTable maps records of a FiveThirtyEight tweets file.
type fteTable struct {
	authorID, author, content, region, language, published, following, followers,
	postType, accountType, retweet, category, tweetID twCol
	tco [3]twCol
}

// mapRecord implements table.
func (t *fteTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	a := &out.author
	uid := get(rec, t.authorID)
	if e := checkID("external_author_id", uid, false); e != nil {
		return e
	}
	a.AccountID = uid
	a.IDHashed = isHashedID(uid)
	a.ScreenName = get(rec, t.author)
	a.Location = get(rec, t.region)
	a.Category = get(rec, t.category)
	a.AccountType = get(rec, t.accountType)
	var ok bool
	if a.Followers, ok = parseCount(get(rec, t.followers)); !ok {
		return reject(ReasonBadNumber, "field followers: %q is not a count", clip(get(rec, t.followers)))
	}
	if a.Following, ok = parseCount(get(rec, t.following)); !ok {
		return reject(ReasonBadNumber, "field following: %q is not a count", clip(get(rec, t.following)))
	}

	id := get(rec, t.tweetID)
	if e := checkID("tweet_id", id, false); e != nil {
		return e
	}
	p.PostID = id
	p.AccountID = uid
	pub := get(rec, t.published)
	ms, prec, ok := parseUSDateTime(pub)
	if !ok {
		return reject(ReasonBadTime, "field publish_date: %q is not M/D/YYYY H:MM", clip(pub))
	}
	setPostedAt(out, id, ms, prec, true)
	p.Text = get(rec, t.content)
	p.Language = get(rec, t.language)
	pt := get(rec, t.postType)
	rt, ok := parseBool(get(rec, t.retweet))
	if !ok {
		return reject(ReasonBadBool, "field retweet: %q is not 0 or 1", clip(get(rec, t.retweet)))
	}
	p.IsRepost = rt || pt == "RETWEET"
	for _, c := range t.tco {
		if u := strings.TrimSpace(get(rec, c)); u != "" {
			p.URLs = append(p.URLs, u)
		}
	}
	p.Hashtags, p.Mentions = textEntities(p.Text)
	return nil
}

// parseUSDateTime parses the US-style times of spreadsheet exports:
// "M/D/YYYY H:MM" or "M/D/YY H:MM" (years 00-68 are 20YY, 69-99 19YY, as
// spreadsheets read them), with optional ":SS". The time zone is not
// documented; it is read as UTC.
func parseUSDateTime(s string) (int64, string, bool) {
	date, clock, ok := strings.Cut(s, " ")
	if !ok {
		return 0, "", false
	}
	parts := strings.Split(date, "/")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[1]) < 1 || len(parts[1]) > 2 {
		return 0, "", false
	}
	mo, ok1 := atoiFixed(parts[0])
	d, ok2 := atoiFixed(parts[1])
	y, ok3 := atoiFixed(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return 0, "", false
	}
	switch len(parts[2]) {
	case 2:
		if y < 69 {
			y += 2000
		} else {
			y += 1900
		}
	case 4:
	default:
		return 0, "", false
	}
	if !validYMD(y, mo, d) {
		return 0, "", false
	}
	cp := strings.Split(clock, ":")
	if len(cp) < 2 || len(cp) > 3 || len(cp[0]) < 1 || len(cp[0]) > 2 || len(cp[1]) != 2 {
		return 0, "", false
	}
	h, ok1 := atoiFixed(cp[0])
	m, ok2 := atoiFixed(cp[1])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, "", false
	}
	day, _ := parseDate(pad4(y) + "-" + pad2(mo) + "-" + pad2(d))
	ms := day + int64(h)*3_600_000 + int64(m)*60_000
	if len(cp) == 2 {
		return ms, schema.PrecisionMinute, true
	}
	sec, ok := atoiFixed(cp[2])
	if !ok || len(cp[2]) != 2 || sec > 59 {
		return 0, "", false
	}
	return ms + int64(sec)*1000, schema.PrecisionSecond, true
}

// pad2 formats 0-99 with two digits.
func pad2(v int) string { return string([]byte{byte('0' + v/10%10), byte('0' + v%10)}) }

// pad4 formats 0-9999 with four digits.
func pad4(v int) string { return pad2(v/100) + pad2(v%100) }
