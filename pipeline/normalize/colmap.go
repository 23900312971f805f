package normalize

import (
	"fmt"
	"strings"
)

// A column map names, for the generic format, the column of the input that
// holds each field of a post: "account=author_id,post=id,time=created_at".
// It is the normalize parameter Map (flag --map).

// mapKey is one key of a column map.
type mapKey struct {
	key      string
	required bool
	meaning  string
}

// mapKeys are the keys of a column map, in canonical order.
var mapKeys = []mapKey{
	{"account", true, "account_id of the posting account (an id)"},
	{"post", true, "post_id (an id)"},
	{"time", true, "posted_at: RFC 3339, seconds or milliseconds since 1970 (detected per file, or time=COLUMN:rfc3339|s|ms)"},
	{"text", false, "text; without hashtags or mentions columns, hashtags and mentions are taken from it"},
	{"repost_of", false, "repost_of_post_id; a value makes the post a repost (is_repost)"},
	{"repost_of_account", false, "repost_of_account_id"},
	{"reply_to", false, "reply_to_post_id"},
	{"reply_to_account", false, "reply_to_account_id"},
	{"quote_of", false, "quoted_post_id"},
	{"urls", false, "urls: a JSON or Python list, or items separated by spaces or commas"},
	{"hashtags", false, "hashtags (as urls; a leading # is dropped)"},
	{"mentions", false, "mentions (as urls; a leading @ is dropped)"},
	{"lang", false, "language"},
	{"screen_name", false, "the account's screen_name"},
	{"display_name", false, "the account's display_name"},
}

// Time spellings of the generic format's time column.
const (
	TimeRFC3339 = "rfc3339"  // 2006-01-02T15:04:05Z, with an optional fraction and offset
	TimeEpochS  = "epoch_s"  // seconds since 1970, with an optional fraction
	TimeEpochMs = "epoch_ms" // milliseconds since 1970
)

// timeUnits maps the spellings a column map may give after "time=COLUMN:".
var timeUnits = map[string]string{"rfc3339": TimeRFC3339, "s": TimeEpochS, "ms": TimeEpochMs}

// ColumnMap is a parsed column map: key -> column name.
type ColumnMap struct {
	cols map[string]string
	// timeUnit is the time spelling the map fixes (TimeRFC3339...), or ""
	// to detect it per file.
	timeUnit string
}

// column returns the column mapped to key, or "".
func (m ColumnMap) column(key string) string { return m.cols[key] }

// ParseMap parses a column map: comma-separated key=column pairs, keys
// from mapKeys (account, post and time required), each at most once. The
// time key may end in :rfc3339, :s or :ms to fix the time spelling. Column
// names are matched as header names are (case, '_', '-' and spaces
// ignored); they cannot contain ',' or '='.
func ParseMap(s string) (ColumnMap, error) {
	m := ColumnMap{cols: map[string]string{}}
	if strings.TrimSpace(s) == "" {
		return m, fmt.Errorf("the column map is empty (write e.g. account=author_id,post=id,time=created_at)")
	}
	known := map[string]bool{}
	for _, k := range mapKeys {
		known[k.key] = true
	}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		key, col, ok := strings.Cut(item, "=")
		key, col = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(col)
		switch {
		case item == "":
			return m, fmt.Errorf("item %d is empty (items are key=column, separated by commas)", i+1)
		case !ok:
			return m, fmt.Errorf("item %d %q is not key=column", i+1, item)
		case !known[key]:
			return m, fmt.Errorf("unknown key %q (keys: %s)", key, strings.Join(MapKeys(), ", "))
		case col == "":
			return m, fmt.Errorf("key %s names no column", key)
		case strings.Contains(col, "="):
			return m, fmt.Errorf("key %s: column %q contains '=' (items are key=column, separated by commas)", key, col)
		}
		if _, dup := m.cols[key]; dup {
			return m, fmt.Errorf("key %s is given twice", key)
		}
		if key == "time" {
			if i := strings.LastIndexByte(col, ':'); i >= 0 {
				unit, ok := timeUnits[strings.ToLower(col[i+1:])]
				if !ok {
					return m, fmt.Errorf("time=%s: unknown time spelling %q after ':' (want rfc3339, s or ms, or nothing to detect it)", col, col[i+1:])
				}
				m.timeUnit, col = unit, strings.TrimSpace(col[:i])
				if col == "" {
					return m, fmt.Errorf("key time names no column")
				}
			}
		}
		m.cols[key] = col
	}
	var missing []string
	for _, k := range mapKeys {
		if _, ok := m.cols[k.key]; k.required && !ok {
			missing = append(missing, k.key)
		}
	}
	if len(missing) > 0 {
		return m, fmt.Errorf("required keys missing: %s (account, post and time are required)", strings.Join(missing, ", "))
	}
	return m, nil
}

// String returns the canonical spelling of the map: keys in mapKeys order,
// the time spelling when fixed.
func (m ColumnMap) String() string {
	var parts []string
	for _, k := range mapKeys {
		col, ok := m.cols[k.key]
		if !ok {
			continue
		}
		if k.key == "time" && m.timeUnit != "" {
			for short, unit := range timeUnits {
				if unit == m.timeUnit {
					col += ":" + short
				}
			}
		}
		parts = append(parts, k.key+"="+col)
	}
	return strings.Join(parts, ",")
}

// MapKeys lists the keys of a column map, in canonical order.
func MapKeys() []string {
	out := make([]string, len(mapKeys))
	for i, k := range mapKeys {
		out[i] = k.key
	}
	return out
}

// CanonicalMap returns the canonical spelling of a column map, or s itself
// when it does not parse (Validate reports it).
func CanonicalMap(s string) string {
	if s == "" {
		return ""
	}
	m, err := ParseMap(s)
	if err != nil {
		return s
	}
	return m.String()
}
