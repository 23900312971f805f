package normalize

import (
	"github.com/takedown-research/takedown/internal/schema"
)

// FormatTwitterIO is the Twitter/X information-operations layout
// (2018-2021 releases): a users file and a tweets file per campaign.
const FormatTwitterIO = "twitter-io"

// Columns of the twitter-io users file. The tweets file repeats them.
var twUserColumns = []string{
	"userid", "user_display_name", "user_screen_name", "user_reported_location",
	"user_profile_description", "user_profile_url", "follower_count", "following_count",
	"account_creation_date", "account_language",
}

// Columns of the twitter-io tweets file besides the user columns.
var twTweetColumns = []string{
	"tweetid", "tweet_language", "tweet_text", "tweet_time", "tweet_client_name",
	"in_reply_to_userid", "in_reply_to_tweetid", "quoted_tweet_tweetid", "is_retweet",
	"retweet_userid", "retweet_tweetid", "latitude", "longitude", "quote_count",
	"reply_count", "like_count", "retweet_count", "hashtags", "urls", "user_mentions",
	"poll_choices",
}

var (
	twUsersLayout = layout{
		kind:     "users",
		required: []string{"userid", "user_screen_name", "account_creation_date"},
		optional: without(twUserColumns, "userid", "user_screen_name", "account_creation_date"),
		excludes: []string{"tweetid", "tweet_text", "tweet_time"},
	}
	twTweetsLayout = layout{
		kind:     "tweets",
		required: []string{"tweetid", "userid", "tweet_text", "tweet_time"},
		optional: without(append(append([]string(nil), twUserColumns...), twTweetColumns...),
			"tweetid", "userid", "tweet_text", "tweet_time"),
	}
)

// without returns cols minus drop, in order.
func without(cols []string, drop ...string) []string {
	var out []string
outer:
	for _, c := range cols {
		for _, d := range drop {
			if c == d {
				continue outer
			}
		}
		out = append(out, c)
	}
	return out
}

// twitterIO implements format for the Twitter/X information-operations
// releases.
type twitterIO struct{}

// name implements format.
func (twitterIO) name() string { return FormatTwitterIO }

// detect implements format: the tweets layout is tried first, as its
// header also holds every users column.
func (twitterIO) detect(h *header) (*binding, []string) {
	var why []string
	for _, l := range []layout{twTweetsLayout, twUsersLayout} {
		missing, extra, problem := l.match(h)
		if problem != "" {
			why = append(why, problem)
			continue
		}
		b := &binding{format: FormatTwitterIO, kind: l.kind, missing: missing, extra: extra}
		uc := bindUserCols(h)
		if l.kind == "users" {
			b.table = &twUsersTable{u: uc}
		} else {
			b.table = &twTweetsTable{
				u:            uc,
				tweetID:      h.col("tweetid"),
				language:     h.col("tweet_language"),
				text:         h.col("tweet_text"),
				time:         h.col("tweet_time"),
				client:       h.col("tweet_client_name"),
				replyUser:    h.col("in_reply_to_userid"),
				replyTweet:   h.col("in_reply_to_tweetid"),
				quotedTweet:  h.col("quoted_tweet_tweetid"),
				isRetweet:    h.col("is_retweet"),
				retweetUser:  h.col("retweet_userid"),
				retweetTweet: h.col("retweet_tweetid"),
				lat:          h.col("latitude"),
				lon:          h.col("longitude"),
				quotes:       h.col("quote_count"),
				replies:      h.col("reply_count"),
				likes:        h.col("like_count"),
				retweets:     h.col("retweet_count"),
				hashtags:     h.col("hashtags"),
				urls:         h.col("urls"),
				mentions:     h.col("user_mentions"),
				poll:         h.col("poll_choices"),
			}
		}
		return b, nil
	}
	return nil, why
}

// twCol is a column position; -1 when the header lacks the column.
type twCol = int

// get returns field i of rec, or "" for a missing column.
func get(rec []string, i twCol) string {
	if i < 0 {
		return ""
	}
	return rec[i]
}

// twUserCols are the positions of the user columns.
type twUserCols struct {
	userID, displayName, screenName, location, description, profileURL,
	followers, following, created, language twCol
}

// bindUserCols finds the user columns in h.
func bindUserCols(h *header) twUserCols {
	return twUserCols{
		userID:      h.col("userid"),
		displayName: h.col("user_display_name"),
		screenName:  h.col("user_screen_name"),
		location:    h.col("user_reported_location"),
		description: h.col("user_profile_description"),
		profileURL:  h.col("user_profile_url"),
		followers:   h.col("follower_count"),
		following:   h.col("following_count"),
		created:     h.col("account_creation_date"),
		language:    h.col("account_language"),
	}
}

// account fills a from the user columns of rec.
func (c twUserCols) account(rec []string, a *schema.Account) *rowError {
	id := get(rec, c.userID)
	k, e := checkIDKind("userid", id)
	if e != nil {
		return e
	}
	a.AccountID = id
	a.IDHashed = hashedKind(k)
	a.ScreenName = get(rec, c.screenName)
	a.DisplayName = get(rec, c.displayName)
	a.Description = get(rec, c.description)
	a.Location = get(rec, c.location)
	a.ProfileURL = get(rec, c.profileURL)
	a.Language = get(rec, c.language)
	var ok bool
	if a.Followers, ok = parseCount(get(rec, c.followers)); !ok {
		return reject(ReasonBadNumber, "field follower_count: %q is not a count", clip(get(rec, c.followers)))
	}
	if a.Following, ok = parseCount(get(rec, c.following)); !ok {
		return reject(ReasonBadNumber, "field following_count: %q is not a count", clip(get(rec, c.following)))
	}
	if s := get(rec, c.created); s != "" {
		ms, ok := parseDate(s)
		if !ok {
			return reject(ReasonBadTime, "field account_creation_date: %q is not YYYY-MM-DD", clip(s))
		}
		a.CreatedAt = &ms
	}
	return nil
}

// twUsersTable maps records of a users file.
type twUsersTable struct{ u twUserCols }

// mapRecord implements table.
func (t *twUsersTable) mapRecord(rec []string, out *row) *rowError {
	out.hasAccount = true
	out.account.InUsersFile = true
	return t.u.account(rec, &out.account)
}

// twTweetsTable maps records of a tweets file.
type twTweetsTable struct {
	u twUserCols
	tweetID, language, text, time, client, replyUser, replyTweet, quotedTweet,
	isRetweet, retweetUser, retweetTweet, lat, lon, quotes, replies, likes,
	retweets, hashtags, urls, mentions, poll twCol
}

// optionalID checks an id column that may be empty; an empty one is
// absent (nil, a null in Parquet).
func optionalID(rec []string, i twCol, name string) (*string, *rowError) {
	s := get(rec, i)
	if e := checkID(name, s, true); e != nil {
		return nil, e
	}
	if s == "" {
		return nil, nil
	}
	return newString(s), nil
}

// newString returns a pointer to a copy of the string header s: only the
// copy escapes, so an empty or rejected value allocates nothing.
func newString(s string) *string { return &s }

// mapRecord implements table.
func (t *twTweetsTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	id := get(rec, t.tweetID)
	if e := checkID("tweetid", id, false); e != nil {
		return e
	}
	p.PostID = id
	if e := t.u.account(rec, &out.author); e != nil {
		return e
	}
	p.AccountID = out.author.AccountID

	// Time: the snowflake id gives milliseconds, tweet_time minutes.
	tt := get(rec, t.time)
	var ttMs int64
	var ttPrec string
	if tt != "" {
		var ok bool
		if ttMs, ttPrec, ok = parseTweetTime(tt); !ok {
			return reject(ReasonBadTime, "field tweet_time: %q is not YYYY-MM-DD HH:MM", clip(tt))
		}
	}
	if !setPostedAt(out, id, ttMs, ttPrec, tt != "") {
		return reject(ReasonBadTime, "field tweet_time: empty, and tweetid %q is not a snowflake id", clip(id))
	}

	p.Text = get(rec, t.text)
	p.Language = get(rec, t.language)
	p.Client = get(rec, t.client)
	var e *rowError
	if p.ReplyToPostID, e = optionalID(rec, t.replyTweet, "in_reply_to_tweetid"); e != nil {
		return e
	}
	if p.ReplyToAccountID, e = optionalID(rec, t.replyUser, "in_reply_to_userid"); e != nil {
		return e
	}
	if p.QuotedPostID, e = optionalID(rec, t.quotedTweet, "quoted_tweet_tweetid"); e != nil {
		return e
	}
	if p.RepostOfPostID, e = optionalID(rec, t.retweetTweet, "retweet_tweetid"); e != nil {
		return e
	}
	if p.RepostOfAccountID, e = optionalID(rec, t.retweetUser, "retweet_userid"); e != nil {
		return e
	}
	var ok bool
	if p.IsRepost, ok = parseBool(get(rec, t.isRetweet)); !ok {
		return reject(ReasonBadBool, "field is_retweet: %q is not true or false", clip(get(rec, t.isRetweet)))
	}

	lists := []struct {
		col  twCol
		name string
		dst  *[]string
	}{
		{t.hashtags, "hashtags", &p.Hashtags},
		{t.urls, "urls", &p.URLs},
		{t.mentions, "user_mentions", &p.Mentions},
	}
	for _, l := range lists {
		v, err := parseList(get(rec, l.col))
		if err != nil {
			return reject(ReasonBadList, "field %s: %q: %v", l.name, clip(get(rec, l.col)), err)
		}
		*l.dst = v
	}
	p.PollChoices = parsePipeList(get(rec, t.poll))

	counts := []struct {
		col  twCol
		name string
		dst  **int64
	}{
		{t.likes, "like_count", &p.Likes},
		{t.retweets, "retweet_count", &p.Reposts},
		{t.replies, "reply_count", &p.Replies},
		{t.quotes, "quote_count", &p.Quotes},
	}
	for _, c := range counts {
		if *c.dst, ok = parseCount(get(rec, c.col)); !ok {
			return reject(ReasonBadNumber, "field %s: %q is not a count", c.name, clip(get(rec, c.col)))
		}
	}
	if p.Latitude, ok = parseCoord(get(rec, t.lat), 90); !ok {
		return reject(ReasonBadNumber, "field latitude: %q is not a latitude", clip(get(rec, t.lat)))
	}
	if p.Longitude, ok = parseCoord(get(rec, t.lon), 180); !ok {
		return reject(ReasonBadNumber, "field longitude: %q is not a longitude", clip(get(rec, t.lon)))
	}
	return nil
}
