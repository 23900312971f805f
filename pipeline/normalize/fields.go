package normalize

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/takedown-research/takedown/internal/schema"
)

// Kinds of identifier, from idKind.
const (
	idInvalid = iota
	idDigits
	idHex64
	idBase64
	idOpaque // any other token of id characters
)

// Hash families reported in Stats.IDHashFamily.
const (
	FamilyNone   = "none"
	FamilyHex64  = "hex64"
	FamilyBase64 = "base64"
	FamilyMixed  = "mixed"
)

// idKind classifies an identifier. Valid ids are non-empty tokens of at most
// 128 characters from [0-9A-Za-z+/=_-]: numeric ids, 64-hex hashes,
// base64-like hashes (41-44 characters, not all digits) and other opaque
// tokens. Anything else (spaces, dots, "9.06E+17") is invalid.
func idKind(s string) int {
	if s == "" || len(s) > 128 {
		return idInvalid
	}
	// One table lookup a byte: the classes every byte so far belongs to.
	acc := uint8(idcDigit | idcHex | idcValid)
	for i := 0; i < len(s); i++ {
		acc &= idClass[s[i]]
	}
	switch {
	case acc&idcValid == 0:
		return idInvalid
	case acc&idcDigit != 0:
		return idDigits
	case acc&idcHex != 0 && len(s) == 64:
		return idHex64
	case len(s) >= 41 && len(s) <= 44:
		return idBase64
	}
	return idOpaque
}

// Classes of an id byte in idClass: valid in an id, a decimal digit, a hex
// digit.
const (
	idcValid = 1 << iota
	idcDigit
	idcHex
)

// idClass gives each byte its id classes (0: not an id byte).
var idClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = idcValid | idcDigit | idcHex
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			t[c] = idcValid | idcHex
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z', c == '+', c == '/', c == '=', c == '_', c == '-':
			t[c] = idcValid
		}
	}
	return t
}()

// isRoundedID reports an id a spreadsheet rewrote as a float: "9.06E+17",
// "9.05875E+17", "1.2e18", or a decimal with a fraction ("905874659358453760.0"
// keeps its digits but only 15-17 of them are exact, so it is treated the
// same). Such an id is lost and must never be converted to a number.
func isRoundedID(s string) bool {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		exp = strings.TrimPrefix(exp, "+")
		if exp == "" {
			return false
		}
		for i := 0; i < len(exp); i++ {
			if exp[i] < '0' || exp[i] > '9' {
				return false
			}
		}
	}
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if intPart == "" || (!hasExp && !hasFrac) {
		return false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// checkID returns the reject for an id field value: id_rounded for a
// spreadsheet float, bad_id for anything else that is not an id. Empty is
// accepted only when optional is set.
func checkID(field, s string, optional bool) *rowError {
	if s == "" && optional {
		return nil
	}
	_, e := checkIDKind(field, s)
	return e
}

// checkIDKind checks a required id as checkID does and returns its idKind.
func checkIDKind(field, s string) (int, *rowError) {
	if k := idKind(s); k != idInvalid {
		return k, nil
	}
	if isRoundedID(s) {
		return idInvalid, reject(ReasonIDRounded, "field %s: %q is an id rounded by a spreadsheet; the original id is lost (use an unmodified copy of the file)", field, clip(s))
	}
	return idInvalid, reject(ReasonBadID, "field %s: %q is not an id", field, clip(s))
}

// isHashedID reports whether an account id is one of the published hash
// forms (64-hex, or base64-like of 41-44 characters).
func isHashedID(s string) bool { return hashedKind(idKind(s)) }

// hashedKind reports whether an idKind is a published hash form.
func hashedKind(k int) bool { return k == idHex64 || k == idBase64 }

// Twitter snowflake ids: the top 41 bits of the 63 are milliseconds since
// twitterEpoch.
const twitterEpoch = 1288834974657

// snowflakeMinID is the smallest id read as a snowflake: the one whose
// embedded time is 2010-11-05T00:00:00Z. Sequential ids from before
// snowflake (all below 3e10) are far smaller.
var snowflakeMinID = uint64(time.Date(2010, 11, 5, 0, 0, 0, 0, time.UTC).UnixMilli()-twitterEpoch) << 22

// setPostedAt gives the row's post its time: from the snowflake id when it is one
// (millisecond precision), else from the archive's own time field (fieldMs at
// precision prec, when haveField). When both exist and differ by more than a
// minute, the disagreement is recorded on out. It reports false when neither
// gives a time.
func setPostedAt(out *row, id string, fieldMs int64, prec string, haveField bool) bool {
	p := &out.post
	if snow, isSnow := snowflakeMillis(id); isSnow {
		p.PostedAt, p.PostedAtPrecision = snow, schema.PrecisionMillisecond
		if d := snow - fieldMs; haveField && (d < -60_000 || d > 60_000) {
			out.timeDisagreement = true
		}
		return true
	}
	if !haveField {
		return false
	}
	p.PostedAt, p.PostedAtPrecision = fieldMs, prec
	return true
}

// snowflakeMillis returns the creation time embedded in a snowflake id.
func snowflakeMillis(id string) (int64, bool) {
	if id == "" || len(id) > 19 || id[0] == '+' || id[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(id, 10, 64)
	if err != nil || v < snowflakeMinID || v > math.MaxInt64 {
		return 0, false
	}
	return int64(v>>22) + twitterEpoch, true
}

// atoiFixed parses an unsigned decimal of exactly len(s) digits.
func atoiFixed(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseDate parses YYYY-MM-DD as midnight UTC, in milliseconds.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := atoiFixed(s[0:4])
	mo, ok2 := atoiFixed(s[5:7])
	d, ok3 := atoiFixed(s[8:10])
	if !ok1 || !ok2 || !ok3 || !validYMD(y, mo, d) {
		return 0, false
	}
	return daysFromCivil(y, mo, d) * 86_400_000, true
}

// validYMD reports whether y-mo-d is a real day of the proleptic Gregorian
// calendar (time.Date's).
func validYMD(y, mo, d int) bool {
	if mo < 1 || mo > 12 || d < 1 {
		return false
	}
	n := monthDays[mo-1]
	if mo == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		n = 29
	}
	return d <= n
}

var monthDays = [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// daysFromCivil is the number of days from 1970-01-01 to y-mo-d, a valid
// day of the proleptic Gregorian calendar with y >= 0: the arithmetic of
// time.Date without its normalization (TestCivilDays compares the two).
func daysFromCivil(y, mo, d int) int64 {
	if mo <= 2 {
		y-- // the year counts from March, so that the leap day ends it
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400                     // [0, 399]
	doy := (153*((mo+9)%12)+2)/5 + d - 1   // [0, 365], from March 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return int64(era)*146097 + int64(doe) - 719468
}

// parseTweetTime parses "YYYY-MM-DD HH:MM" (precision minute) or
// "YYYY-MM-DD HH:MM:SS" (precision second), UTC.
func parseTweetTime(s string) (ms int64, precision string, ok bool) {
	if len(s) != 16 && len(s) != 19 {
		return 0, "", false
	}
	day, ok := parseDate(s[:10])
	if !ok || s[10] != ' ' || s[13] != ':' {
		return 0, "", false
	}
	h, ok1 := atoiFixed(s[11:13])
	m, ok2 := atoiFixed(s[14:16])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, "", false
	}
	ms = day + int64(h)*3_600_000 + int64(m)*60_000
	if len(s) == 16 {
		return ms, "minute", true
	}
	sec, ok := atoiFixed(s[17:19])
	if s[16] != ':' || !ok || sec > 59 {
		return 0, "", false
	}
	return ms + int64(sec)*1000, "second", true
}

// parseCount parses a non-negative-or-negative integer count. Empty means
// null; a float with a zero fraction ("12.0") is accepted as its integer.
func parseCount(s string) (*int64, bool) {
	if s == "" {
		return nil, true
	}
	if v, ok := plainCount(s); ok {
		return countPtr(v), true
	}
	return parseCountGeneral(s)
}

// parseCountGeneral is parseCount without its fast path for plain digits.
func parseCountGeneral(s string) (*int64, bool) {
	if s == "" {
		return nil, true
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		if frac == "" || strings.Trim(frac, "0") != "" {
			return nil, false
		}
		s = s[:i]
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, false
	}
	return newInt64(v), true
}

// newInt64 returns a pointer to a copy of v (the copy alone escapes).
func newInt64(v int64) *int64 { return &v }

// plainCount parses a count of 1 to 18 decimal digits, the common case,
// which strconv.ParseInt would accept as is.
func plainCount(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + int64(d)
	}
	return v, true
}

// smallCounts holds the counts below len(smallCounts), which countPtr
// shares instead of allocating: most likes, reposts and replies are small.
// Nothing writes through a count's pointer.
var smallCounts = func() (a [4096]int64) {
	for i := range a {
		a[i] = int64(i)
	}
	return a
}()

// countPtr returns a pointer to v, shared for a small v.
func countPtr(v int64) *int64 {
	if v >= 0 && v < int64(len(smallCounts)) {
		return &smallCounts[v]
	}
	return newInt64(v)
}

// parseCoord parses a latitude or longitude. Empty, "absent" and "present"
// (how the archives hide coordinates) are null.
func parseCoord(s string, limit float64) (*float64, bool) {
	switch strings.ToLower(s) {
	case "", "absent", "present":
		return nil, true
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.Abs(v) > limit {
		return nil, false
	}
	return &v, true
}

// parseBool parses true/false in any case, and 1/0. Empty is false.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE", "1":
		return true, true
	case "false", "False", "FALSE", "0", "":
		return false, true
	}
	return false, false
}

// errNotList is returned by parseList for a value that is not a list.
var errNotList = errors.New("not a list")

// parseList parses the list spellings of the archives:
//
//	""  and  []                      empty
//	['a', 'b']  or  ["it's", 'b']    Python repr, with backslash escapes
//	[a, b]                           bare items, split on ", " (on "," when
//	                                 the value has no ", ")
//
// Every item is kept, including "0" and empty strings.
func parseList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errNotList
	}
	inner := strings.TrimSpace(s[1 : len(s)-1])
	if inner == "" {
		return nil, nil
	}
	if inner[0] != '\'' && inner[0] != '"' {
		sep := ", "
		if !strings.Contains(inner, sep) {
			sep = ","
		}
		items := strings.Split(inner, sep)
		for i, it := range items {
			items[i] = strings.TrimSpace(it)
		}
		return items, nil
	}
	var items []string
	rest := inner
	for {
		item, after, err := parseReprString(rest)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		after = strings.TrimLeft(after, " ")
		if after == "" {
			return items, nil
		}
		if after[0] != ',' {
			return nil, errors.New("expected ',' between list items")
		}
		rest = strings.TrimLeft(after[1:], " ")
		if rest == "" {
			return items, nil // Python allows a trailing comma.
		}
	}
}

// parseReprString parses one Python string literal at the start of s and
// returns its value and the text after it.
func parseReprString(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", errors.New("list item is not quoted")
	}
	q := s[0]
	// Fast path: no escapes before the closing quote.
	if j := strings.IndexByte(s[1:], q); j >= 0 && strings.IndexByte(s[1:1+j], '\\') < 0 {
		return s[1 : 1+j], s[2+j:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == q:
			return b.String(), s[i+1:], nil
		case c != '\\':
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x', 'u', 'U':
			n := 2
			if e == 'u' {
				n = 4
			} else if e == 'U' {
				n = 8
			}
			if i+n > len(s) {
				return "", "", errors.New("short \\" + string(e) + " escape")
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil {
				return "", "", errors.New("bad \\" + string(e) + " escape")
			}
			r := rune(v)
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
			i += n
		default:
			// Python keeps unknown escapes as written.
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", "", errors.New("unterminated quoted list item")
}

// parsePipeList splits poll choices, which are "|"-separated.
func parsePipeList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// clip shortens a value for an error detail.
func clip(s string) string { return clipN(s, 80) }

// clipN shortens s to at most max bytes, on a rune boundary.
func clipN(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
