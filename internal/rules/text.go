package rules

import (
	"html"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"mvdan.cc/xurls/v2"
)

var (
	// rtPrefix matches a leading retweet marker such as "RT @user:". The
	// normalizer uses the scanner rtPrefixLen; the expression is the
	// reference the tests compare it with.
	rtPrefix = regexp.MustCompile(`^(?i:rt)\s*@[\p{L}\p{N}_]+\s*:?\s*`)
	// mentionRe matches an @mention. The normalizer uses the scanner
	// appendWithoutMentions; the expression is the reference of the tests.
	mentionRe = regexp.MustCompile(`@[\p{L}\p{N}_]+`)
	// removeURLRe finds URLs to remove from the text, with or without a
	// scheme. It and keyURLRe are compiled on first use: compiling them
	// took most of a process's start (70 ms), stages that never meet a URL
	// included.
	removeURLRe = sync.OnceValue(xurls.Relaxed)
	// keyURLRe finds URLs in the text that become url keys: only ones with a scheme.
	keyURLRe = sync.OnceValue(xurls.Strict)
)

// Normalizer holds the per-goroutine state of text and hashtag
// normalization: a cases.Caser is stateful and must not be shared between
// goroutines, and the byte buffers are reused from one text to the next. A
// Normalizer must not be used by two goroutines at once.
type Normalizer struct {
	fold cases.Caser
	buf  []byte
	buf2 []byte
}

// NewNormalizer returns a Normalizer.
func NewNormalizer() *Normalizer {
	return &Normalizer{fold: cases.Fold()}
}

// NormalizeText returns the normalized form of a post's text, the string
// whose hash is the text key. It unescapes HTML entities, applies NFKC,
// strips a leading "RT @user:", removes URLs (with or without a scheme) and
// @mentions, case-folds, drops invisible format characters (zero-width
// spaces and joiners) and collapses runs of white space into one space.
// Hashtags are kept as words, with their "#".
func NormalizeText(s string) string {
	text, _ := NewNormalizer().Text(s, false)
	return text
}

// Text returns NormalizeText(s) and, when wantURLs is set, the raw URLs
// with a scheme found in the text (before case folding), in text order: the
// URLs whose canonical forms (CanonicalURL) become url keys.
//
// Texts that are plain ASCII after NFKC (most posts) take a fast path that
// gives the same bytes: NFKC and case folding of ASCII text are the identity
// and ASCII lowercasing, ASCII holds no format (Cf) characters, and its
// white space is "\t\n\v\f\r ". The retweet marker and mentions are
// removed by hand-written scanners equivalent to rtPrefix and mentionRe.
// Texts made only of simple runes (see simplerunes.go) take a second fast
// path: a table gives each rune's fold, and NFKC leaves such texts alone.
func (n *Normalizer) Text(s string, wantURLs bool) (string, []string) {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	if !isASCII(s) && !allSimple(s) {
		s = norm.NFKC.String(s)
	}
	for {
		t := strings.TrimLeftFunc(s, unicode.IsSpace)
		end := rtPrefixLen(t)
		if end < 0 {
			break
		}
		s = t[end:]
	}
	var found []string
	if strings.IndexByte(s, '.') >= 0 || strings.IndexByte(s, ':') >= 0 {
		s, found = n.removeURLs(s, wantURLs)
	}
	if isASCII(s) {
		// One pass: mentions out, ASCII lowercase, white space collapsed.
		n.buf = appendASCIINormal(n.buf[:0], s)
		return string(n.buf), found
	}
	if strings.IndexByte(s, '@') >= 0 {
		n.buf = appendWithoutMentions(n.buf[:0], s)
		s = string(n.buf)
	}
	if out, ok := appendSimpleFold(n.buf2[:0], s); ok {
		n.buf2 = out
		return string(out), found
	}
	s = n.fold.String(s)
	s = norm.NFKC.String(s)
	out := n.buf2[:0]
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = len(out) > 0
		case unicode.Is(unicode.Cf, r):
			// Zero-width characters are invisible and easily inserted to
			// defeat exact matching.
		default:
			if space {
				out = append(out, ' ')
				space = false
			}
			out = utf8.AppendRune(out, r)
		}
	}
	n.buf2 = out
	return string(out), found
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isASCIISpace reports whether c is white space by unicode.IsSpace.
func isASCIISpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r')
}

// isRESpace reports whether c is in the regular expression class \s
// ([\t\n\f\r ]).
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// isMentionRune reports whether r is in [\p{L}\p{N}_].
func isMentionRune(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') || r == '_' ||
			unicode.IsLetter(r) || unicode.IsNumber(r)
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// mentionEnd returns the end of the mention word that starts at s[i] (the
// byte after an '@'): i when no [\p{L}\p{N}_] rune starts there.
func mentionEnd(s string, i int) int {
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if !isMentionRune(r) {
			break
		}
		i += size
	}
	return i
}

// rtPrefixLen returns the length of the retweet marker at the start of t,
// the match of rtPrefix, or -1 when t does not start with one.
func rtPrefixLen(t string) int {
	if len(t) < 2 || t[0]|0x20 != 'r' || t[1]|0x20 != 't' {
		return -1
	}
	i := 2
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	if i >= len(t) || t[i] != '@' {
		return -1
	}
	end := mentionEnd(t, i+1)
	if end == i+1 {
		return -1
	}
	i = end
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	if i < len(t) && t[i] == ':' {
		i++
	}
	for i < len(t) && isRESpace(t[i]) {
		i++
	}
	return i
}

// appendWithoutMentions appends s to dst with every mentionRe match
// replaced by one space.
func appendWithoutMentions(dst []byte, s string) []byte {
	for {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:at]...)
		end := mentionEnd(s, at+1)
		if end == at+1 {
			dst = append(dst, '@')
		} else {
			dst = append(dst, ' ')
		}
		s = s[end:]
	}
}

// appendASCIINormal appends the normal form of the ASCII text s to dst:
// mentions removed, letters lowercased, runs of white space collapsed into
// one space, leading and trailing white space dropped.
func appendASCIINormal(dst []byte, s string) []byte {
	start := len(dst)
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIISpace(c):
			space = len(dst) > start
			continue
		case c == '@':
			if end := mentionEnd(s, i+1); end > i+1 {
				// A mention becomes a space.
				space = len(dst) > start
				i = end - 1
				continue
			}
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// removeURLs removes URLs from s and, when wantURLs is set, returns the
// ones with a scheme. URLs never contain white space, so the (large and slow)
// xurls expressions run only on the white-space separated tokens that could
// hold one: a token with "://", with a ':' followed by more text, or with a
// '.' followed by a letter or digit. This gives the same matches as running
// them over the whole text, at a fraction of the cost.
//
// Only a token with a '.' or a ':' may hold a URL, so until the first URL
// the loop jumps to the token holding the next of those bytes (skipAhead;
// the tests turn it off to compare).
func (n *Normalizer) removeURLs(s string, wantURLs bool) (string, []string) {
	return n.removeURLsSkip(s, wantURLs, true)
}

func (n *Normalizer) removeURLsSkip(s string, wantURLs, skipAhead bool) (string, []string) {
	var found []string
	out := n.buf2[:0]
	copied := false // whether out holds the text up to the current token
	for start, end := nextField(s, 0); start < len(s); start, end = nextField(s, end) {
		if skipAhead && !copied {
			k := strings.IndexAny(s[start:], ".:")
			if k < 0 {
				break
			}
			if ts := tokenStart(s, start+k); ts > start {
				start, end = nextField(s, ts)
			}
		}
		tok := s[start:end]
		if !mayHoldURL(tok) {
			if copied {
				out = append(append(out, ' '), tok...)
			}
			continue
		}
		if !copied {
			// Tokens before this one are kept as they are; the white
			// space between them is collapsed later anyway.
			out = append(out, s[:start]...)
			copied = true
		}
		out = append(out, ' ')
		if u, rest, ok := leadingHTTPURL(tok); ok {
			// The common case, a token that starts with http(s):// or
			// www., is handled without a regular expression.
			if wantURLs && !strings.EqualFold(tok[:4], "www.") {
				found = append(found, u)
			}
			out = append(out, rest...)
			continue
		}
		if wantURLs && strings.IndexByte(tok, ':') >= 0 {
			found = append(found, keyURLRe().FindAllString(tok, -1)...)
		}
		out = append(out, removeURLRe().ReplaceAllLiteralString(tok, " ")...)
	}
	n.buf2 = out
	if !copied {
		return s, found
	}
	return string(out), found
}

// nextField returns the bounds of the first run of non-space runes
// (unicode.IsSpace) in s at or after i; start is len(s) when there is none.
func nextField(s string, i int) (start, end int) {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if !isASCIISpace(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	start = i
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if isASCIISpace(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return start, i
}

// tokenStart returns the start of the run of non-space runes
// (unicode.IsSpace) that holds byte i of s, a rune boundary.
func tokenStart(s string, i int) int {
	for i > 0 {
		if c := s[i-1]; c < utf8.RuneSelf {
			if isASCIISpace(c) {
				break
			}
			i--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// leadingHTTPURL splits a token that starts with "http://", "https://" or
// "www." (any case) and is plain ASCII into the URL and the trailing punctuation
// that xurls would leave out of it: the URL ends at its last letter, digit
// or one of "/#-_~%$&+=", or at a closing parenthesis when the URL holds an
// opening one.
func leadingHTTPURL(tok string) (url, rest string, ok bool) {
	var after string
	switch {
	case len(tok) > 8 && strings.EqualFold(tok[:8], "https://"):
		after = tok[8:]
	case len(tok) > 7 && strings.EqualFold(tok[:7], "http://"):
		after = tok[7:]
	case len(tok) > 4 && strings.EqualFold(tok[:4], "www."):
		after = tok[4:]
	default:
		return "", "", false
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c >= 0x80 || c <= ' ' || c == 0x7f {
			return "", "", false
		}
	}
	if after == "" || !isURLEnd(after[0]) {
		return "", "", false
	}
	end := len(tok)
	for end > 0 {
		c := tok[end-1]
		if isURLEnd(c) || (c == ')' && strings.Count(tok[:end], "(") >= strings.Count(tok[:end], ")")) {
			break
		}
		end--
	}
	return tok[:end], tok[end:], true
}

// isURLEnd reports whether c may be the last byte of a URL.
func isURLEnd(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		strings.IndexByte("/#-_~%$&+=", c) >= 0
}

// tlds holds the top-level domains xurls.Relaxed knows, in lower case
// (made on first use).
var tlds = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(xurls.TLDs)+len(xurls.PseudoTLDs))
	for _, t := range xurls.TLDs {
		m[strings.ToLower(t)] = true
	}
	for _, t := range xurls.PseudoTLDs {
		m[strings.ToLower(t)] = true
	}
	return m
})

// mayHoldURL reports whether a token could contain something xurls.Relaxed
// matches: a "://" or a scheme such as "mailto:", two colons (IPv6), or a
// dot followed by a known top-level domain ending at a word boundary, by a
// non-ASCII character (internationalized TLDs), or by digits in a token
// with three dots (IPv4). It is a cheap filter: false means no match.
func mayHoldURL(tok string) bool {
	if colons := strings.Count(tok, ":"); colons > 0 {
		if colons >= 2 || strings.Contains(tok, "://") {
			return true
		}
		lower := strings.ToLower(tok)
		for _, scheme := range xurls.SchemesNoAuthority {
			if strings.Contains(lower, scheme+":") {
				return true
			}
		}
	}
	dots := strings.Count(tok, ".")
	for i := 0; i < len(tok)-1; i++ {
		if tok[i] != '.' {
			continue
		}
		j := i + 1
		if tok[j] >= 0x80 {
			return true
		}
		digits := true
		for j < len(tok) && isWordByte(tok[j]) {
			digits = digits && '0' <= tok[j] && tok[j] <= '9'
			j++
		}
		label := tok[i+1 : j]
		if label == "" {
			continue
		}
		if (digits && dots >= 3) || tlds()[strings.ToLower(label)] ||
			(len(tok) >= i+5 && strings.EqualFold(tok[i+1:i+5], "xn--")) {
			return true
		}
	}
	return false
}

// isWordByte reports whether c is an ASCII word character, as \b sees it.
func isWordByte(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_'
}
