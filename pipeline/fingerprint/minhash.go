package fingerprint

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/internal/rules"
)

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

// permutationParams returns the parameters of n permutations, interleaved
// as a0, b0, a1, b1, ...: a is the next SplitMix64 output (seeded with
// MinHashSeed) with its lowest bit set, b the output after it. The first k
// of n are the same for every n >= k.
//
// Permutation j maps a shingle hash h to a_j·h + b_j modulo 2^64, a
// bijection of the 64-bit integers since a_j is odd. The shingle hashes are
// xxHash64 values, already uniform, so these cheap maps order a text's
// shingles independently enough for the signature to estimate Jaccard
// similarity (tested) at a third of the cost of a prime-field family.
func permutationParams(n int) []uint64 {
	g := splitMix64(MinHashSeed)
	ab := make([]uint64, 2*n)
	for i := range n {
		ab[2*i] = g.next() | 1
		ab[2*i+1] = g.next()
	}
	return ab
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

// shingleHashes sets m.hashes to the shingles of text
// (rules.AppendShingles with m.shingle words per shingle), repeats kept
// (they do not change a minimum).
func (m *minHasher) shingleHashes(text string) {
	m.hashes = rules.AppendShingles(m.hashes[:0], text, m.shingle)
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
	// Four permutations per pass over the hashes: independent work for the
	// CPU to overlap.
	for ; j+3 < n; j += 4 {
		a0, b0, a1, b1 := ab[2*j], ab[2*j+1], ab[2*j+2], ab[2*j+3]
		a2, b2, a3, b3 := ab[2*j+4], ab[2*j+5], ab[2*j+6], ab[2*j+7]
		lo0, lo1, lo2, lo3 := uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(math.MaxUint64)
		for _, h := range hs {
			lo0 = min(lo0, a0*h+b0)
			lo1 = min(lo1, a1*h+b1)
			lo2 = min(lo2, a2*h+b2)
			lo3 = min(lo3, a3*h+b3)
		}
		m.sig[j], m.sig[j+1], m.sig[j+2], m.sig[j+3] = lo0, lo1, lo2, lo3
	}
	for ; j < n; j++ {
		a, b := ab[2*j], ab[2*j+1]
		lo := uint64(math.MaxUint64)
		for _, h := range hs {
			lo = min(lo, a*h+b)
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

// bandKeys returns the band keys of a normalized text, sorted and without
// repeats (a key hashes its band index, so it still says which band it is).
func (m *minHasher) bandKeys(text string) []uint64 {
	m.shingleHashes(text)
	if len(m.hashes) == 0 {
		return nil
	}
	m.signature()
	keys := m.appendBandKeys(make([]uint64, 0, m.bands))
	slices.Sort(keys)
	return slices.Compact(keys)
}

// MinHashSignature returns the MinHash signature of a normalized text (see
// rules.NormalizeText) under the given number of permutations and words per
// shingle: value j is the minimum over the text's shingles s of
// (a_j*xxhash64(s) + b_j) mod 2^64. It returns nil for an empty text.
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
