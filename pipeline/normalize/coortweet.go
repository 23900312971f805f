package normalize

import (
	"fmt"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatCoorTweet is the input of the CooRTweet R package
// (github.com/nicolarighetti/CooRTweet, detect_groups): one share per row,
//
//	object_id,account_id,content_id,timestamp_share
//
// with timestamp_share in seconds since 1970. The shared object becomes the
// reposted item: content_id -> post_id, account_id -> account_id,
// timestamp_share -> posted_at, object_id -> repost_of_post_id with
// is_repost set, so the co_repost signal (and CooRTweet's own analysis)
// sees accounts sharing one object.
const FormatCoorTweet = "coortweet"

var coorTweetLayout = layout{
	kind:     "shares",
	required: []string{"object_id", "account_id", "content_id", "timestamp_share"},
}

// coorTweet implements format.
type coorTweet struct{}

// name implements format.
func (coorTweet) name() string { return FormatCoorTweet }

// detect implements format.
func (coorTweet) detect(h *header) (*binding, []string) {
	missing, extra, problem := coorTweetLayout.match(h)
	if problem != "" {
		return nil, []string{problem}
	}
	return &binding{
		format: FormatCoorTweet, kind: coorTweetLayout.kind, missing: missing, extra: extra,
		table: &coorTweetTable{
			ncol:      len(h.names),
			objectID:  h.col("object_id"),
			accountID: h.col("account_id"),
			contentID: h.col("content_id"),
			timestamp: h.col("timestamp_share"),
		},
	}, nil
}

// coorTweetTable maps records of a CooRTweet file.
type coorTweetTable struct {
	ncol                                      int
	objectID, accountID, contentID, timestamp twCol
}

// peek implements peeker: the first timestamp tells seconds from
// milliseconds, a common mistake (R's as.numeric of a POSIXct is seconds,
// many exports write milliseconds).
func (t *coorTweetTable) peek(rec record) (bool, error) {
	if rec.fields == nil || len(rec.fields) != t.ncol {
		return false, nil
	}
	v := strings.TrimSpace(rec.fields[t.timestamp])
	if v == "" {
		return false, nil
	}
	if ms, ok := parseEpochMillis(v); ok && ms >= epochMsThreshold {
		return false, fmt.Errorf("line %d: column timestamp_share: %w: %s is milliseconds since 1970 (above 1e11), coortweet timestamps are seconds: divide the column by 1000 (in R: x$timestamp_share <- x$timestamp_share %%/%% 1000) and use the new file",
			rec.line, ErrTimeColumn, v)
	}
	return true, nil
}

// undecided implements peeker.
func (t *coorTweetTable) undecided(bool) error { return nil }

// mapRecord implements table.
func (t *coorTweetTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	id := get(rec, t.contentID)
	if e := checkID("content_id", id, false); e != nil {
		return e
	}
	p.PostID = id
	acc := get(rec, t.accountID)
	if e := checkID("account_id", acc, false); e != nil {
		return e
	}
	p.AccountID = acc
	out.author = schema.Account{AccountID: acc, IDHashed: isHashedID(acc)}
	obj := get(rec, t.objectID)
	if strings.TrimSpace(obj) == "" {
		return reject(ReasonBadID, "field object_id: empty (the shared object is required)")
	}
	p.IsRepost, p.RepostOfPostID = true, &obj

	ts := strings.TrimSpace(get(rec, t.timestamp))
	ms, prec, ok := parseEpochSeconds(ts)
	switch {
	case !ok && ts == "":
		return reject(ReasonBadTime, "field timestamp_share: no time")
	case !ok:
		if v, isMs := parseEpochMillis(ts); isMs && v >= epochMsThreshold {
			return reject(ReasonBadTime, "field timestamp_share: %q looks like milliseconds since 1970, not seconds", clip(ts))
		}
		return reject(ReasonBadTime, "field timestamp_share: %q is not seconds since 1970", clip(ts))
	case ms >= epochMsThreshold*1000:
		return reject(ReasonBadTime, "field timestamp_share: %q looks like milliseconds since 1970, not seconds", clip(ts))
	}
	p.PostedAt, p.PostedAtPrecision = ms, prec
	return nil
}
