package imagehash

import (
	"image"
	"math/rand/v2"
	"testing"
)

// TestLumaYCbCrEqualsGeneric requires the YCbCr fast path to give exactly
// the luminance of the per-pixel path (color.YCbCrToRGB, then Luma) for
// every subsampling, on whole images and on sub-images at odd offsets,
// with extreme chroma so that the RGB clamping is exercised.
func TestLumaYCbCrEqualsGeneric(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 37, 29), ratio)
		for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
			for i := range p {
				p[i] = uint8(r.IntN(256))
			}
		}
		for _, rect := range []image.Rectangle{m.Rect, image.Rect(3, 5, 30, 28), image.Rect(1, 1, 2, 2)} {
			sub := m.SubImage(rect).(*image.YCbCr)
			b := sub.Bounds()
			want := make([]float32, b.Dx()*b.Dy())
			row := make([]uint8, 3*b.Dx())
			for y := 0; y < b.Dy(); y++ {
				rgbRow(sub, y, row)
				for x := 0; x < b.Dx(); x++ {
					want[y*b.Dx()+x] = Luma(row[3*x], row[3*x+1], row[3*x+2])
				}
			}
			got, w, h := LumaOf(sub)
			if w != b.Dx() || h != b.Dy() {
				t.Fatalf("%v %v: size %dx%d, want %dx%d", ratio, rect, w, h, b.Dx(), b.Dy())
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%v %v: pixel %d: luma %v, want %v", ratio, rect, i, got[i], want[i])
				}
			}
		}
	}
}
