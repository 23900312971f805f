// Package csvfield is the one CSV field rule of takedown: how a field is
// quoted when takedown writes CSV (exports, compat outputs, the synthetic
// releases). Readers use encoding/csv; the writers append fields to byte
// slices for speed and must quote exactly as encoding/csv would.
package csvfield

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Append appends one RFC 4180 field: quoted when quote is set or when
// encoding/csv would quote it (NeedsQuotes), with quotes doubled. An empty
// field is written unquoted unless quote is set.
func Append(b []byte, s string, quote bool) []byte {
	if !quote && !NeedsQuotes(s) {
		return append(b, s...)
	}
	return AppendQuoted(b, s)
}

// AppendQuoted appends s as a quoted field, its quotes doubled.
func AppendQuoted[T ~string | ~[]byte](b []byte, s T) []byte {
	b = append(b, '"')
	b = AppendEscaped(b, s)
	return append(b, '"')
}

// AppendEscaped appends s with its quotes doubled, without the enclosing
// quotes (s goes inside a quoted field).
func AppendEscaped[T ~string | ~[]byte](b []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, s[start:i+1]...)
			b = append(b, '"')
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}

// NeedsQuotes is encoding/csv's rule for a field written with Comma ',':
// a comma, quote, CR or LF in it, a leading space (any Unicode space), or
// the field `\.`.
func NeedsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || strings.ContainsAny(s, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}
