package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/takedown-research/takedown/internal/schema"
)

// FormatToolkit is the CSV input layout of the coordination-network-toolkit
// (github.com/QUT-Digital-Observatory/coordination-network-toolkit):
//
//	message_id,user_id,username,repost_id,reply_id,message,timestamp,urls
//
// with timestamp in seconds since the Unix epoch (possibly fractional) and
// urls separated by single spaces (the toolkit's row[-1].split(" ")).
const FormatToolkit = "cnt"

var toolkitLayout = layout{
	kind:     "posts",
	required: []string{"message_id", "user_id", "message", "timestamp"},
	optional: []string{"username", "repost_id", "reply_id", "urls"},
	excludes: []string{"tweetid", "tweet_text"},
}

// toolkit implements format for the coordination-network-toolkit layout.
type toolkit struct{}

// name implements format.
func (toolkit) name() string { return FormatToolkit }

// detect implements format.
func (toolkit) detect(h *header) (*binding, []string) {
	missing, extra, problem := toolkitLayout.match(h)
	if problem != "" {
		return nil, []string{problem}
	}
	return &binding{
		format: FormatToolkit, kind: toolkitLayout.kind, missing: missing, extra: extra,
		table: &toolkitTable{
			messageID: h.col("message_id"),
			userID:    h.col("user_id"),
			username:  h.col("username"),
			repostID:  h.col("repost_id"),
			replyID:   h.col("reply_id"),
			message:   h.col("message"),
			timestamp: h.col("timestamp"),
			urls:      h.col("urls"),
		},
	}, nil
}

// toolkitTable maps records of a coordination-network-toolkit file.
type toolkitTable struct {
	messageID, userID, username, repostID, replyID, message, timestamp, urls twCol
}

// mapRecord implements table.
func (t *toolkitTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	id := get(rec, t.messageID)
	if e := checkID("message_id", id, false); e != nil {
		return e
	}
	p.PostID = id
	uid := get(rec, t.userID)
	k, e := checkIDKind("user_id", uid)
	if e != nil {
		return e
	}
	p.AccountID = uid
	out.author = schema.Account{AccountID: uid, IDHashed: hashedKind(k), ScreenName: get(rec, t.username)}

	ts := get(rec, t.timestamp)
	ms, prec, ok := parseEpochSeconds(ts)
	if !ok {
		return reject(ReasonBadTime, "field timestamp: %q is not seconds since 1970", clip(ts))
	}
	p.PostedAt, p.PostedAtPrecision = ms, prec

	if p.RepostOfPostID, e = optionalID(rec, t.repostID, "repost_id"); e != nil {
		return e
	}
	p.IsRepost = p.RepostOfPostID != nil
	if p.ReplyToPostID, e = optionalID(rec, t.replyID, "reply_id"); e != nil {
		return e
	}
	p.Text = get(rec, t.message)
	p.URLs = splitURLField(get(rec, t.urls))
	p.Hashtags, p.Mentions = textEntities(p.Text)
	return nil
}

// maxEpochSeconds is 9999-12-31T23:59:59Z.
const maxEpochSeconds = 253402300799

// parseEpochSeconds parses seconds since 1970-01-01T00:00:00Z: digits with
// an optional fraction ("1500000000", "1500000000.25"). Without a fraction
// or with ".0" (how Python writes a float) the precision is "second"; with
// another fraction it is "ms" (digits after the third are truncated).
func parseEpochSeconds(s string) (int64, string, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 12 || (hasFrac && frac == "") {
		return 0, "", false
	}
	var sec int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, "", false
		}
		sec = sec*10 + int64(c-'0')
	}
	if sec > maxEpochSeconds {
		return 0, "", false
	}
	if !hasFrac || frac == "0" {
		return sec * 1000, schema.PrecisionSecond, true
	}
	var ms int64
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, "", false
		}
		if i < 3 {
			ms = ms*10 + int64(c-'0')
		}
	}
	for i := len(frac); i < 3; i++ {
		ms *= 10
	}
	return sec*1000 + ms, schema.PrecisionMillisecond, true
}

// splitURLField splits the urls field as the toolkit's CSV reader does,
// Python's s.split(" "): on every single space and nothing else, so doubled,
// leading and trailing spaces give empty items and a tab or a newline stays
// inside its item (the toolkit's co_link compares these raw strings). An
// empty field is no items (the toolkit reads it as one empty URL; the
// fingerprint stage's cnt_url_keys says so, posts.urls does not).
func splitURLField(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// isWordRune reports the runes of a hashtag or mention body: letters,
// digits, combining marks and '_'.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiWord[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// asciiWord marks the ASCII word runes: letters, digits and '_' (no ASCII
// rune is a nonspacing mark).
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return t
}()

// textEntities extracts hashtags (#word) and mentions (@word) from a post
// text, without the sign, in text order. A sign counts only at the start of
// the text or after a rune that is not a word rune (so "a#b" and
// "me@example.org" are not entities); the body is a run of word runes. A
// hashtag of digits only ("#1") is not a hashtag.
func textEntities(text string) (hashtags, mentions []string) {
	// From sign to sign: whether a sign follows a word rune is read from
	// the rune before it, decoded backwards, which is the rune a forward
	// scan would have decoded there (also in invalid UTF-8: a forward scan
	// stops on every start byte); after a body that rune is its last, a
	// word rune.
	for i := 0; ; {
		k := strings.IndexAny(text[i:], "#@")
		if k < 0 {
			return hashtags, mentions
		}
		i += k
		if i > 0 {
			if prev, _ := utf8.DecodeLastRuneInString(text[:i]); isWordRune(prev) {
				i++
				continue
			}
		}
		sign := text[i]
		j := i + 1
		digitsOnly := true
		for j < len(text) {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r2) {
				break
			}
			if !unicode.IsDigit(r2) {
				digitsOnly = false
			}
			j += s2
		}
		body := text[i+1 : j]
		switch {
		case body == "":
		case sign == '#' && !digitsOnly:
			hashtags = append(hashtags, body)
		case sign == '@':
			mentions = append(mentions, body)
		}
		i = max(j, i+1)
	}
}

// WithFormatHint returns p with Format set from a dataset descriptor's
// format when p.Format is "auto" and the descriptor names a format of this
// stage other than twitter-io (the default of `takedown datasets add` and of
// the registry, which auto-detection already covers), and with Map set from
// the descriptor's column map when p has none. A column map makes an "auto"
// format generic, and is written in its canonical spelling (CanonicalMap).
// The result enters the run id, so the effective format and map are part of
// a run's identity.
func WithFormatHint(p Params, descriptorFormat, descriptorMap string) Params {
	if p.Map == "" && descriptorMap != "" && (p.Format == FormatAuto || p.Format == FormatGeneric) {
		p.Map = descriptorMap
	}
	if p.Format == FormatAuto && descriptorFormat != FormatTwitterIO {
		for _, f := range formats {
			if f.name() == descriptorFormat {
				p.Format = descriptorFormat
			}
		}
	}
	if p.Map != "" && p.Format == FormatAuto {
		p.Format = FormatGeneric
	}
	p.Map = CanonicalMap(p.Map)
	return p
}
