package imagehash

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/takedown-research/takedown/internal/mediatest"
)

// The fast route's test files were written by libjpeg-turbo's cjpeg from
// mediatest.Scene(7, 600, 520) and Scene(8, 601, 517), quality 80: with
// restart intervals (every 7 rows of MCUs, and every MCU row of an odd-
// sized image), 4:4:4, 4:2:2 and grey sampling, optimized Huffman tables,
// and progressive (which the fast route leaves to the exact one).
const fastDir = "testdata/fastroute"

// TestFastRouteMeans requires the fast route's 1/4-scale image to be the
// means of the fully decoded image's 4x4 cells (up to the inverse DCT's
// rounding and clamping, and the chroma the cell's luma is computed
// with), and its PDQ hash to be near the exact one, for every kind of
// JPEG it takes; and the exact route for the kinds it does not.
func TestFastRouteMeans(t *testing.T) {
	cases := []struct {
		file string
		fast bool
	}{
		{"restart-600x520.jpg", true},
		{"restart1-601x517.jpg", true},
		{"s444-600x520.jpg", true},
		{"s422-600x520.jpg", true},
		{"gray-600x520.jpg", true},
		{"odd-601x517.jpg", true},
		{"progressive-600x520.jpg", false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fastDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			exact, err := HashWith(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fast, err := HashWith(data, Options{Decode: Fast})
			if err != nil {
				t.Fatal(err)
			}
			if fast.Fast != c.fast {
				t.Fatalf("Fast = %v, want %v", fast.Fast, c.fast)
			}
			if !c.fast {
				if !reflect.DeepEqual(fast, exact) {
					t.Errorf("fast route %+v, want the exact route's %+v", fast, exact)
				}
				return
			}
			if d := PDQDistance(fast.PDQ, exact.PDQ); d > 16 {
				t.Errorf("PDQ distance %d between the routes", d)
			}
			if fast.Width != exact.Width || fast.Height != exact.Height || fast.Format != "jpeg" {
				t.Errorf("fast %dx%d %s, exact %dx%d", fast.Width, fast.Height, fast.Format, exact.Width, exact.Height)
			}
			img, _, err := Decode(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			full, w, h := LumaOf(img)
			d, err := decodeDC(data)
			if err != nil {
				t.Fatal(err)
			}
			small, sw, sh := LumaOf(d.blockImage())
			if sw != (w+3)/4 || sh != (h+3)/4 {
				t.Fatalf("1/4-scale image %dx%d for %dx%d", sw, sh, w, h)
			}
			var sum, worst float64
			for y := range sh {
				for x := range sw {
					var s float64
					n := 0
					for yy := 4 * y; yy < min(4*y+4, h); yy++ {
						for xx := 4 * x; xx < min(4*x+4, w); xx++ {
							s += float64(full[yy*w+xx])
							n++
						}
					}
					e := math.Abs(float64(small[y*sw+x]) - s/float64(n))
					sum += e
					worst = max(worst, e)
				}
			}
			mean := sum / float64(sw*sh)
			t.Logf("cell means: mean error %.3f, max %.1f; PDQ distance %d", mean, worst, PDQDistance(fast.PDQ, exact.PDQ))
			// The error is the inverse DCT's rounding, and clamping where a
			// cell is near black or white.
			if mean > 0.5 || worst > 16 {
				t.Errorf("cell means differ from the decoded image's: mean %.3f, max %.1f", mean, worst)
			}
		})
	}
}

// TestFastRouteFallsBack requires every image the fast route does not
// take (small, not a JPEG, damaged, a kind the DC reader refuses) to get
// exactly the exact route's hashes or error.
func TestFastRouteFallsBack(t *testing.T) {
	large := mediatest.JPEG(mediatest.Scene(3, 640, 520), 85)
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, mediatest.Scene(3, 640, 520)); err != nil {
		t.Fatal(err)
	}
	sof := bytes.Index(large, []byte{0xff, 0xc0})
	lossless := bytes.Clone(large)
	lossless[sof+1] = 0xc3
	sos := bytes.Index(large, []byte{0xff, 0xda})
	garbled := bytes.Clone(large)
	for i := sos + 200; i < len(garbled)-2; i += 97 {
		garbled[i] ^= 0x5a
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"small JPEG", mediatest.JPEG(mediatest.Scene(3, 320, 240), 85)},
		{"PNG", pngBuf.Bytes()},
		{"truncated", large[:len(large)/2]},
		{"no EOI", large[:len(large)-2]},
		{"lossless SOF3", lossless},
		{"garbled entropy data", garbled},
		{"header only", large[:sos]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fast, ferr := HashWith(c.data, Options{Decode: Fast})
			exact, eerr := HashWith(c.data, Options{})
			if fast.Fast {
				if ferr != nil {
					t.Fatalf("fast route hashed and failed: %v", ferr)
				}
				return // damage the DC reader reads through, as image/jpeg may
			}
			if !reflect.DeepEqual(fast, exact) || ReasonOf(ferr) != ReasonOf(eerr) || (ferr == nil) != (eerr == nil) {
				t.Errorf("fast route %+v, %v; exact %+v, %v", fast, ferr, exact, eerr)
			}
		})
	}
}

// FuzzFastRoute: on any bytes the fast route neither panics nor differs
// from the exact route when it leaves the file to it. (The pixel bound is
// 2^20, as FuzzHash's, so that no input costs seconds.)
//
//	go test ./internal/imagehash -run '^$' -fuzz FuzzFastRoute -fuzztime 60s -fuzzminimizetime 2s
func FuzzFastRoute(f *testing.F) {
	// Small seeds (flat 512x512 images at low quality, a few kilobytes)
	// keep the fuzzer's minimizing quick; the restart file brings DRI/RST.
	for _, img := range []image.Image{image.NewGray(image.Rect(0, 0, 512, 520)), mediatest.Resize(mediatest.Scene(5, 64, 64), 520, 512)} {
		f.Add(mediatest.JPEG(img, 10))
	}
	data, err := os.ReadFile(filepath.Join(fastDir, "restart1-601x517.jpg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ferr := HashWith(data, Options{Decode: Fast, MaxPixels: 1 << 20})
		if fast.Fast {
			if ferr != nil {
				t.Fatalf("fast route hashed and failed: %v", ferr)
			}
			return
		}
		exact, eerr := HashWith(data, Options{MaxPixels: 1 << 20})
		if !reflect.DeepEqual(fast, exact) || ReasonOf(ferr) != ReasonOf(eerr) {
			t.Errorf("fast route %+v, %v; exact %+v, %v", fast, ferr, exact, eerr)
		}
	})
}
