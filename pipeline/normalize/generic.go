package normalize

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/schema"
)

// FormatGeneric reads any CSV or Parquet file of posts through a column map
// (Params.Map): the map says which column holds the account, the post id,
// the time and the optional fields (see mapKeys).
const FormatGeneric = "generic"

// ErrTimeColumn means a file's time column holds values in no known
// spelling, or in the wrong unit (milliseconds where seconds are read). The
// message names the file, line, column and value, and what to do.
var ErrTimeColumn = errkind.New(errkind.BadInput, "time column in an unknown spelling or unit")

// ErrNoColumnMap means the generic format was asked for without a column
// map, or a column map was given with another format.
var ErrNoColumnMap = errkind.New(errkind.Usage, "column map")

// generic implements format for the generic format. Without a map (the
// entry of formats, tried by auto-detection) it matches nothing.
type generic struct {
	m *ColumnMap
}

// name implements format.
func (generic) name() string { return FormatGeneric }

// detect implements format: every mapped column must be in the header.
func (g generic) detect(h *header) (*binding, []string) {
	if g.m == nil {
		return nil, nil
	}
	t := &genericTable{ncol: len(h.names), unit: g.m.timeUnit, cols: map[string]int{}, names: map[string]string{}}
	if t.unit != "" {
		t.unitFrom = "map"
	}
	var problems []string
	used := map[int]bool{}
	for _, k := range mapKeys {
		col := g.m.column(k.key)
		if col == "" {
			t.cols[k.key] = -1
			continue
		}
		i := h.col(col)
		if i < 0 {
			problems = append(problems, fmt.Sprintf("%s=%s names no column of the file", k.key, col))
			continue
		}
		t.cols[k.key] = i
		t.names[k.key] = h.names[i]
		used[i] = true
	}
	if len(problems) > 0 {
		return nil, []string{"column map: " + strings.Join(problems, "; ") + " (the file's columns are listed above; fix --map)"}
	}
	var extra []string
	for i, n := range h.names {
		if !used[i] {
			extra = append(extra, n)
		}
	}
	t.timeName = h.names[t.cols["time"]]
	return &binding{format: FormatGeneric, kind: "posts", extra: extra, table: t}, nil
}

// genericTable maps records through a column map.
type genericTable struct {
	ncol     int
	cols     map[string]int    // key -> position, -1 when not mapped
	names    map[string]string // key -> the column's name in the file
	timeName string            // the time column's name in the file
	unit     string            // TimeRFC3339, TimeEpochS or TimeEpochMs; "" until decided
	unitFrom string            // "map" or "detected"
}

// timeFormat implements timeFormatter.
func (t *genericTable) timeFormat() string {
	if t.unit == "" {
		return ""
	}
	return t.unit + " (" + t.unitFrom + ")"
}

// peek implements peeker: the first non-empty time value decides the
// spelling of the file's times, unless the map fixes it.
func (t *genericTable) peek(rec record) (bool, error) {
	if t.unit != "" {
		return true, nil
	}
	if rec.fields == nil || len(rec.fields) != t.ncol {
		return false, nil
	}
	v := strings.TrimSpace(rec.fields[t.cols["time"]])
	if v == "" {
		return false, nil
	}
	unit := detectTimeUnit(v)
	if unit == "" {
		return false, fmt.Errorf("line %d: column %s (map key time): %w: %q is neither RFC 3339 (2006-01-02T15:04:05Z), seconds nor milliseconds since 1970; convert the column to one of them, or fix --map time=COLUMN",
			rec.line, t.timeName, ErrTimeColumn, clip(v))
	}
	t.unit, t.unitFrom = unit, "detected"
	return true, nil
}

// undecided implements peeker.
func (t *genericTable) undecided(eof bool) error {
	if eof {
		return nil // no time value at all: every row is a bad_time reject
	}
	return fmt.Errorf("column %s (map key time): %w: the first %d records hold no time value to tell its spelling from; give it in the map: time=%s:rfc3339, :s or :ms",
		t.timeName, ErrTimeColumn, maxPeek, t.timeName)
}

// epochMsThreshold separates seconds from milliseconds since 1970: 1e11
// seconds is the year 5138, 1e11 milliseconds March 1973.
const epochMsThreshold = 100_000_000_000

// maxEpochMillis is 9999-12-31T23:59:59.999Z.
const maxEpochMillis = maxEpochSeconds*1000 + 999

// detectTimeUnit tells the spelling of one time value: RFC 3339, seconds
// (below 1e11, an optional fraction) or milliseconds (digits, from 1e11);
// "" for none.
func detectTimeUnit(v string) string {
	if _, _, ok := parseRFC3339(v); ok {
		return TimeRFC3339
	}
	if ms, ok := parseEpochMillis(v); ok && ms >= epochMsThreshold {
		return TimeEpochMs
	}
	if _, _, ok := parseTimeAs(v, TimeEpochS); ok {
		return TimeEpochS
	}
	return ""
}

// parseRFC3339 parses an RFC 3339 time (a space may stand for the 'T').
// The precision is ms with a non-zero fraction, else second.
func parseRFC3339(v string) (int64, string, bool) {
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	ts, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || ts.Year() < 1 || ts.Year() > 9999 {
		return 0, "", false
	}
	prec := schema.PrecisionSecond
	if ts.Nanosecond() >= int(time.Millisecond) {
		prec = schema.PrecisionMillisecond
	}
	return ts.UnixMilli(), prec, true
}

// parseEpochMillis parses milliseconds since 1970: digits only.
func parseEpochMillis(v string) (int64, bool) {
	if v == "" || len(v) > 15 {
		return 0, false
	}
	var ms int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	return ms, ms <= maxEpochMillis
}

// parseTimeAs parses v in a spelling decided for the file.
func parseTimeAs(v, unit string) (int64, string, bool) {
	switch unit {
	case TimeRFC3339:
		return parseRFC3339(v)
	case TimeEpochS:
		ms, prec, ok := parseEpochSeconds(v)
		if ok && ms >= epochMsThreshold*1000 {
			return 0, "", false
		}
		return ms, prec, ok
	case TimeEpochMs:
		ms, ok := parseEpochMillis(v)
		return ms, schema.PrecisionMillisecond, ok
	}
	return 0, "", false
}

// field returns the value of a mapped key, or "".
func (t *genericTable) field(rec []string, key string) string {
	return get(rec, t.cols[key])
}

// mapRecord implements table.
func (t *genericTable) mapRecord(rec []string, out *row) *rowError {
	out.hasPost = true
	p := &out.post
	name := func(key string) string { return key + " (" + t.colName(key) + ")" }
	id := strings.TrimSpace(t.field(rec, "post"))
	if e := checkID(name("post"), id, false); e != nil {
		return e
	}
	p.PostID = id
	acc := strings.TrimSpace(t.field(rec, "account"))
	if e := checkID(name("account"), acc, false); e != nil {
		return e
	}
	p.AccountID = acc
	out.author = schema.Account{AccountID: acc, IDHashed: isHashedID(acc),
		ScreenName: t.field(rec, "screen_name"), DisplayName: t.field(rec, "display_name")}

	tv := strings.TrimSpace(t.field(rec, "time"))
	if tv == "" {
		return reject(ReasonBadTime, "field %s: no time", name("time"))
	}
	ms, prec, ok := parseTimeAs(tv, t.unit)
	if !ok {
		return reject(ReasonBadTime, "field %s: %q is not %s, the spelling of this file's times", name("time"), clip(tv), t.unit)
	}
	p.PostedAt, p.PostedAtPrecision = ms, prec

	for _, f := range []struct {
		key string
		dst **string
	}{
		{"repost_of", &p.RepostOfPostID}, {"repost_of_account", &p.RepostOfAccountID},
		{"reply_to", &p.ReplyToPostID}, {"reply_to_account", &p.ReplyToAccountID},
		{"quote_of", &p.QuotedPostID},
	} {
		v := strings.TrimSpace(t.field(rec, f.key))
		if e := checkID(name(f.key), v, true); e != nil {
			return e
		}
		if v != "" {
			*f.dst = &v
		}
	}
	p.IsRepost = p.RepostOfPostID != nil
	p.Text = t.field(rec, "text")
	p.Language = strings.TrimSpace(t.field(rec, "lang"))
	for _, f := range []struct {
		key  string
		dst  *[]string
		sign string
	}{{"urls", &p.URLs, ""}, {"hashtags", &p.Hashtags, "#"}, {"mentions", &p.Mentions, "@"}} {
		if t.cols[f.key] < 0 {
			continue
		}
		v := t.field(rec, f.key)
		items, err := parseGenericList(v)
		if err != nil {
			return reject(ReasonBadList, "field %s: %q is not a list (%v)", name(f.key), clip(v), err)
		}
		for i := range items {
			items[i] = strings.TrimPrefix(items[i], f.sign)
		}
		*f.dst = items
	}
	if t.cols["hashtags"] < 0 || t.cols["mentions"] < 0 {
		tags, mentions := textEntities(p.Text)
		if t.cols["hashtags"] < 0 {
			p.Hashtags = tags
		}
		if t.cols["mentions"] < 0 {
			p.Mentions = mentions
		}
	}
	return nil
}

// colName is the file's name of the column mapped to key.
func (t *genericTable) colName(key string) string { return t.names[key] }

// parseGenericList reads a list value: empty is no items; a value in
// brackets is a JSON array of strings or a list spelling of the archives
// (parseList); anything else is split on commas and white space.
func parseGenericList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if v[0] == '[' {
		var items []string
		if err := json.Unmarshal([]byte(v), &items); err == nil {
			if len(items) == 0 {
				return nil, nil
			}
			return items, nil
		}
		return parseList(v)
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), nil
}
