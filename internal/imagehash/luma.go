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
