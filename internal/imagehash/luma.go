package imagehash

import (
	"image"
	"image/color"
)

// rgbRow writes the 8-bit R, G, B of row y (0-based from the top of the
// image's bounds) into dst (3 bytes per pixel). Alpha is ignored and the
// colour channels are taken unpremultiplied, as the reference tools do
// (Python converts to "RGB", Java reads getRGB's colour bytes). The common
// decoder outputs have direct paths; any other image goes through
// color.NRGBA64Model and keeps the high byte.
func rgbRow(img image.Image, y int, dst []uint8) {
	b := img.Bounds()
	w := b.Dx()
	yy := b.Min.Y + y
	switch m := img.(type) {
	case *image.YCbCr:
		for x := 0; x < w; x++ {
			yi := m.YOffset(b.Min.X+x, yy)
			ci := m.COffset(b.Min.X+x, yy)
			dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	case *image.NYCbCrA:
		for x := 0; x < w; x++ {
			yi := m.YOffset(b.Min.X+x, yy)
			ci := m.COffset(b.Min.X+x, yy)
			dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	case *image.Gray:
		row := m.Pix[m.PixOffset(b.Min.X, yy):]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = row[x], row[x], row[x]
		}
	case *image.NRGBA:
		row := m.Pix[m.PixOffset(b.Min.X, yy):]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
		}
	case *image.RGBA:
		row := m.Pix[m.PixOffset(b.Min.X, yy):]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+4]
			if p[3] == 0xff {
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
				continue
			}
			c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
			dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for i, c := range m.Palette {
			if i < len(pal) {
				n := color.NRGBAModel.Convert(c).(color.NRGBA)
				pal[i] = [3]uint8{n.R, n.G, n.B}
			}
		}
		row := m.Pix[m.PixOffset(b.Min.X, yy):]
		for x := 0; x < w; x++ {
			p := pal[row[x]]
			dst[3*x], dst[3*x+1], dst[3*x+2] = p[0], p[1], p[2]
		}
	case *image.CMYK:
		row := m.Pix[m.PixOffset(b.Min.X, yy):]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = color.CMYKToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
		}
	default:
		for x := 0; x < w; x++ {
			c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, yy)).(color.NRGBA64)
			dst[3*x], dst[3*x+1], dst[3*x+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
		}
	}
}

// LumaOf returns the image's luminance as the reference computes it from
// 8-bit RGB (see Luma), row-major, with its width and height.
func LumaOf(img image.Image) (luma []float32, width, height int) {
	b := img.Bounds()
	width, height = b.Dx(), b.Dy()
	luma = make([]float32, width*height)
	if m, ok := img.(*image.YCbCr); ok && lumaYCbCr(m, luma) {
		return luma, width, height
	}
	row := make([]uint8, 3*width)
	for y := 0; y < height; y++ {
		rgbRow(img, y, row)
		out := luma[y*width : (y+1)*width]
		for x := range out {
			out[x] = Luma(row[3*x], row[3*x+1], row[3*x+2])
		}
	}
	return luma, width, height
}

// PDQ hashes an image: its reference luminance at full resolution, then
// PDQFromLuma. It returns the hash and the quality (0-100).
func PDQ(img image.Image) (PDQHash, int) {
	luma, w, h := LumaOf(img)
	return PDQFromLuma(luma, w, h)
}

// lumaYCbCr writes the reference luminance of a decoded JPEG's pixels into
// luma, giving the same float32 values as rgbRow then Luma: the RGB bytes
// are color.YCbCrToRGB's, computed with its integer arithmetic, with the
// chroma terms computed once per chroma sample and the planes read by
// index rather than per-pixel offset calls. It reports false (and writes
// nothing) for a subsampling it does not know.
func lumaYCbCr(m *image.YCbCr, luma []float32) bool {
	var hs, vs int // log2 of the chroma subsampling along x and y
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hs = 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio440:
		vs = 1
	case image.YCbCrSubsampleRatio411:
		hs = 2
	case image.YCbCrSubsampleRatio410:
		hs, vs = 2, 1
	default:
		return false
	}
	b := m.Rect
	if b.Min.X < 0 || b.Min.Y < 0 { // x>>1 is COffset's x/2 only from 0 up
		return false
	}
	w := b.Dx()
	x0 := b.Min.X >> hs << hs // the first chroma sample's first pixel
	for y := b.Min.Y; y < b.Max.Y; y++ {
		yrow := m.Y[m.YOffset(b.Min.X, y):][:w]
		crow := (y>>vs - b.Min.Y>>vs) * m.CStride
		cb, cr := m.Cb[crow:], m.Cr[crow:]
		out := luma[(y-b.Min.Y)*w:][:w]
		for x := range out {
			ci := (b.Min.X + x - x0) >> hs
			out[x] = lumaOfYCbCr(yrow[x], cb[ci], cr[ci])
		}
	}
	return true
}

// lumaOfYCbCr is Luma(color.YCbCrToRGB(y, cb, cr)), with the same integer
// arithmetic and clamping as color.YCbCrToRGB.
func lumaOfYCbCr(y, cb, cr uint8) float32 {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy1 + 91881*cr1
	if uint32(r)&0xff000000 == 0 {
		r >>= 16
	} else {
		r = ^(r >> 31)
	}
	g := yy1 - 22554*cb1 - 46802*cr1
	if uint32(g)&0xff000000 == 0 {
		g >>= 16
	} else {
		g = ^(g >> 31)
	}
	bb := yy1 + 116130*cb1
	if uint32(bb)&0xff000000 == 0 {
		bb >>= 16
	} else {
		bb = ^(bb >> 31)
	}
	return float32(lumaTables[0][uint8(r)]+lumaTables[1][uint8(g)]) + lumaTables[2][uint8(bb)]
}
