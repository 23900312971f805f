package rules

import (
	"bytes"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// MaxShingleSize is the largest number of words per shingle AppendShingles
// accepts.
const MaxShingleSize = 16

// AppendShingles appends to dst the xxHash64 of every word size-gram of a
// normalized text (NormalizeText) and returns the extended slice. The words
// are the non-empty runs of text between spaces (' '; a normalized text
// separates its words with exactly one space and holds no other white
// space); a shingle is the substring from its first word to its last, so
// its words are joined by one space. A text of fewer than size words is one
// shingle, the whole text; the empty text has none. Shingles come in text
// order, repeats kept: the MinHash signature (fingerprint stage) takes
// minima over them, the near_text verification (cluster stage) sorts them
// into a set. size must be in [1, MaxShingleSize].
//
// text is a string or the bytes of one (as a column reader hands them out,
// so that they need no copy). It allocates nothing when dst has room.
func AppendShingles[T string | []byte](dst []uint64, text T, size int) []uint64 {
	if size < 1 || size > MaxShingleSize {
		panic("rules.AppendShingles: shingle size out of range")
	}
	// ring[i % size] is the offset of the i-th word.
	var ring [MaxShingleSize]int
	words := 0
	first := -1 // offset of the first word
	last := 0   // end of the last word
	for start := 0; start <= len(text); {
		end := indexSpace(text[start:])
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		if end > start {
			if first < 0 {
				first = start
			}
			last = end
			ring[words%size] = start
			words++
			if words >= size {
				dst = append(dst, sum64(text[ring[(words-size)%size]:end]))
			}
		}
		start = end + 1
	}
	if words > 0 && words < size {
		dst = append(dst, sum64(text[first:last]))
	}
	return dst
}

// indexSpace returns the index of the first ' ' in text, -1 if none.
func indexSpace[T string | []byte](text T) int {
	switch t := any(text).(type) {
	case string:
		return strings.IndexByte(t, ' ')
	case []byte:
		return bytes.IndexByte(t, ' ')
	}
	panic("unreachable")
}

// sum64 returns the xxHash64 of text.
func sum64[T string | []byte](text T) uint64 {
	switch t := any(text).(type) {
	case string:
		return xxhash.Sum64String(t)
	case []byte:
		return xxhash.Sum64(t)
	}
	panic("unreachable")
}
