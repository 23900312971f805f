package imagehash

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// PDQ follows the published algorithm (Meta's "PDQ" perceptual hash, the
// ThreatExchange pdq/ reference implementations) step by step, in float32
// arithmetic in the reference's order of operations, so that the same
// 8-bit RGB pixels give the same 256 bits and the same quality as the C++
// reference. Every product that is added to something is wrapped in an
// explicit float32 conversion: the Go spec lets a compiler fuse x*y+z into
// one FMA instruction (it does on arm64), and an explicit conversion is
// what forbids it. docs/imagehash.md describes the steps.

// PDQHash is a 256-bit PDQ hash. Byte order is that of the reference's
// hexadecimal form: String gives the same 64 hex digits as the C++, Java
// and Python reference tools. DCT coefficient (i, j) of the 16x16 block,
// bit k = 16*i + j, is bit k%8 of byte 31 - k/8.
type PDQHash [32]byte

// PDQMatchDistance is the reference's recommended match threshold: two PDQ
// hashes at Hamming distance <= 31 (of 256 bits) are the same picture.
const PDQMatchDistance = 31

// PDQMinQuality is the quality below which the reference recommends
// discarding a hash (it recommends discarding quality <= 49): such images
// are nearly featureless (flat colour, faint gradients, mostly text on a
// blank background) and their hashes match many unrelated images.
const PDQMinQuality = 50

// String returns the 64 lowercase hex digits of h, as the reference prints them.
func (h PDQHash) String() string { return hex.EncodeToString(h[:]) }

// ParsePDQ parses 64 hex digits (either case) into a PDQ hash.
func ParsePDQ(s string) (PDQHash, error) {
	var h PDQHash
	if len(s) != 64 {
		return h, fmt.Errorf("PDQ hash %q: want 64 hex digits, got %d characters", s, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("PDQ hash %q: %v", s, err)
	}
	return h, nil
}

// bit reports whether DCT coefficient k = 16*i + j is above the median.
func (h PDQHash) bit(k int) bool { return h[31-k/8]>>(k%8)&1 == 1 }

func (h *PDQHash) setBit(k int) { h[31-k/8] |= 1 << (k % 8) }

// Words returns h as four 64-bit words (bytes 0-7 big-endian in word 0,
// and so on), the form the matching helpers work on.
func (h PDQHash) Words() [4]uint64 {
	var w [4]uint64
	for i := range w {
		for b := 0; b < 8; b++ {
			w[i] = w[i]<<8 | uint64(h[8*i+b])
		}
	}
	return w
}

// PDQDistance is the Hamming distance between two PDQ hashes (0-256).
func PDQDistance(a, b PDQHash) int {
	wa, wb := a.Words(), b.Words()
	return wordsDistance(&wa, &wb)
}

func wordsDistance(a, b *[4]uint64) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) +
		bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// The reference's RGB-to-luminance weights (ITU-R BT.601 luma), as float32.
const (
	lumaR float32 = 0.299
	lumaG float32 = 0.587
	lumaB float32 = 0.114
)

// lumaTables hold lumaX * v rounded to float32 for every 8-bit v, so that
// luma = (R[r] + G[g]) + B[b] is the reference's float expression exactly.
var lumaTables = func() (t [3][256]float32) {
	for v := 0; v < 256; v++ {
		t[0][v] = lumaR * float32(v)
		t[1][v] = lumaG * float32(v)
		t[2][v] = lumaB * float32(v)
	}
	return t
}()

// Luma returns the reference's float32 luminance of an 8-bit RGB pixel.
func Luma(r, g, b uint8) float32 {
	return float32(lumaTables[0][r]+lumaTables[1][g]) + lumaTables[2][b]
}

// pdqMinDim is the reference's smallest hashable side: smaller images hash
// to all zeros with quality 0.
const pdqMinDim = 5

// dctMatrix is the 16x64 matrix of DCT-II basis rows 1..16 (row 0, the DC
// term, is skipped), scaled by sqrt(2/64), as the reference builds it: the
// float32 scale times a float64 cosine, rounded to float32.
var dctMatrix = func() (d [16 * 64]float32) {
	scale := float32(math.Sqrt(2.0 / 64.0))
	for i := 0; i < 16; i++ {
		for j := 0; j < 64; j++ {
			d[i*64+j] = float32(float64(scale) * math.Cos((math.Pi/2.0/64.0)*float64(i+1)*float64(2*j+1)))
		}
	}
	return d
}()

// pdqState holds the 64x64 downsample and its 16x16 DCT block.
type pdqState struct {
	buf64 [64 * 64]float32
	dct   [16 * 16]float32
}

// PDQFromLuma hashes a width x height luminance image given row-major in
// luma (len(luma) == width*height), as the reference's
// pdqHash256FromFloatLuma does. luma is used as scratch space and is
// overwritten. Images with a side under 5 pixels give the zero hash and
// quality 0.
func PDQFromLuma(luma []float32, width, height int) (PDQHash, int) {
	var st pdqState
	q, ok := st.run(luma, width, height)
	if !ok {
		return PDQHash{}, 0
	}
	return thresholdBits(&st.dct), q
}

// PDQDihedral returns the hashes of the eight dihedral transforms of the
// image (in the reference's order: original, rotate 90, rotate 180, rotate
// 270, flip x, flip y, flip about the main diagonal, flip about the
// anti-diagonal) and the quality, computed from one DCT by sign changes and
// transposition as the reference does. luma is overwritten.
func PDQDihedral(luma []float32, width, height int) ([8]PDQHash, int) {
	var out [8]PDQHash
	var st pdqState
	q, ok := st.run(luma, width, height)
	if !ok {
		return out, 0
	}
	var aux [16 * 16]float32
	for t := range out {
		for i := 0; i < 16; i++ {
			for j := 0; j < 16; j++ {
				v := st.dct[i*16+j]
				switch t {
				case 0:
					aux[i*16+j] = v
				case 1: // rotate 90
					aux[j*16+i] = flipIf(j&1 == 0, v)
				case 2: // rotate 180
					aux[i*16+j] = flipIf((i+j)&1 == 1, v)
				case 3: // rotate 270
					aux[j*16+i] = flipIf(i&1 == 0, v)
				case 4: // flip x
					aux[i*16+j] = flipIf(i&1 == 0, v)
				case 5: // flip y
					aux[i*16+j] = flipIf(j&1 == 0, v)
				case 6: // flip about the main diagonal
					aux[j*16+i] = v
				case 7: // flip about the anti-diagonal
					aux[j*16+i] = flipIf((i+j)&1 == 1, v)
				}
			}
		}
		out[t] = thresholdBits(&aux)
	}
	return out, q
}

func flipIf(c bool, v float32) float32 {
	if c {
		return -v
	}
	return v
}

// run downsamples luma to 64x64 (two passes of Jarosz box filters along
// rows then columns, then decimation at the 64x64 grid's centres), computes
// the quality metric on that 64x64 image, and its 16x16 DCT block.
func (st *pdqState) run(luma []float32, width, height int) (int, bool) {
	if width < pdqMinDim || height < pdqMinDim || len(luma) != width*height {
		return 0, false
	}
	if width == 64 && height == 64 {
		copy(st.buf64[:], luma)
	} else {
		jarosz(luma, width, height, &st.buf64)
	}
	q := qualityMetric(&st.buf64)
	dct64To16(&st.buf64, &st.dct)
	return q, true
}

// jarosz is the reference's downsample of a width x height image to 64x64:
// two passes of box filters along rows then columns, then the value at
// each of the 64x64 grid's centres. The second pass only computes what
// the grid reads: its row filter keeps the running sums of every row but
// divides only at the 64 sampled columns, and its column filter runs only
// down those columns. Every value read is the one the full computation
// gives, by the same float32 operations in the same order.
func jarosz(luma []float32, width, height int, out *[64 * 64]float32) {
	tmp := make([]float32, max(width, 64)*height)
	wRows := jaroszWindow(width, 64)  // along each row
	wCols := jaroszWindow(height, 64) // along each column
	for r := 0; r < height; r++ {
		box1D(luma[r*width:(r+1)*width], tmp[r*width:(r+1)*width], wRows)
	}
	boxColumns(tmp, luma, width, height, wCols)
	var cols, rows [64]int
	for o := range 64 {
		cols[o] = int((float64(o) + 0.5) * float64(width) / 64)
		rows[o] = int((float64(o) + 0.5) * float64(height) / 64)
	}
	sums := tmp[:width]
	sampled := make([]float32, 64*height) // pass two's rows, at the sampled columns
	for r := 0; r < height; r++ {
		boxSums(luma[r*width:(r+1)*width], sums, wRows)
		o := sampled[r*64 : (r+1)*64]
		for j, c := range cols {
			o[j] = sums[c] / float32(boxCount(width, wRows, c))
		}
	}
	filtered := tmp[:64*height]
	boxColumns(sampled, filtered, 64, height, wCols)
	for i, r := range rows {
		copy(out[i*64:(i+1)*64], filtered[r*64:(r+1)*64])
	}
}

// boxSums writes box1D's running sum at each output position (before its
// division by the number of inputs under the window, boxCount).
func boxSums(in, sums []float32, w int) {
	n := len(in)
	half := (w + 2) / 2
	var sum float32
	ri, li, oi := 0, 0, 0
	for i := 0; i < half-1; i++ {
		sum += in[ri]
		ri++
	}
	for i := 0; i < w-half+1; i++ {
		sum += in[ri]
		sums[oi] = sum
		ri++
		oi++
	}
	for i := 0; i < n-w; i++ {
		sum += in[ri]
		sum -= in[li]
		sums[oi] = sum
		li++
		ri++
		oi++
	}
	for i := 0; i < half-1; i++ {
		sum -= in[li]
		sums[oi] = sum
		li++
		oi++
	}
}

// boxCount is the number of inputs under box1D's window at output i of a
// vector of n: the window covers [i+half-w, i+half) clipped to [0, n).
func boxCount(n, w, i int) int {
	half := (w + 2) / 2
	return min(i+half, n) - max(0, i+half-w)
}

// jaroszWindow is the reference's per-pass box width: half of
// old/new, rounded up (two passes then cover one output cell).
func jaroszWindow(oldDim, newDim int) int {
	return (oldDim + 2*newDim - 1) / (2 * newDim)
}

// box1D is the reference's box filter of width w along one vector: a
// running sum over the window centred (for even w, right of centre by
// one) on each output, divided by the number of inputs under the window,
// which shrinks at both ends.
func box1D(in, out []float32, w int) {
	n := len(in)
	half := (w + 2) / 2
	var sum float32
	cur := 0
	ri, li, oi := 0, 0, 0
	for i := 0; i < half-1; i++ {
		sum += in[ri]
		cur++
		ri++
	}
	for i := 0; i < w-half+1; i++ {
		sum += in[ri]
		cur++
		out[oi] = sum / float32(cur)
		ri++
		oi++
	}
	for i := 0; i < n-w; i++ {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / float32(cur)
		li++
		ri++
		oi++
	}
	for i := 0; i < half-1; i++ {
		sum -= in[li]
		cur--
		out[oi] = sum / float32(cur)
		li++
		oi++
	}
}

// boxColumns applies box1D down every column of the row-major in, writing
// out. It sweeps rows with one running sum per column, so that memory is
// read in order; each column sees exactly box1D's sequence of operations.
func boxColumns(in, out []float32, width, height, w int) {
	half := (w + 2) / 2
	sums := make([]float32, width)
	row := func(k int) []float32 { return in[k*width : (k+1)*width] }
	orow := func(k int) []float32 { return out[k*width : (k+1)*width] }
	cur := 0
	ri, li, oi := 0, 0, 0
	for i := 0; i < half-1; i++ {
		r := row(ri)
		for c := range sums {
			sums[c] += r[c]
		}
		cur++
		ri++
	}
	for i := 0; i < w-half+1; i++ {
		r, o := row(ri), orow(oi)
		cur++
		fc := float32(cur)
		for c := range sums {
			sums[c] += r[c]
			o[c] = sums[c] / fc
		}
		ri++
		oi++
	}
	fc := float32(cur)
	for i := 0; i < height-w; i++ {
		r, l, o := row(ri), row(li), orow(oi)
		for c := range sums {
			s := sums[c] + r[c]
			s -= l[c]
			sums[c] = s
			o[c] = s / fc
		}
		li++
		ri++
		oi++
	}
	for i := 0; i < half-1; i++ {
		l, o := row(li), orow(oi)
		cur--
		fc := float32(cur)
		for c := range sums {
			sums[c] -= l[c]
			o[c] = sums[c] / fc
		}
		li++
		oi++
	}
}

// qualityMetric is the reference's heuristic: the sum over vertical and
// horizontal neighbour pairs of the 64x64 image of |trunc((u-v)*100/255)|,
// divided by 90 (integer division) and capped at 100.
func qualityMetric(b *[64 * 64]float32) int {
	sum := 0
	grad := func(u, v float32) int {
		d := float32(float32(u-v)*100) / 255
		id := int(d)
		if id < 0 {
			return -id
		}
		return id
	}
	for i := 0; i < 63; i++ {
		for j := 0; j < 64; j++ {
			sum += grad(b[i*64+j], b[(i+1)*64+j])
		}
	}
	for i := 0; i < 64; i++ {
		for j := 0; j < 63; j++ {
			sum += grad(b[i*64+j], b[i*64+j+1])
		}
	}
	return min(sum/90, 100)
}

// dct64To16 computes B = D A D^T for the 16x64 matrix D: the DCT
// coefficients (1..16) x (1..16) of the 64x64 image A, with the
// reference's summation order (k = 0..63, one float32 rounding per product
// and per addition).
func dct64To16(a *[64 * 64]float32, b *[16 * 16]float32) {
	var t [16 * 64]float32
	for i := 0; i < 16; i++ {
		d := dctMatrix[i*64 : (i+1)*64]
		for j := 0; j < 64; j++ {
			var s float32
			for k := 0; k < 64; k++ {
				s += float32(d[k] * a[k*64+j])
			}
			t[i*64+j] = s
		}
	}
	for i := 0; i < 16; i++ {
		ti := t[i*64 : (i+1)*64]
		for j := 0; j < 16; j++ {
			d := dctMatrix[j*64 : (j+1)*64]
			var s float32
			for k := 0; k < 64; k++ {
				s += float32(ti[k] * d[k])
			}
			b[i*16+j] = s
		}
	}
}

// thresholdBits sets bit k for every coefficient strictly greater than the
// median. The reference's median (Torben's selection on 256 values) is the
// 128th smallest value, which is what a sort gives at index 127.
func thresholdBits(dct *[16 * 16]float32) PDQHash {
	sorted := *dct
	slices.Sort(sorted[:])
	median := sorted[127]
	var h PDQHash
	for k, v := range dct {
		if v > median {
			h.setBit(k)
		}
	}
	return h
}
