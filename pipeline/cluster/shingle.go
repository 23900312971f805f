package cluster

import (
	"hash/fnv"
	"slices"
	"strings"
)

// Shingles returns the sorted, distinct 64-bit FNV-1a hashes of the word
// 3-grams of a normalized text (words are separated by white space, a
// 3-gram is its three words joined by one space). A text of one or two
// words is a single shingle, the empty text has none. The near_text signal
// verifies its MinHash candidates with the Jaccard similarity of these sets.
func Shingles(text string) []uint64 {
	words := strings.Fields(text)
	if len(words) == 0 {
		return nil
	}
	h := fnv.New64a()
	hash := func(ws []string) uint64 {
		h.Reset()
		h.Write([]byte(strings.Join(ws, " ")))
		return h.Sum64()
	}
	if len(words) < 3 {
		return []uint64{hash(words)}
	}
	out := make([]uint64, 0, len(words)-2)
	for i := 0; i+3 <= len(words); i++ {
		out = append(out, hash(words[i:i+3]))
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
