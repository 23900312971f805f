package fingerprint

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// mersenne61 is the prime 2^61-1 modulo which the MinHash permutations work.
const mersenne61 = 1<<61 - 1

// MinHashSeed seeds the SplitMix64 generator that draws the permutation
// parameters a and b. It is fixed forever: another seed gives other band
// keys. Its bytes are the ASCII of "takedown".
const MinHashSeed = 0x74616b65646f776e

// splitMix64 is the SplitMix64 generator (Steele, Lea and Flood 2014), fully
// specified here so that the permutations never depend on a library.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below61 draws a uniform integer in [lo, 2^61-1) by rejection: the top 61
// bits of the next output, redrawn while outside the range.
func (s *splitMix64) below61(lo uint64) uint64 {
	for {
		if x := s.next() >> 3; x >= lo && x < mersenne61 {
			return x
		}
	}
}

// permutationParams returns the parameters of n permutations, interleaved
// as a0, b0, a1, b1, ...: a in [1, 2^61-1), b in [0, 2^61-1), drawn in that
// order from SplitMix64 seeded with MinHashSeed. The first k of n are the
// same for every n >= k.
func permutationParams(n int) []uint64 {
	g := splitMix64(MinHashSeed)
	ab := make([]uint64, 2*n)
	for i := 0; i < n; i++ {
		ab[2*i] = g.below61(1)
		ab[2*i+1] = g.below61(0)
	}
	return ab
}

// permute returns (a*h + b) mod (2^61-1) for a, b, h < 2^61-1, exactly
// (128-bit product, no overflow). Callers reduce a 64-bit hash modulo
// 2^61-1 first (reduce61), which does not change the result.
func permute(a, b, h uint64) uint64 {
	hi, lo := bits.Mul64(a, h) // a*h < 2^122: hi < 2^58
	// x = hi*2^64 + lo; with 2^61 = 1 (mod 2^61-1), x = (x >> 61) + (x & (2^61-1)).
	r := (hi<<3 | lo>>61) + (lo & mersenne61) + b // < 3*2^61
	r = (r & mersenne61) + (r >> 61)              // <= 2^61
	// Subtract the prime once when r >= it, branch-free: when r < 2^61-1,
	// r-(2^61-1) wraps around and is the larger.
	return min(r, r-mersenne61)
}

// reduce61 returns h mod (2^61-1).
func reduce61(h uint64) uint64 {
	r := (h & mersenne61) + (h >> 61)
	return min(r, r-mersenne61)
}

// minHasher computes MinHash signatures and LSH band keys; it holds
// per-goroutine buffers.
type minHasher struct {
	ab      []uint64 // permutation parameters, interleaved
	rows    int      // signature values per band
	bands   int
	shingle int // words per shingle
	hashes  []uint64
	sig     []uint64
	key     []byte
}

// newMinHasher returns a minHasher for the given parameters; it computes
// only the bands*rows permutations the band keys use, rows being
// permutations/bands.
func newMinHasher(permutations, bands, shingle int) *minHasher {
	rows := permutations / bands
	return &minHasher{ab: permutationParams(bands * rows), rows: rows, bands: bands, shingle: shingle}
}

// shingleHashes sets m.hashes to the xxHash64 of every shingle of text: the
// word n-grams (n = m.shingle) of the normalized text, each the substring
// from its first word to its last, words separated by one space as in the
// normalized text. A text with fewer than n words is one shingle, the whole
// text. Repeated shingles are kept (they do not change a minimum). The
// hashes are stored modulo 2^61-1, which leaves every permutation's value
// unchanged.
func (m *minHasher) shingleHashes(text string) {
	m.hashes = m.hashes[:0]
	// starts[i % n] is the offset of the i-th word; a ring of n offsets.
	var ring [maxShingleSize]int
	n := m.shingle
	words := 0
	start := 0
	for start <= len(text) {
		end := strings.IndexByte(text[start:], ' ')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		if end > start { // normalized text has no empty words; be safe
			ring[words%n] = start
			words++
			if words >= n {
				m.hashes = append(m.hashes, reduce61(xxhash.Sum64String(text[ring[(words-n)%n]:end])))
			}
		}
		start = end + 1
	}
	if words > 0 && words < n {
		m.hashes = append(m.hashes, reduce61(xxhash.Sum64String(text)))
	}
}

// signature sets m.sig to the MinHash signature of m.hashes over the
// permutations in m.ab.
func (m *minHasher) signature() {
	n := len(m.ab) / 2
	if cap(m.sig) < n {
		m.sig = make([]uint64, n)
	}
	m.sig = m.sig[:n]
	hs := m.hashes
	ab := m.ab
	j := 0
	// Two permutations per pass over the hashes: independent work for the
	// CPU to overlap.
	for ; j+1 < n; j += 2 {
		a0, b0, a1, b1 := ab[2*j], ab[2*j+1], ab[2*j+2], ab[2*j+3]
		lo0, lo1 := uint64(math.MaxUint64), uint64(math.MaxUint64)
		for _, h := range hs {
			lo0 = min(lo0, permute(a0, b0, h))
			lo1 = min(lo1, permute(a1, b1, h))
		}
		m.sig[j], m.sig[j+1] = lo0, lo1
	}
	for ; j < n; j++ {
		a, b := ab[2*j], ab[2*j+1]
		lo := uint64(math.MaxUint64)
		for _, h := range hs {
			lo = min(lo, permute(a, b, h))
		}
		m.sig[j] = lo
	}
}

// appendBandKeys appends the band keys of m.sig to dst: band k's key is the
// xxHash64 of k and the band's rows signature values m.sig[k*rows :
// (k+1)*rows], each as 8 little-endian bytes.
func (m *minHasher) appendBandKeys(dst []uint64) []uint64 {
	for k := range m.bands {
		buf := binary.LittleEndian.AppendUint64(m.key[:0], uint64(k))
		for _, v := range m.sig[k*m.rows : (k+1)*m.rows] {
			buf = binary.LittleEndian.AppendUint64(buf, v)
		}
		m.key = buf
		dst = append(dst, xxhash.Sum64(buf))
	}
	return dst
}

// bandKeys returns the band keys of a normalized text.
func (m *minHasher) bandKeys(text string) []uint64 {
	m.shingleHashes(text)
	if len(m.hashes) == 0 {
		return nil
	}
	m.signature()
	return m.appendBandKeys(make([]uint64, 0, m.bands))
}

// MinHashSignature returns the MinHash signature of a normalized text (see
// NormalizeText) under the given number of permutations and words per
// shingle: value j is the minimum over the text's shingles s of
// (a_j*xxhash64(s) + b_j) mod (2^61-1). It returns nil for an empty text.
func MinHashSignature(text string, permutations, shingleSize int) []uint64 {
	m := &minHasher{ab: permutationParams(permutations), rows: 1, bands: permutations, shingle: shingleSize}
	m.shingleHashes(text)
	if len(m.hashes) == 0 {
		return nil
	}
	m.signature()
	return m.sig
}

// MinHashBandKeys returns the LSH band keys of a signature: bands keys, each
// over rows = len(sig)/bands consecutive values (values beyond bands*rows
// are not used).
func MinHashBandKeys(sig []uint64, bands int) []uint64 {
	m := &minHasher{rows: len(sig) / bands, bands: bands, sig: sig}
	return m.appendBandKeys(nil)
}

// BandThreshold returns (1/bands)^(1/rows), the Jaccard similarity at which
// two texts share at least one band with probability about one half (the
// steepest point of the S-curve 1-(1-s^rows)^bands).
func BandThreshold(bands, rows int) float64 {
	return math.Pow(1/float64(bands), 1/float64(rows))
}
