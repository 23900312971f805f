package normalize

import (
	"fmt"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// A format reads the files of one family of published archives. Adding a
// format means adding one file that implements this interface and listing
// it in formats.
type format interface {
	// name is the value of Params.Format that selects the format.
	name() string
	// detect matches a header against the format's layouts. It returns a
	// binding when one layout fits, or otherwise one line per layout saying
	// what did not fit.
	detect(h *header) (*binding, []string)
}

// formats lists every known format, in the order detection tries them.
var formats = []format{
	twitterIO{},
	fiveThirtyEight{},
	nbc{},
	reddit{},
	toolkit{},
	coorTweet{},
	twarc2{},
	generic{},
}

// binding is a header matched to a layout.
type binding struct {
	format  string
	kind    string   // FileStats.Kind, e.g. "users" or "tweets"
	table   table    // maps records of this header
	missing []string // optional columns of the layout absent from the header
	extra   []string // header columns the layout does not use
	// headerless is set when the file has no header: its first record is
	// data.
	headerless bool
}

// headerless is implemented by formats with a file that has no header
// line. detectHeaderless is asked only when no format matches the first
// record as a header; it returns a binding when the record looks like the
// first data record of such a file.
type headerless interface {
	detectHeaderless(first []string) *binding
}

// A table maps one record of a matched header to rows.
type table interface {
	// mapRecord fills out from rec, which has exactly as many fields as the
	// header. It returns a *rowError when the record cannot become a row.
	mapRecord(rec []string, out *row) *rowError
}

// row is what a table makes of one record: an account (from a users file)
// or a post together with its author as the post row describes it.
type row struct {
	// hasSeed marks a row that only names an account (a seed list): author
	// holds it, and it is added like a post's author.
	hasSeed bool

	hasAccount bool
	account    schema.Account

	hasPost bool
	post    schema.Post
	author  schema.Account // the posting account, from the post row's user columns
	// timeDisagreement is set when the post's two times differ by more than
	// a minute.
	timeDisagreement bool
}

// rowError is why one record was rejected.
type rowError struct {
	reason string // a Reason* code
	detail string // a sentence naming the field and value
}

// Reject reason codes, stable: they are written into the rejects table.
const (
	ReasonBadQuote    = "bad_quote"    // CSV quoting is invalid (bare or unbalanced quote)
	ReasonFieldCount  = "field_count"  // the record has more or fewer fields than the header
	ReasonTruncated   = "truncated"    // the last record of a file is cut short
	ReasonBadID       = "bad_id"       // an id is empty where required, or not an id
	ReasonBadTime     = "bad_time"     // a time or date does not parse, or no time at all
	ReasonBadNumber   = "bad_number"   // a count or coordinate does not parse
	ReasonBadBool     = "bad_bool"     // a boolean is not true/false
	ReasonBadList     = "bad_list"     // a list value does not parse
	ReasonDuplicateID = "duplicate_id" // an account id already seen in a users file
	ReasonIDRounded   = "id_rounded"   // an id a spreadsheet turned into a float ("9.06E+17"): the id is lost
	ReasonTooLarge    = "too_large"    // the record is longer than MaxRecordBytes; raw keeps its first RejectRawPrefix bytes
)

// Warning codes counted in FileStats.Warnings.
const (
	WarnUTF8Repaired     = "utf8_repaired"     // invalid UTF-8 replaced by U+FFFD in a written row
	WarnTimeDisagreement = "time_disagreement" // snowflake time and tweet_time differ by more than 60 s
	WarnQuoteRepaired    = "quote_repaired"    // a record with stray quotes (not RFC 4180) read leniently, unambiguously
)

// reject makes a rowError with a formatted detail.
func reject(reason, format string, args ...any) *rowError {
	return &rowError{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// header holds a file's column names and looks them up loosely: case,
// underscores, hyphens and spaces are ignored, so "accountCreationDate"
// finds account_creation_date.
type header struct {
	names []string
	index map[string]int // normalized name -> position
	dups  []string
}

// normColumn is the loose form of a column name.
func normColumn(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
}

// newHeader indexes a header's column names by their loose form.
func newHeader(names []string) *header {
	h := &header{names: append([]string(nil), names...), index: make(map[string]int, len(names))}
	for i, n := range names {
		k := normColumn(n)
		if _, ok := h.index[k]; ok {
			h.dups = append(h.dups, n)
			continue
		}
		h.index[k] = i
	}
	return h
}

// col returns the position of a column, or -1.
func (h *header) col(name string) int {
	if i, ok := h.index[normColumn(name)]; ok {
		return i
	}
	return -1
}

// layout describes one kind of file of a format by its columns.
type layout struct {
	kind     string
	required []string // must all be present
	optional []string // read when present
	excludes []string // must all be absent (they mark another layout)
}

// match checks h against the layout. It returns the missing optional
// columns and extra columns, or a reason it does not fit.
func (l layout) match(h *header) (missing, extra []string, problem string) {
	var needed, present []string
	for _, c := range l.required {
		if h.col(c) < 0 {
			needed = append(needed, c)
		}
	}
	for _, c := range l.excludes {
		if h.col(c) >= 0 {
			present = append(present, c)
		}
	}
	if len(needed) > 0 || len(present) > 0 {
		var parts []string
		if len(needed) > 0 {
			parts = append(parts, "missing "+strings.Join(needed, ", "))
		}
		if len(present) > 0 {
			parts = append(parts, "has "+strings.Join(present, ", ")+" which it must not")
		}
		return nil, nil, fmt.Sprintf("%s (expects %s): %s", l.kind, strings.Join(l.required, ", "), strings.Join(parts, "; "))
	}
	known := map[string]bool{}
	for _, c := range l.required {
		known[normColumn(c)] = true
	}
	for _, c := range l.optional {
		known[normColumn(c)] = true
		if h.col(c) < 0 {
			missing = append(missing, c)
		}
	}
	for _, n := range h.names {
		if !known[normColumn(n)] {
			extra = append(extra, n)
		}
	}
	return missing, extra, ""
}

// detectFormat finds the binding for a header among the allowed formats.
func detectFormat(allowed []format, names []string) (*binding, error) {
	h := newHeader(names)
	if len(h.dups) > 0 {
		return nil, fmt.Errorf("%w: duplicate columns %s", ErrUnknownHeader, strings.Join(h.dups, ", "))
	}
	var problems []string
	for _, f := range allowed {
		b, why := f.detect(h)
		if b != nil {
			return b, nil
		}
		for _, w := range why {
			problems = append(problems, f.name()+" "+w)
		}
	}
	for _, f := range allowed {
		if hf, ok := f.(headerless); ok {
			if b := hf.detectHeaderless(names); b != nil {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: columns [%s]; %s", ErrUnknownHeader, clipN(strings.Join(names, ","), 600), strings.Join(problems, "; "))
}

// Formats returns the names of the known formats, in detection order.
func Formats() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.name()
	}
	return out
}
