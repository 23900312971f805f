package imagehash

import (
	"errors"
	"fmt"
	"math"
)

// This file is the fast route's JPEG reader. It reads a JPEG at 1/4
// scale: the mean of every 4x4 quarter of every 8x8 block, computed from
// the block's DCT coefficients without an inverse DCT (a quarter's mean is
// a fixed linear function of the coefficients whose horizontal and
// vertical frequencies are 0 or odd, see quarterWeights), so that there is
// no full-size image, upsampling or colour conversion. It reads baseline
// and extended sequential (SOF0, SOF1) Huffman-coded 8-bit JPEGs with one
// (grey) or three (YCbCr) components. Anything else (progressive,
// arithmetic coding, 12-bit samples, lossless, CMYK, Adobe-marked RGB, a
// DNL marker, data that does not decode) is errNotFast: the caller decodes
// the file fully instead, so that every reason a file is refused is
// image/jpeg's.

// errNotFast says the fast reader does not take this file.
var errNotFast = errors.New("jpeg: not for the DC reader")

func notFast(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errNotFast}, args...)...)
}

// dcImage is a JPEG's quarter-block means per component, on the
// component's block grid (padded to whole MCUs).
type dcImage struct {
	width, height int
	ncomp         int
	hmax, vmax    int
	comp          [3]dcComp
}

type dcComp struct {
	id     uint8
	h, v   int
	tq     int
	bw, bh int // blocks per row and column, padded to whole MCUs
	// quad holds, per block (row-major), the means of its top-left,
	// top-right, bottom-left and bottom-right 4x4 quarters before the level
	// shift, in units of 2^-quarterBits. (The largest dequantized
	// coefficient, 2^15, times the largest weight, 2^quarterBits/8, times
	// 64 coefficients stays within int32.)
	quad    []int32
	scanned bool
}

// quarterBits is the fixed-point precision of quarterWeights.
const quarterBits = 12

// quarterWeights[k] is the weight of the dequantized coefficient at
// zigzag position k in the mean of a block's top-left 4x4 quarter, scaled
// by 2^quarterBits; oddU and oddV say whether its horizontal and vertical
// frequencies are odd (the other quarters then take it negated). With the
// inverse DCT f(x,y) = 1/4 sum C(u)C(v) F(u,v) cos((2x+1)u pi/16)
// cos((2y+1)v pi/16), a quarter's mean is 1/4 sum C(u)C(v) F(u,v) m(u) m(v)
// with m(u) = 1/4 sum_{x<4} cos((2x+1)u pi/16), which is 0 for even u > 0.
var quarterWeights, quarterOddU, quarterOddV = func() (w [64]int32, oddU, oddV [64]bool) {
	var m [8]float64
	for u := range 8 {
		for x := range 4 {
			m[u] += float64(math.Cos(float64((2*x+1)*u)*math.Pi/16) / 4) // no fused multiply-add
		}
	}
	c := func(u int) float64 {
		if u == 0 {
			return 1 / math.Sqrt2
		}
		return 1
	}
	for k := range 64 {
		n := unzig[k]
		v, u := n/8, n%8
		w[k] = int32(math.Round(c(u) * c(v) * m[u] * m[v] / 4 * (1 << quarterBits)))
		oddU[k], oddV[k] = u%2 == 1, v%2 == 1
	}
	return
}()

// unzig maps a zigzag index to the natural (row-major) index in a block.
var unzig = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// addCoef adds the dequantized coefficient f at zigzag position k to a
// block's four quarter means.
func addCoef(q []int32, k int, f int32) {
	t := f * quarterWeights[k]
	r, b := t, t
	if quarterOddU[k] {
		r = -t
	}
	if quarterOddV[k] {
		b = -t
	}
	br := b
	if quarterOddU[k] {
		br = -b
	}
	q[0] += t
	q[1] += r
	q[2] += b
	q[3] += br
}

// huffTable decodes one Huffman table: lut maps the next lutBits bits to
// (code length << 8 | symbol) for codes of at most lutBits bits, 0 for
// longer codes, which the canonical maxCode/valPtr arrays decode.
type huffTable struct {
	lut     [1 << lutBits]uint16
	maxCode [17]int32
	valPtr  [17]int32
	vals    [256]uint8
	defined bool
	// fastAC maps the next lutBits bits, when they hold an AC code of
	// run r and size s > 0 and its s value bits, to value << 16 | r << 8 |
	// (code length + s); 0 otherwise.
	fastAC [1 << lutBits]int32
}

const lutBits = 9

func (t *huffTable) build(counts *[16]uint8, vals []uint8) error {
	*t = huffTable{defined: true}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l { // more codes of this length than there are
			return notFast("bad Huffman table")
		}
		t.valPtr[l] = k - code
		if n == 0 {
			t.maxCode[l] = -1
		} else {
			t.maxCode[l] = code + n - 1
		}
		if l <= lutBits {
			for i := int32(0); i < n; i++ {
				c := code + i
				shift := lutBits - l
				for j := int32(0); j < 1<<shift; j++ {
					t.lut[c<<shift|j] = uint16(l)<<8 | uint16(vals[k+i])
				}
			}
		}
		k += n
		code = (code + n) << 1
	}
	for p, e := range t.lut {
		l, sym := int(e>>8), e&0xff
		r, sz := int(sym>>4), int(sym&15)
		if e == 0 || sz == 0 || l+sz > lutBits {
			continue
		}
		v := int32(p>>(lutBits-l-sz)) & (1<<sz - 1)
		if v < 1<<(sz-1) {
			v += -1<<sz + 1
		}
		t.fastAC[p] = v<<16 | int32(r)<<8 | int32(l+sz)
	}
	return nil
}

// bitReader reads the entropy-coded data of a scan: bytes with 0xFF 0x00
// stuffing, ended by a marker. Past the end it reads zero bits and notes
// that it ran out.
type bitReader struct {
	data   []byte
	pos    int    // next byte to load
	acc    uint64 // bits, left-aligned
	n      uint   // number of valid bits in acc
	marker bool   // a marker stopped loading; pos is at its 0xFF
	over   int    // zero bytes loaded past the data's end or a marker
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		switch {
		case b.marker || b.pos >= len(b.data):
			b.over++
		case b.data[b.pos] != 0xff:
			c = b.data[b.pos]
			b.pos++
		case b.pos+1 < len(b.data) && b.data[b.pos+1] == 0:
			c = 0xff
			b.pos += 2
		default:
			b.marker = true
			b.over++
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

func (b *bitReader) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if b.n < n {
		b.fill()
	}
	v := int32(b.acc >> (64 - n))
	b.acc <<= n
	b.n -= n
	return v
}

func (b *bitReader) skip(n uint) {
	if b.n < n {
		b.fill()
	}
	b.acc <<= n
	b.n -= n
}

// receiveExtend reads n bits as a signed coefficient (ITU T.81 F.2.2.1).
func (b *bitReader) receiveExtend(n uint8) int32 {
	if n == 0 {
		return 0
	}
	v := b.bits(uint(n))
	if v < 1<<(n-1) {
		v += -1<<n + 1
	}
	return v
}

func (b *bitReader) decode(t *huffTable) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.lut[b.acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return uint8(e), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(b.acc>>63)
		b.acc <<= 1
		b.n--
		if code <= t.maxCode[l] {
			return t.vals[(code+t.valPtr[l])&0xff], nil
		}
	}
	return 0, notFast("bad Huffman code")
}

// overrun reports whether the decoder has consumed zero fill: bits past
// the data's end or past the marker ending the scan.
func (b *bitReader) overrun() bool { return b.over*8 > int(b.n) }

// restart ends an interval: it drops the bits left in the byte and
// expects the RSTn marker, which it consumes.
func (b *bitReader) restart() error {
	if b.overrun() {
		return notFast("scan data ends early")
	}
	// Every byte loaded before the marker was data of this interval (only
	// its padding bits are unread), so the marker is at pos.
	b.acc, b.n = 0, 0
	if b.pos+1 >= len(b.data) || b.data[b.pos] != 0xff || b.data[b.pos+1] < 0xd0 || b.data[b.pos+1] > 0xd7 {
		return notFast("missing restart marker")
	}
	b.pos += 2
	b.marker, b.over = false, 0
	return nil
}

// end returns the position after the scan's data, where the next marker
// starts, or an error if the data ran out before the scan did.
func (b *bitReader) end() (int, error) {
	if b.overrun() {
		return 0, notFast("scan data ends early")
	}
	if b.marker {
		return b.pos, nil
	}
	return b.endOfSkipped()
}

// decodeDC reads data's quarter-block means, or returns an error wrapping
// errNotFast.
func decodeDC(data []byte) (*dcImage, error) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, notFast("no SOI")
	}
	var (
		img      dcImage
		quant    [4][64]uint16
		quantSet [4]bool
		dc, ac   [4]huffTable
		restart  int
		sawFrame bool
	)
	pos := 2
	for {
		// A marker: 0xFF, optional fill 0xFF bytes, the code.
		if pos >= len(data) || data[pos] != 0xff {
			return nil, notFast("expected a marker at %d", pos)
		}
		for pos < len(data) && data[pos] == 0xff {
			pos++
		}
		if pos >= len(data) {
			return nil, notFast("truncated")
		}
		m := data[pos]
		pos++
		switch {
		case m == 0xd9: // EOI
			if !sawFrame {
				return nil, notFast("no frame")
			}
			for i := range img.ncomp {
				if !img.comp[i].scanned {
					return nil, notFast("component %d has no scan", i)
				}
			}
			return &img, nil
		case m >= 0xd0 && m <= 0xd7, m == 0x01: // RSTn, TEM: no length
			continue
		}
		if pos+2 > len(data) {
			return nil, notFast("truncated")
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 || pos+n > len(data) {
			return nil, notFast("bad segment length")
		}
		seg := data[pos+2 : pos+n]
		pos += n
		switch {
		case m == 0xc0 || m == 0xc1: // SOF0, SOF1
			if sawFrame {
				return nil, notFast("second frame")
			}
			sawFrame = true
			if err := img.frame(seg); err != nil {
				return nil, err
			}
		case m >= 0xc2 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return nil, notFast("SOF%d", m-0xc0)
		case m == 0xcc: // DAC: arithmetic coding
			return nil, notFast("arithmetic coding")
		case m == 0xc4: // DHT
			for len(seg) > 0 {
				if len(seg) < 17 {
					return nil, notFast("bad DHT")
				}
				tc, th := seg[0]>>4, seg[0]&15
				if tc > 1 || th > 3 {
					return nil, notFast("bad DHT")
				}
				var counts [16]uint8
				copy(counts[:], seg[1:17])
				total := 0
				for _, c := range counts {
					total += int(c)
				}
				if total > 256 || len(seg) < 17+total {
					return nil, notFast("bad DHT")
				}
				t := &dc[th]
				if tc == 1 {
					t = &ac[th]
				}
				if err := t.build(&counts, seg[17:17+total]); err != nil {
					return nil, err
				}
				seg = seg[17+total:]
			}
		case m == 0xdb: // DQT
			for len(seg) > 0 {
				pq, tq := seg[0]>>4, seg[0]&15
				if tq > 3 || pq > 1 {
					return nil, notFast("bad DQT")
				}
				size := 1 + 64*(1+int(pq))
				if len(seg) < size {
					return nil, notFast("bad DQT")
				}
				for i := range 64 {
					if pq == 0 {
						quant[tq][i] = uint16(seg[1+i])
					} else {
						quant[tq][i] = uint16(seg[1+2*i])<<8 | uint16(seg[2+2*i])
					}
				}
				quantSet[tq] = true
				seg = seg[size:]
			}
		case m == 0xdd: // DRI
			if len(seg) != 2 {
				return nil, notFast("bad DRI")
			}
			restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xee: // APP14 (Adobe): colour transforms image/jpeg handles
			return nil, notFast("Adobe APP14")
		case m == 0xdc: // DNL
			return nil, notFast("DNL")
		case m == 0xda: // SOS
			if !sawFrame {
				return nil, notFast("scan before frame")
			}
			end, err := img.scan(seg, data, pos, restart, &quant, &quantSet, &dc, &ac)
			if err != nil {
				return nil, err
			}
			pos = end
		}
		// APPn, COM and others: skipped.
	}
}

func (img *dcImage) frame(seg []byte) error {
	if len(seg) < 6 {
		return notFast("bad SOF")
	}
	if seg[0] != 8 {
		return notFast("%d-bit samples", seg[0])
	}
	img.height = int(seg[1])<<8 | int(seg[2])
	img.width = int(seg[3])<<8 | int(seg[4])
	img.ncomp = int(seg[5])
	if img.width == 0 || img.height == 0 {
		return notFast("zero size")
	}
	if img.ncomp != 1 && img.ncomp != 3 || len(seg) != 6+3*img.ncomp {
		return notFast("%d components", img.ncomp)
	}
	img.hmax, img.vmax = 1, 1
	for i := range img.ncomp {
		c := &img.comp[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return notFast("bad component")
		}
		if img.ncomp == 1 {
			c.h, c.v = 1, 1 // a single component is never interleaved
		}
		img.hmax, img.vmax = max(img.hmax, c.h), max(img.vmax, c.v)
	}
	if img.ncomp == 3 {
		if img.comp[0].id == 'R' && img.comp[1].id == 'G' && img.comp[2].id == 'B' {
			return notFast("RGB components")
		}
		// The luma grid is the output grid: luma must have the largest
		// factors, and chroma's must divide them.
		for i := range 3 {
			c := img.comp[i]
			if img.hmax%c.h != 0 || img.vmax%c.v != 0 {
				return notFast("sampling factors")
			}
		}
		if img.comp[0].h != img.hmax || img.comp[0].v != img.vmax {
			return notFast("sampling factors")
		}
	}
	mcuW, mcuH := 8*img.hmax, 8*img.vmax
	mx, my := (img.width+mcuW-1)/mcuW, (img.height+mcuH-1)/mcuH
	for i := range img.ncomp {
		c := &img.comp[i]
		c.bw, c.bh = mx*c.h, my*c.v
		c.quad = make([]int32, 4*c.bw*c.bh)
	}
	return nil
}

// scan decodes one scan whose header is seg and whose data starts at
// data[pos]; it returns the position of the marker after the data.
func (img *dcImage) scan(seg, data []byte, pos int, restart int, quant *[4][64]uint16, quantSet *[4]bool, dc, ac *[4]huffTable) (int, error) {
	if len(seg) < 1 {
		return 0, notFast("bad SOS")
	}
	ns := int(seg[0])
	if ns < 1 || ns > img.ncomp || len(seg) != 4+2*ns {
		return 0, notFast("bad SOS")
	}
	var comps [3]*dcComp
	var dcT, acT [3]*huffTable
	var q [3][64]int32
	for i := range ns {
		id := seg[1+2*i]
		for j := range img.ncomp {
			if img.comp[j].id == id {
				comps[i] = &img.comp[j]
			}
		}
		if comps[i] == nil {
			return 0, notFast("unknown component in SOS")
		}
		comps[i].scanned = true
		dcT[i], acT[i] = &dc[seg[2+2*i]>>4&3], &ac[seg[2+2*i]&3]
		if !dcT[i].defined || !acT[i].defined {
			return 0, notFast("missing Huffman table")
		}
		if !quantSet[comps[i].tq] {
			return 0, notFast("missing quantization table")
		}
		for k := range 64 {
			q[i][k] = int32(quant[comps[i].tq][k])
		}
	}
	if ss, se, a := seg[1+2*ns], seg[2+2*ns], seg[3+2*ns]; ss != 0 || se != 63 || a != 0 {
		return 0, notFast("bad sequential scan")
	}
	// Blocks per MCU: the sampling factors when interleaved; one block,
	// over the component's own (unpadded) grid, when not.
	var mx, my int
	if ns == 1 {
		c := comps[0]
		cw := (img.width*c.h + img.hmax - 1) / img.hmax
		ch := (img.height*c.v + img.vmax - 1) / img.vmax
		mx, my = (cw+7)/8, (ch+7)/8
	} else {
		mx, my = (img.width+8*img.hmax-1)/(8*img.hmax), (img.height+8*img.vmax-1)/(8*img.vmax)
	}
	br := bitReader{data: data, pos: pos}
	var pred [3]int32
	mcu := 0
	for y := range my {
		for x := range mx {
			if restart > 0 && mcu > 0 && mcu%restart == 0 {
				if err := br.restart(); err != nil {
					return 0, err
				}
				pred = [3]int32{}
			}
			mcu++
			for i := range ns {
				c := comps[i]
				bh, bv := c.h, c.v
				if ns == 1 {
					bh, bv = 1, 1
				}
				for v := range bv {
					for h := range bh {
						bx, by := x*bh+h, y*bv+v
						qd := c.quad[4*(by*c.bw+bx):][:4]
						qd[0], qd[1], qd[2], qd[3] = 0, 0, 0, 0
						s, err := br.decode(dcT[i])
						if err != nil {
							return 0, err
						}
						if s > 15 {
							return 0, notFast("bad DC size")
						}
						pred[i] += br.receiveExtend(s)
						addCoef(qd, 0, pred[i]*q[i][0])
						for k := 1; k < 64; k++ {
							if br.n < 16 {
								br.fill()
							}
							if e := acT[i].fastAC[br.acc>>(64-lutBits)]; e != 0 {
								l := uint(e & 15)
								br.acc <<= l
								br.n -= l
								k += int(e >> 8 & 15)
								if k > 63 {
									return 0, notFast("coefficients past the block")
								}
								if quarterWeights[k] != 0 {
									addCoef(qd, k, e>>16*q[i][k])
								}
								continue
							}
							rs, err := br.decode(acT[i])
							if err != nil {
								return 0, err
							}
							r, s := int(rs>>4), rs&15
							if s == 0 {
								if r != 15 {
									break
								}
								k += 15
								continue
							}
							k += r
							if k > 63 {
								return 0, notFast("coefficients past the block")
							}
							if quarterWeights[k] == 0 {
								br.skip(uint(s))
								continue
							}
							addCoef(qd, k, br.receiveExtend(s)*q[i][k])
						}
					}
				}
			}
			if br.overrun() {
				return 0, notFast("scan data ends early")
			}
		}
	}
	return br.end()
}

// endOfSkipped finds the marker ending a scan not decoded: the first 0xFF
// followed by neither 0x00 (stuffing) nor a restart marker.
func (b *bitReader) endOfSkipped() (int, error) {
	for p := b.pos; p+1 < len(b.data); p++ {
		if b.data[p] == 0xff {
			if c := b.data[p+1]; c != 0 && (c < 0xd0 || c > 0xd7) {
				return p, nil
			}
		}
	}
	return 0, notFast("no marker after scan")
}
