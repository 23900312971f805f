package imagehash

import (
	"fmt"
	"image"
	"math"
)

// Route is how an image is decoded for hashing.
type Route int

const (
	// Exact decodes every pixel (image/jpeg, image/png, ...) and hashes the
	// full-resolution image: PDQ is the reference's, bit for bit.
	Exact Route = iota
	// Fast reads a JPEG's 8x8 block means from its DC coefficients (no
	// inverse DCT, no full-size image) when the JPEG is large enough (both
	// sides at least FastMinSide) and of a kind the DC reader takes
	// (Huffman-coded 8-bit baseline, extended or progressive, grey or
	// YCbCr); PDQ's filter is completed on the 1/8-scale image (see
	// pdqFromBlocks) and dHash is taken of it. Every other image takes the
	// exact route. The hashes are close to the exact ones, not equal
	// (docs/stages/fingerprint.md gives the drift).
	Fast
)

// FastMinSide is the smallest width and height the fast route takes: at
// 512 pixels the 1/8-scale image is 64 blocks, PDQ's own grid.
const FastMinSide = 512

var routeNames = [...]string{Exact: "exact", Fast: "fast"}

func (r Route) String() string {
	if r >= 0 && int(r) < len(routeNames) {
		return routeNames[r]
	}
	return fmt.Sprintf("Route(%d)", int(r))
}

// ParseRoute parses "exact" or "fast".
func ParseRoute(s string) (Route, error) {
	for r, n := range routeNames {
		if n == s {
			return Route(r), nil
		}
	}
	return 0, fmt.Errorf("image decode route %q: want exact or fast", s)
}

// hashFast hashes a JPEG by its DC coefficients. ok is false when the
// file is not for the fast route (too small, or a kind the DC reader does
// not take, or data it cannot read): the caller then takes the exact
// route, whose decoder gives any refusal its reason.
func hashFast(data []byte, cfg image.Config) (Hashes, bool) {
	if cfg.Width < FastMinSide || cfg.Height < FastMinSide {
		return Hashes{}, false
	}
	d, err := decodeDC(data)
	if err != nil || d.width != cfg.Width || d.height != cfg.Height {
		return Hashes{}, false
	}
	small := d.blockImage()
	luma, bw, bh := LumaOf(small)
	h := Hashes{Format: "jpeg", Width: d.width, Height: d.height, Fast: true}
	h.PDQ, h.Quality = pdqFromBlocks(luma, bw, bh, d.width, d.height)
	dh, err := DHash(small)
	if err != nil {
		return Hashes{}, false
	}
	h.DHash = dh
	return h, true
}

// blockImage is the image at 1/4 scale: one pixel per 4x4 quarter of
// an 8x8 luma block that holds image pixels (ceil(width/4) x
// ceil(height/4)), each the quarter's mean rounded and clamped to 8 bits,
// with the chroma of the chroma quarter covering it.
func (d *dcImage) blockImage() *image.YCbCr {
	w, h := (d.width+cell-1)/cell, (d.height+cell-1)/cell
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 128, 128
	}
	planes := [3][]uint8{m.Y, m.Cb, m.Cr}
	xq := make([]int, w) // per output column, the offset of its quarter in a block row
	for ci := range d.ncomp {
		c := &d.comp[ci]
		p := planes[ci]
		for px := range xq {
			qx := px * c.h / d.hmax
			xq[px] = 4*(qx/2) + qx%2
		}
		for py := range h {
			qy := py * c.v / d.vmax
			row := c.quad[4*(qy/2)*c.bw+2*(qy%2):]
			out := p[py*w : (py+1)*w]
			for px, o := range xq {
				out[px] = quarterMean(row[o])
			}
		}
	}
	return m
}

// cell is the side of the pixel square one fast-route pixel stands for.
const cell = 4

// quarterMean is the 8-bit sample value of a quarter mean in units of
// 2^-quarterBits before the level shift: rounded, shifted by 128, clamped.
func quarterMean(v int32) uint8 {
	r := (v+1<<(quarterBits-1))>>quarterBits + 128
	return uint8(min(max(r, 0), 255))
}

// pdqFromBlocks is PDQ's hash of a width x height image given by the
// means of its cell x cell squares (luma, bw x bh). The exact route
// filters the full image with two passes of a box of the Jarosz window w
// (variance (w*w-1)/6 per axis) and reads it at the 64x64 grid; a cell
// mean is already a box of 4 (variance 15/12), so this averages the cell
// means over a further box of width sqrt(2*w*w-17) centred where the
// exact route reads (or, when the cell alone is wider than the exact
// filter, takes the cell under that point). The 64x64 result then gets the reference's
// quality, DCT and median threshold.
func pdqFromBlocks(luma []float32, bw, bh, width, height int) (PDQHash, int) {
	var st pdqState
	cols := blockWeights(width, bw)
	rows := blockWeights(height, bh)
	tmp := make([]float32, bh*64)
	for r := range bh {
		in := luma[r*bw : (r+1)*bw]
		out := tmp[r*64 : (r+1)*64]
		for j, ws := range cols {
			var s float32
			for _, w := range ws {
				s += float32(w.w * in[w.k])
			}
			out[j] = s
		}
	}
	for i, ws := range rows {
		out := st.buf64[i*64 : (i+1)*64]
		for j := range out {
			var s float32
			for _, w := range ws {
				s += float32(w.w * tmp[w.k*64+j])
			}
			out[j] = s
		}
	}
	q := qualityMetric(&st.buf64)
	dct64To16(&st.buf64, &st.dct)
	return thresholdBits(&st.dct), q
}

type blockWeight struct {
	k int
	w float32
}

// blockWeights gives, for each of the 64 grid positions along an axis of
// n pixels held as nb cells, the cells and weights that average the
// block means over the rest of the exact route's filter (pdqFromBlocks).
func blockWeights(n, nb int) [64][]blockWeight {
	var out [64][]blockWeight
	w := jaroszWindow(n, 64)
	half := (w + 2) / 2
	// Each box1D pass averages [i+half-w, i+half): its centre is off pixel
	// i's centre by half - w/2 - 1/2 (a half pixel for even w).
	// Two passes: 2*half - w - 1 pixels. (The float arithmetic below has
	// no product added to anything, so that no compiler fuses one.)
	shift := 2*half - w - 1
	hw := float64(math.Sqrt(float64(max(0, 2*w*w-cell*cell-1))) / 2)
	fn := float64(n)
	for o := range out {
		i := int((float64(o) + 0.5) * fn / 64)
		c := clampF(float64(2*i+1+2*shift)/2, 0, fn)
		lo, hi := clampF(c-hw, 0, fn), clampF(c+hw, 0, fn)
		if hi-lo < 1e-9 {
			k := min(int(c)/cell, nb-1)
			out[o] = []blockWeight{{k, 1}}
			continue
		}
		for k := int(lo) / cell; k < nb && float64(cell*k) < hi; k++ {
			a, b := clampF(lo, float64(cell*k), fn), clampF(hi, 0, float64(min(cell*k+cell, n)))
			if b > a {
				out[o] = append(out[o], blockWeight{k, float32((b - a) / (hi - lo))})
			}
		}
	}
	return out
}

// clampF is x limited to [lo, hi], by comparisons (no float min/max
// instructions, which the no-fused-multiply-add check would not tell from
// one).
func clampF(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
