package normalize

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatTwarc2 is Twitter API v2 tweets as `twarc2 flatten` writes them
// (github.com/DocNow/twarc, twarc/expansions.py): JSON lines, one tweet
// object per line, with the expansions inlined (author, referenced_tweets,
// entities...) and twarc's own metadata under "__twarc".
const FormatTwarc2 = "twarc2"

// ReasonBadJSON is the reject reason of a JSON line that does not decode
// as the format's object.
const ReasonBadJSON = "bad_json"

// twarc2 implements format and jsonFormat.
type twarc2 struct{}

// name implements format.
func (twarc2) name() string { return FormatTwarc2 }

// detect implements format: a CSV header is never twarc2.
func (twarc2) detect(*header) (*binding, []string) { return nil, nil }

// detectJSON implements jsonFormat.
func (twarc2) detectJSON(first []byte) (*binding, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(first, &keys); err != nil {
		return nil, nil
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("data") && (has("includes") || has("meta") || has("__twarc")):
		return nil, fmt.Errorf("%w: a twarc2 response page (keys data, includes, meta), not one tweet per line: flatten it with `twarc2 flatten FILE flat.jsonl` and add flat.jsonl to the dataset instead", ErrOtherVersion)
	case (has("id_str") || has("user") || has("full_text")) && !has("author_id"):
		return nil, fmt.Errorf("%w: a Twitter API v1.1 tweet (id_str, user, full_text), not API v2 as `twarc2 flatten` writes it: the twarc2 format reads API v2 tweets only; collect them with twarc2, or write the v1.1 tweets as CSV and read them with the generic format (--map account=...,post=...,time=...)", ErrOtherVersion)
	case has("id") && has("author_id") && has("created_at") && has("text"):
		b := &binding{format: FormatTwarc2, kind: "tweets", table: twarc2Table{}}
		if !has("author") {
			// Not expanded: accounts get only their ids.
			b.missing = []string{"author"}
		}
		return b, nil
	}
	return nil, nil
}

// v2Tweet is the part of a flattened API v2 tweet the format reads.
type v2Tweet struct {
	ID              string  `json:"id"`
	AuthorID        string  `json:"author_id"`
	CreatedAt       string  `json:"created_at"`
	Text            string  `json:"text"`
	Lang            string  `json:"lang"`
	Source          string  `json:"source"`
	InReplyToUserID string  `json:"in_reply_to_user_id"`
	Author          *v2User `json:"author"`
	Entities        struct {
		Hashtags []struct {
			Tag string `json:"tag"`
		} `json:"hashtags"`
		URLs []struct {
			URL         string `json:"url"`
			ExpandedURL string `json:"expanded_url"`
		} `json:"urls"`
		Mentions []struct {
			Username string `json:"username"`
		} `json:"mentions"`
	} `json:"entities"`
	ReferencedTweets []struct {
		Type     string `json:"type"`
		ID       string `json:"id"`
		AuthorID string `json:"author_id"`
	} `json:"referenced_tweets"`
	PublicMetrics *struct {
		RetweetCount *int64 `json:"retweet_count"`
		ReplyCount   *int64 `json:"reply_count"`
		LikeCount    *int64 `json:"like_count"`
		QuoteCount   *int64 `json:"quote_count"`
	} `json:"public_metrics"`
	Geo *struct {
		Coordinates *struct {
			Type        string    `json:"type"`
			Coordinates []float64 `json:"coordinates"` // [longitude, latitude]
		} `json:"coordinates"`
	} `json:"geo"`
}

// v2User is the part of an expanded API v2 user the format reads.
type v2User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Name          string `json:"name"`
	Description   string `json:"description"`
	Location      string `json:"location"`
	CreatedAt     string `json:"created_at"`
	PublicMetrics *struct {
		FollowersCount *int64 `json:"followers_count"`
		FollowingCount *int64 `json:"following_count"`
	} `json:"public_metrics"`
}

// twarc2Table maps one JSON line.
type twarc2Table struct{}

// decodeV2Tweet decodes one line; the error says why it is no tweet.
func decodeV2Tweet(line string) (*v2Tweet, error) {
	var tw v2Tweet
	if err := json.Unmarshal([]byte(line), &tw); err != nil {
		return nil, err
	}
	return &tw, nil
}

// mapRecord implements table.
func (twarc2Table) mapRecord(rec []string, out *row) *rowError {
	tw, err := decodeV2Tweet(rec[0])
	if err != nil {
		return reject(ReasonBadJSON, "the line is not an API v2 tweet object: %s", clip(err.Error()))
	}
	out.hasPost = true
	p := &out.post
	if e := checkID("id", tw.ID, false); e != nil {
		return e
	}
	p.PostID = tw.ID
	if e := checkID("author_id", tw.AuthorID, false); e != nil {
		return e
	}
	p.AccountID = tw.AuthorID
	out.author = schema.Account{AccountID: tw.AuthorID, IDHashed: isHashedID(tw.AuthorID)}
	if u := tw.Author; u != nil {
		a := &out.author
		a.ScreenName, a.DisplayName, a.Description, a.Location = u.Username, u.Name, u.Description, u.Location
		if u.CreatedAt != "" {
			ms, _, ok := parseRFC3339(u.CreatedAt)
			if !ok {
				return reject(ReasonBadTime, "field author.created_at: %q is not an RFC 3339 time", clip(u.CreatedAt))
			}
			a.CreatedAt = &ms
		}
		if m := u.PublicMetrics; m != nil {
			a.Followers, a.Following = m.FollowersCount, m.FollowingCount
		}
	}

	fieldMs, prec, haveField := int64(0), "", false
	if tw.CreatedAt != "" {
		if fieldMs, prec, haveField = parseRFC3339(tw.CreatedAt); !haveField {
			return reject(ReasonBadTime, "field created_at: %q is not an RFC 3339 time", clip(tw.CreatedAt))
		}
	}
	if !setPostedAt(out, tw.ID, fieldMs, prec, haveField) {
		return reject(ReasonBadTime, "field created_at: no time, and id %q is no snowflake", clip(tw.ID))
	}

	p.Text = tw.Text
	p.Language = tw.Lang
	p.Client = tw.Source
	for _, r := range tw.ReferencedTweets {
		if e := checkID("referenced_tweets.id", r.ID, false); e != nil {
			return e
		}
		id := r.ID
		switch r.Type {
		case "retweeted":
			p.IsRepost, p.RepostOfPostID = true, &id
			if r.AuthorID != "" {
				if e := checkID("referenced_tweets.author_id", r.AuthorID, false); e != nil {
					return e
				}
				a := r.AuthorID
				p.RepostOfAccountID = &a
			}
		case "quoted":
			p.QuotedPostID = &id
		case "replied_to":
			p.ReplyToPostID = &id
		}
	}
	if p.ReplyToPostID != nil && tw.InReplyToUserID != "" {
		if e := checkID("in_reply_to_user_id", tw.InReplyToUserID, false); e != nil {
			return e
		}
		u := tw.InReplyToUserID
		p.ReplyToAccountID = &u
	}
	for _, h := range tw.Entities.Hashtags {
		p.Hashtags = append(p.Hashtags, h.Tag)
	}
	for _, u := range tw.Entities.URLs {
		v := u.ExpandedURL
		if v == "" {
			v = u.URL
		}
		p.URLs = append(p.URLs, v)
	}
	for _, m := range tw.Entities.Mentions {
		p.Mentions = append(p.Mentions, strings.TrimPrefix(m.Username, "@"))
	}
	if m := tw.PublicMetrics; m != nil {
		p.Likes, p.Reposts, p.Replies, p.Quotes = m.LikeCount, m.RetweetCount, m.ReplyCount, m.QuoteCount
	}
	if g := tw.Geo; g != nil && g.Coordinates != nil && len(g.Coordinates.Coordinates) == 2 {
		lon, lat := g.Coordinates.Coordinates[0], g.Coordinates.Coordinates[1]
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return reject(ReasonBadNumber, "field geo.coordinates: [%g, %g] is out of range", lon, lat)
		}
		p.Latitude, p.Longitude = &lat, &lon
	}
	return nil
}
