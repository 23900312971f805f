package normalize

import (
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatReddit is the archive of Reddit's April 2018 list of suspicious
// (IRA) accounts (github.com/ALCC01/reddit-suspicious-accounts): seed.csv
// (no header: username,karma), users.csv, comments.csv and submissions.csv.
// Accounts are keyed by their lowercased username, because comments and
// submissions name their author only (Reddit usernames are
// case-insensitive, and the seed list writes some in another case).
const FormatReddit = "reddit"

var (
	redditUsersLayout = layout{
		kind:     "users",
		required: []string{"fullname", "name", "created_utc"},
		optional: []string{
			"comment_karma", "link_karma", "id", "has_subscribed", "has_verified_email", "icon_img",
			"is_employee", "is_gold", "is_mod",
		},
		excludes: []string{"author.name"},
	}
	redditCommentsLayout = layout{
		kind:     "comments",
		required: []string{"fullname", "author.name", "body", "created_utc"},
		optional: []string{"parent_id", "link_id", "score", "subreddit.display_name_prefixed"},
		excludes: []string{"title"},
	}
	// redditSubmissionsLayout follows the archive's scraper (PRAW attribute
	// names); no submissions file is among the test samples (unverified).
	redditSubmissionsLayout = layout{
		kind:     "submissions",
		required: []string{"fullname", "author.name", "title", "created_utc"},
		optional: []string{"selftext", "url", "score", "num_comments", "subreddit.display_name_prefixed"},
		excludes: []string{"body"},
	}
)

// reddit implements format for the Reddit 2018 archive.
type reddit struct{}

// name implements format.
func (reddit) name() string { return FormatReddit }

// detect implements format.
func (reddit) detect(h *header) (*binding, []string) {
	var why []string
	for _, l := range []layout{redditCommentsLayout, redditSubmissionsLayout, redditUsersLayout} {
		missing, extra, problem := l.match(h)
		if problem != "" {
			why = append(why, problem)
			continue
		}
		b := &binding{format: FormatReddit, kind: l.kind, missing: missing, extra: extra}
		switch l.kind {
		case "users":
			b.table = &redditUsersTable{name: h.col("name"), created: h.col("created_utc")}
		default:
			b.table = &redditPostsTable{
				fullname: h.col("fullname"), author: h.col("author.name"), created: h.col("created_utc"),
				body: h.col("body"), title: h.col("title"), selftext: h.col("selftext"), url: h.col("url"),
				parent: h.col("parent_id"), score: h.col("score"), comments: h.col("num_comments"),
			}
		}
		return b, nil
	}
	return nil, why
}

// detectHeaderless implements headerless: seed.csv has no header, and its
// first record is a username and an integer karma.
func (reddit) detectHeaderless(first []string) *binding {
	if len(first) != 2 || !isRedditName(first[0]) {
		return nil
	}
	if _, err := strconv.ParseInt(first[1], 10, 64); err != nil {
		return nil
	}
	return &binding{format: FormatReddit, kind: "seed", headerless: true, table: redditSeedTable{}}
}

// isRedditName reports a Reddit username: 3-20 of [A-Za-z0-9_-].
func isRedditName(s string) bool {
	if len(s) < 3 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// redditAccountID makes the account key from a username.
func redditAccountID(field, s string) (string, *rowError) {
	if !isRedditName(s) {
		return "", reject(ReasonBadID, "field %s: %q is not a Reddit username", field, clip(s))
	}
	return strings.ToLower(s), nil
}

// redditSeedTable maps records of seed.csv: username,karma.
type redditSeedTable struct{}

// mapRecord implements table.
func (redditSeedTable) mapRecord(rec []string, out *row) *rowError {
	out.hasSeed = true
	id, e := redditAccountID("username (column 1)", rec[0])
	if e != nil {
		return e
	}
	if _, err := strconv.ParseInt(rec[1], 10, 64); err != nil {
		return reject(ReasonBadNumber, "field karma (column 2): %q is not an integer", clip(rec[1]))
	}
	out.author = schema.Account{AccountID: id, ScreenName: rec[0]}
	return nil
}

// redditUsersTable maps records of users.csv.
type redditUsersTable struct{ name, created twCol }

// mapRecord implements table.
func (t *redditUsersTable) mapRecord(rec []string, out *row) *rowError {
	out.hasAccount = true
	a := &out.account
	a.InUsersFile = true
	var e *rowError
	if a.AccountID, e = redditAccountID("name", get(rec, t.name)); e != nil {
		return e
	}
	a.ScreenName = get(rec, t.name)
	if s := get(rec, t.created); s != "" {
		ms, _, ok := parseEpochSeconds(s)
		if !ok {
			return reject(ReasonBadTime, "field created_utc: %q is not seconds since 1970", clip(s))
		}
		a.CreatedAt = &ms
	}
	return nil
}

// redditPostsTable maps records of comments.csv and submissions.csv.
type redditPostsTable struct {
	fullname, author, created, body, title, selftext, url, parent, score, comments twCol
}

// mapRecord implements table.
func (t *redditPostsTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	id := get(rec, t.fullname)
	if e := checkID("fullname", id, false); e != nil {
		return e
	}
	p.PostID = id
	var e *rowError
	if p.AccountID, e = redditAccountID("author.name", get(rec, t.author)); e != nil {
		return e
	}
	out.author = schema.Account{AccountID: p.AccountID, ScreenName: get(rec, t.author)}
	s := get(rec, t.created)
	ms, prec, ok := parseEpochSeconds(s)
	if !ok {
		return reject(ReasonBadTime, "field created_utc: %q is not seconds since 1970", clip(s))
	}
	p.PostedAt, p.PostedAtPrecision = ms, prec
	if t.body >= 0 {
		p.Text = rec[t.body]
		if p.ReplyToPostID, e = optionalID(rec, t.parent, "parent_id"); e != nil {
			return e
		}
	} else {
		p.Text = get(rec, t.title)
		if st := get(rec, t.selftext); st != "" {
			p.Text += "\n\n" + st
		}
		if u := get(rec, t.url); u != "" {
			p.URLs = []string{u}
		}
		if p.Replies, ok = parseCount(get(rec, t.comments)); !ok {
			return reject(ReasonBadNumber, "field num_comments: %q is not a count", clip(get(rec, t.comments)))
		}
	}
	if t.body >= 0 {
		p.URLs = textURLs(p.Text)
	}
	if p.Likes, ok = parseCount(get(rec, t.score)); !ok {
		return reject(ReasonBadNumber, "field score: %q is not a count", clip(get(rec, t.score)))
	}
	return nil
}

// textURLs returns the http(s) URLs in a text, in order: each runs from
// "http://" or "https://" to the next space, ')' or ']' (Markdown link
// syntax), with trailing punctuation .,;:!? removed.
func textURLs(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "http")
		if i < 0 {
			return out
		}
		rest := s[i:]
		if !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
			s = rest[4:]
			continue
		}
		j := strings.IndexAny(rest, " \t\r\n)]>\"")
		if j < 0 {
			j = len(rest)
		}
		u := strings.TrimRight(rest[:j], ".,;:!?")
		if len(u) > len("https://") {
			out = append(out, u)
		}
		s = rest[j:]
	}
}
