package fingerprint

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
)

// ToolkitText returns a post's text as the coordination-network-toolkit
// (QUT Digital Observatory, coordination_network_toolkit/similarity.py,
// message_preprocessor) prepares it for its co_tweet network:
//
//	" ".join(social_media_cleaner.sub("", text.lower()).split())
//
// with social_media_cleaner = regex.compile(r"@.*?(?=(?:\s|$))"): Python's
// str.lower, then every "@" and what follows it up to the next white space
// character or the end of the text removed, then runs of white space
// collapsed into one space and leading and trailing white space dropped.
// URLs, HTML entities and retweet markers are kept as they are.
//
// Two notions of white space meet here. The collapse (str.split) uses
// Python's str.isspace: unicode.IsSpace plus the separators U+001C..U+001F.
// The cleaner is compiled with the third-party `regex` module, whose \s is
// unicode.IsSpace alone: U+001C..U+001F do not end a mention, so they are
// removed with it ("@m\x1cKeep x" gives "x"), while elsewhere they separate
// words ("a\x1cb" gives "a b").
func ToolkitText(text string) string {
	return string(appendToolkitText(nil, text))
}

// toolkitURLKeys returns the cnt_url_keys of a post that is not a repost, whose
// posts.urls are urls: the coordination-network-toolkit's message_url rows
// for it. Its CSV reader splits the urls field with Python's split(" ") (the
// normalize stage splits a cnt file's field the same way, empty items kept)
// and stores each (message, URL) pair once, comparing the raw strings; an
// empty field splits into one empty URL, which the normalize stage writes as
// no item, so no URL gives the key of "". The keys are xxHash64 of each URL,
// sorted, without duplicates.
func toolkitURLKeys(urls []string) []uint64 {
	if len(urls) == 0 {
		return []uint64{xxhash.Sum64String("")}
	}
	keys := make([]uint64, len(urls))
	for i, u := range urls {
		keys[i] = xxhash.Sum64String(u)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// pyIsSpace reports whether Python's str.isspace holds for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || isInfoSeparator(r)
}

// isInfoSeparator reports the separators U+001C..U+001F: white space to
// str.isspace, not to the `regex` module's \s.
func isInfoSeparator(r rune) bool {
	return 0x1c <= r && r <= 0x1f
}

// appendToolkitText appends ToolkitText(text) to dst.
func appendToolkitText(dst []byte, text string) []byte {
	space := false
	start := len(dst)
	skip := false // inside an @... run
	for i, r := range text {
		if r < utf8.RuneSelf && r != '@' && r > ' ' && !skip {
			// The common case: a visible ASCII character.
			if space {
				dst = append(dst, ' ')
				space = false
			}
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, byte(r))
			continue
		}
		if skip && isInfoSeparator(r) {
			continue // not \s to the cleaner: part of the mention
		}
		if pyIsSpace(r) {
			skip = false
			space = len(dst) > start
			continue
		}
		if r == '@' || skip {
			skip = true
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = appendPyLower(dst, text, i, r)
	}
	return dst
}

// appendPyLower appends Python's lowercase of the rune r at text[i:]: the
// simple lowercase mapping, except U+0130 (İ, to "i" + U+0307) and the
// capital sigma, which becomes the final sigma ς at the end of a word
// (Unicode's Final_Sigma condition, as CPython's handle_capital_sigma).
func appendPyLower(dst []byte, text string, i int, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	case r == 0x130:
		return append(dst, "i\u0307"...)
	case r == 0x3a3:
		if finalSigma(text, i) {
			return utf8.AppendRune(dst, 0x3c2)
		}
		return utf8.AppendRune(dst, 0x3c3)
	}
	return utf8.AppendRune(dst, unicode.ToLower(r))
}

// finalSigma reports whether the capital sigma at text[i:] is in the
// Final_Sigma context: a cased letter before it (skipping case-ignorable
// characters) and none after it (same skipping).
func finalSigma(text string, i int) bool {
	before := strings.TrimRightFunc(text[:i], isCaseIgnorable)
	r, _ := utf8.DecodeLastRuneInString(before)
	if before == "" || !isCased(r) {
		return false
	}
	after := strings.TrimLeftFunc(text[i+len("Σ"):], isCaseIgnorable)
	r, _ = utf8.DecodeRuneInString(after)
	return after == "" || !isCased(r)
}

// isCased reports Unicode's Cased property: Lowercase, Uppercase or
// titlecase letters.
func isCased(r rune) bool {
	return unicode.IsLower(r) || unicode.IsUpper(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// isCaseIgnorable reports Unicode's Case_Ignorable property: categories Mn,
// Me, Cf, Lm, Sk and the Word_Break classes MidLetter, MidNumLet and
// Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
