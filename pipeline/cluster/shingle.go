package cluster

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Shingles returns the sorted, distinct 64-bit FNV-1a hashes of the word
// 3-grams of a normalized text (words are separated by white space, a
// 3-gram is its three words joined by one space). A text of one or two
// words is a single shingle, the empty text has none. The near_text signal
// verifies its MinHash candidates with the Jaccard similarity of these sets.
func Shingles(text string) []uint64 {
	var s shingler
	return s.shingles([]byte(text))
}

// shingler computes Shingles with buffers it reuses.
type shingler struct {
	buf  []byte // the text's words joined by one space
	ends []int  // end offset of each word in buf
}

// fnv1a64 is 64-bit FNV-1a, as hash/fnv's New64a computes it (a test
// checks), without its interface calls: it runs once per shingle.
func fnv1a64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// shingles returns the Shingles of text in a new slice.
func (s *shingler) shingles(text []byte) []uint64 {
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	space := func(i int) (bool, int) {
		if c := text[i]; c < utf8.RuneSelf {
			return c == ' ' || '\t' <= c && c <= '\r', 1 // unicode.IsSpace for ASCII
		}
		r, size := utf8.DecodeRune(text[i:])
		return unicode.IsSpace(r), size
	}
	for i := 0; i < len(text); {
		if sp, size := space(i); sp {
			i += size
			continue
		}
		j := i
		for j < len(text) {
			sp, size := space(j)
			if sp {
				break
			}
			j += size
		}
		if len(s.ends) > 0 {
			s.buf = append(s.buf, ' ')
		}
		s.buf = append(s.buf, text[i:j]...)
		s.ends = append(s.ends, len(s.buf))
		i = j
	}
	if len(s.ends) == 0 {
		return nil
	}
	if len(s.ends) < 3 {
		return []uint64{fnv1a64(s.buf)}
	}
	out := make([]uint64, 0, len(s.ends)-2)
	start := 0 // offset of word i
	for i := 0; i+3 <= len(s.ends); i++ {
		out = append(out, fnv1a64(s.buf[start:s.ends[i+2]]))
		start = s.ends[i] + 1
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Jaccard returns |a ∩ b| / |a ∪ b| of two sorted sets without duplicates;
// 0 when both are empty.
func Jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			inter++
			i++
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
