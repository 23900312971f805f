package normalize

import (
	"strings"
	"time"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatNBC is NBC News' 2018 release of deleted IRA tweets: tweets.csv and
// users.csv. Accounts are keyed by their lowercased screen name (tweets'
// user_key, users' screen_name), because the numeric id is empty in part
// of both files.
const FormatNBC = "nbc"

var (
	nbcTweetsLayout = layout{
		kind:     "tweets",
		required: []string{"user_key", "text", "tweet_id", "created_str"},
		optional: []string{
			"user_id", "created_at", "retweet_count", "retweeted", "favorite_count", "source",
			"hashtags", "expanded_urls", "posted", "mentions", "retweeted_status_id", "in_reply_to_status_id",
		},
	}
	nbcUsersLayout = layout{
		kind:     "users",
		required: []string{"id", "screen_name", "created_at", "followers_count"},
		optional: []string{
			"location", "name", "statuses_count", "time_zone", "verified", "lang", "description",
			"favourites_count", "friends_count", "listed_count",
		},
		excludes: []string{"fullname", "userid"},
	}
)

// nbc implements format for the NBC News IRA files.
type nbc struct{}

// name implements format.
func (nbc) name() string { return FormatNBC }

// detect implements format.
func (nbc) detect(h *header) (*binding, []string) {
	var why []string
	for _, l := range []layout{nbcTweetsLayout, nbcUsersLayout} {
		missing, extra, problem := l.match(h)
		if problem != "" {
			why = append(why, problem)
			continue
		}
		b := &binding{format: FormatNBC, kind: l.kind, missing: missing, extra: extra}
		if l.kind == "users" {
			b.table = &nbcUsersTable{
				screenName: h.col("screen_name"), name: h.col("name"), location: h.col("location"),
				description: h.col("description"), followers: h.col("followers_count"),
				following: h.col("friends_count"), created: h.col("created_at"), lang: h.col("lang"),
			}
		} else {
			b.table = &nbcTweetsTable{
				userKey: h.col("user_key"), text: h.col("text"), tweetID: h.col("tweet_id"),
				createdMs: h.col("created_at"), createdStr: h.col("created_str"),
				retweets: h.col("retweet_count"), likes: h.col("favorite_count"), source: h.col("source"),
				hashtags: h.col("hashtags"), urls: h.col("expanded_urls"), mentions: h.col("mentions"),
				retweetOf: h.col("retweeted_status_id"), replyTo: h.col("in_reply_to_status_id"),
			}
		}
		return b, nil
	}
	return nil, why
}

// nbcAccountID makes the account key from a screen name.
func nbcAccountID(field, s string) (string, *rowError) {
	id := strings.ToLower(strings.TrimPrefix(s, "@"))
	if e := checkID(field, id, false); e != nil {
		return "", e
	}
	return id, nil
}

// nbcUsersTable maps records of NBC's users.csv.
type nbcUsersTable struct {
	screenName, name, location, description, followers, following, created, lang twCol
}

// mapRecord implements table.
func (t *nbcUsersTable) mapRecord(rec []string, out *row) *rowError {
	out.hasAccount = true
	a := &out.account
	a.InUsersFile = true
	var e *rowError
	if a.AccountID, e = nbcAccountID("screen_name", get(rec, t.screenName)); e != nil {
		return e
	}
	a.ScreenName = get(rec, t.screenName)
	a.DisplayName = get(rec, t.name)
	a.Location = get(rec, t.location)
	a.Description = get(rec, t.description)
	a.Language = get(rec, t.lang)
	var ok bool
	if a.Followers, ok = parseCount(get(rec, t.followers)); !ok {
		return reject(ReasonBadNumber, "field followers_count: %q is not a count", clip(get(rec, t.followers)))
	}
	if a.Following, ok = parseCount(get(rec, t.following)); !ok {
		return reject(ReasonBadNumber, "field friends_count: %q is not a count", clip(get(rec, t.following)))
	}
	if s := get(rec, t.created); s != "" {
		ts, err := time.Parse(time.RubyDate, s)
		if err != nil {
			return reject(ReasonBadTime, "field created_at: %q is not like \"Wed Jan 07 04:38:02 +0000 2009\"", clip(s))
		}
		ms := ts.UnixMilli()
		a.CreatedAt = &ms
	}
	return nil
}

// nbcTweetsTable maps records of NBC's tweets.csv.
type nbcTweetsTable struct {
	userKey, text, tweetID, createdMs, createdStr, retweets, likes, source,
	hashtags, urls, mentions, retweetOf, replyTo twCol
}

// mapRecord implements table.
func (t *nbcTweetsTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	var e *rowError
	if p.AccountID, e = nbcAccountID("user_key", get(rec, t.userKey)); e != nil {
		return e
	}
	out.author = schema.Account{AccountID: p.AccountID, ScreenName: get(rec, t.userKey)}
	id := get(rec, t.tweetID)
	if e := checkID("tweet_id", id, false); e != nil {
		return e
	}
	p.PostID = id

	// Time: the snowflake id, else created_at (epoch ms), else created_str.
	var ms int64
	var prec string
	if s := get(rec, t.createdMs); s != "" {
		v, ok := parseCount(s)
		if !ok || *v < 0 {
			return reject(ReasonBadTime, "field created_at: %q is not milliseconds since 1970", clip(s))
		}
		ms, prec = *v, schema.PrecisionSecond
		if ms%1000 != 0 {
			prec = schema.PrecisionMillisecond
		}
	} else {
		s := get(rec, t.createdStr)
		var ok bool
		if ms, prec, ok = parseTweetTime(s); !ok {
			return reject(ReasonBadTime, "field created_str: %q is not YYYY-MM-DD HH:MM:SS (and created_at is empty)", clip(s))
		}
	}
	setPostedAt(out, id, ms, prec, true)
	p.Text = get(rec, t.text)
	p.Client = get(rec, t.source)
	if p.RepostOfPostID, e = optionalID(rec, t.retweetOf, "retweeted_status_id"); e != nil {
		return e
	}
	p.IsRepost = p.RepostOfPostID != nil
	if p.ReplyToPostID, e = optionalID(rec, t.replyTo, "in_reply_to_status_id"); e != nil {
		return e
	}
	lists := []struct {
		col  twCol
		name string
		dst  *[]string
	}{
		{t.hashtags, "hashtags", &p.Hashtags},
		{t.urls, "expanded_urls", &p.URLs},
		{t.mentions, "mentions", &p.Mentions},
	}
	for _, l := range lists {
		v, err := parseList(get(rec, l.col))
		if err != nil {
			return reject(ReasonBadList, "field %s: %q: %v", l.name, clip(get(rec, l.col)), err)
		}
		*l.dst = v
	}
	var ok bool
	if p.Likes, ok = parseCount(get(rec, t.likes)); !ok {
		return reject(ReasonBadNumber, "field favorite_count: %q is not a count", clip(get(rec, t.likes)))
	}
	if p.Reposts, ok = parseCount(get(rec, t.retweets)); !ok {
		return reject(ReasonBadNumber, "field retweet_count: %q is not a count", clip(get(rec, t.retweets)))
	}
	return nil
}
