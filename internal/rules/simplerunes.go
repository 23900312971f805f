package rules

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Simple runes: the non-ASCII runes whose normalization is a table lookup.
//
// A rune is simple when NFKC leaves it alone and it cannot combine with a
// rune before it (norm.Properties.BoundaryBefore: canonical combining class
// 0 and NFKC_QC not Maybe), and its full case folding is one rune of the
// same kind. A string of simple runes is therefore NFKC already (the
// Unicode quick check says Yes for it), and NFKC(fold(s)) is the rune by
// rune fold. Text uses this to skip both NFKC passes and the case folder
// for the texts made only of such runes: Latin with diacritics, Greek,
// Cyrillic, Arabic letters, CJK ideographs, most emoji. Any other rune
// sends the text down the general path, so the bytes are the same either
// way (tests compare every rune of the table and random texts with the
// general path).

// simpleSpace and simpleCf flag a table entry whose folded rune is white
// space (unicode.IsSpace) or a format character (Cf), which Text drops.
const (
	simpleRune  = 1 << 31 // the entry is simple
	simpleSpace = 1 << 30
	simpleCf    = 1 << 29
	simpleMask  = 1<<21 - 1 // the folded rune
)

// simpleRanges are the blocks the tables cover: everything below U+A000
// (alphabets, punctuation, symbols, CJK ideographs), the variation
// selectors, and the emoji planes' pictographs.
var simpleRanges = [...]struct{ lo, hi rune }{
	{0, 0xA000},
	{0xFE00, 0xFE10},
	{0x1F000, 0x1FB00},
}

// simpleTables holds one table per range of simpleRanges: entry r-lo is 0
// for a rune that is not simple, else simpleRune, the flags and the folded
// rune.
var simpleTables = sync.OnceValue(func() [len(simpleRanges)][]uint32 {
	var t [len(simpleRanges)][]uint32
	fold := cases.Fold()
	for i, g := range simpleRanges {
		t[i] = make([]uint32, g.hi-g.lo)
		for r := g.lo; r < g.hi; r++ {
			t[i][r-g.lo] = simpleEntry(fold, r)
		}
	}
	return t
})

// nfkcStable reports whether NFKC leaves r alone and r cannot combine with
// a rune before it.
func nfkcStable(r rune) bool {
	s := string(r)
	return norm.NFKC.PropertiesString(s).BoundaryBefore() && norm.NFKC.String(s) == s
}

// simpleEntry computes the table entry of r.
func simpleEntry(fold cases.Caser, r rune) uint32 {
	if !utf8.ValidRune(r) || !nfkcStable(r) {
		return 0
	}
	f := fold.String(string(r))
	fr, size := utf8.DecodeRuneInString(f)
	if size != len(f) || fr == utf8.RuneError || !nfkcStable(fr) {
		return 0
	}
	e := uint32(simpleRune) | uint32(fr)
	switch {
	case unicode.IsSpace(fr):
		e |= simpleSpace
	case unicode.Is(unicode.Cf, fr):
		e |= simpleCf
	}
	return e
}

// simpleLookup returns the table entry of r, 0 outside the tables.
func simpleLookup(t *[len(simpleRanges)][]uint32, r rune) uint32 {
	for i, g := range simpleRanges {
		if r < g.hi {
			if r < g.lo {
				return 0
			}
			return t[i][r-g.lo]
		}
	}
	return 0
}

// allSimple reports whether s is valid UTF-8 made only of simple runes.
func allSimple(s string) bool {
	t := simpleTables()
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if size == 1 || simpleLookup(&t, r) == 0 {
			return false
		}
		i += size
	}
	return true
}

// appendSimpleFold appends to dst what the general path of Text makes of s
// once URLs and mentions are out (case folding, NFKC, format characters
// dropped, white space collapsed), when s is made only of simple runes; ok
// is false, and dst's added bytes garbage, when it is not.
func appendSimpleFold(dst []byte, s string) (out []byte, ok bool) {
	t := simpleTables()
	start := len(dst)
	space := false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			if size == 1 {
				return dst, false
			}
		}
		i += size
		e := simpleLookup(&t, r)
		switch {
		case e == 0:
			return dst, false
		case e&simpleSpace != 0:
			space = len(dst) > start
		case e&simpleCf != 0:
		default:
			if space {
				dst = append(dst, ' ')
				space = false
			}
			dst = utf8.AppendRune(dst, rune(e&simpleMask))
		}
	}
	return dst, true
}
