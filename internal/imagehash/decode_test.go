package imagehash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/gif"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/errkind"
)

func readImage(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(imagesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// pngHeader is a PNG signature and an IHDR chunk declaring w x h 8-bit RGB,
// with a correct CRC, and no image data: what a decompression bomb
// looks like to DecodeConfig.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// pngEnd is an IEND chunk: the end of a PNG file.
var pngEnd = []byte("\x00\x00\x00\x00IEND\xaeB`\x82")

func TestDecodeReasons(t *testing.T) {
	png := readImage(t, "scene-200x150.png")
	jpg := readImage(t, "scene-640x480-q90.jpg")
	gifData := readImage(t, "paletted-160x120.gif")
	webpData := readImage(t, "blue-purple-pink.lossy.webp")
	badCRC := bytes.Clone(png)
	badCRC[30] ^= 0xff // inside IHDR: its CRC no longer matches
	tests := []struct {
		name   string
		data   []byte
		opt    Options
		reason Reason
	}{
		{"empty", nil, Options{}, UnknownFormat},
		{"text", []byte("<html>not an image</html>"), Options{}, UnknownFormat},
		{"bmp", []byte("BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"), Options{}, UnknownFormat},
		{"png signature only", png[:8], Options{}, Truncated},
		{"png half", png[:len(png)/2], Options{}, Truncated},
		{"jpeg half", jpg[:len(jpg)/2], Options{}, Truncated},
		{"jpeg SOI only", jpg[:2], Options{}, Truncated},
		{"gif half", gifData[:len(gifData)/2], Options{}, Truncated},
		{"webp header only", webpData[:12], Options{}, Truncated},
		{"png bad CRC", badCRC, Options{}, Corrupt},
		{"png bomb header", pngHeader(100_000, 100_000), Options{}, TooLarge},
		{"png zero width", append(pngHeader(0, 10), pngEnd...), Options{}, Corrupt},
		{"png over MaxPixels", png, Options{MaxPixels: 200*150 - 1}, TooLarge},
		{"png at MaxPixels", png, Options{MaxPixels: 200 * 150}, 0},
		{"jpeg", jpg, Options{}, 0},
		{"gif", gifData, Options{}, 0},
		{"webp", webpData, Options{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashWith(tc.data, tc.opt)
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %v (error %v), want %v", got, err, tc.reason)
			}
			if tc.reason == 0 {
				if h.Width == 0 || h.Height == 0 || h.Quality == 0 {
					t.Fatalf("decoded to %+v", h)
				}
				return
			}
			if k := errkind.Of(err); k != errkind.BadInput {
				t.Errorf("error kind %v, want bad input", k)
			}
			var de *DecodeError
			if !errors.As(err, &de) || (tc.reason != UnknownFormat && de.Format == "") {
				t.Errorf("error %v: want a *DecodeError naming the format", err)
			}
		})
	}
}

// TestGIFFirstFrame checks that an animated GIF hashes as its first frame
// alone.
func TestGIFFirstFrame(t *testing.T) {
	data := readImage(t, "animated-2frames-100x80.gif")
	all, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Image) != 2 {
		t.Fatalf("%d frames, want 2", len(all.Image))
	}
	h, err := Hash(data)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := PDQ(all.Image[0])
	second, _ := PDQ(all.Image[1])
	if h.PDQ != first || h.PDQ == second {
		t.Fatalf("hash %s: first frame %s, second %s", h.PDQ, first, second)
	}
}

// TestNearDuplicates: re-encodings of one picture stay within the match
// thresholds, different pictures do not.
func TestNearDuplicates(t *testing.T) {
	hashOf := func(name string) Hashes {
		h, err := Hash(readImage(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	q90, q30 := hashOf("scene-640x480-q90.jpg"), hashOf("scene-640x480-q30.jpg")
	other := hashOf("scene-257x181.png")
	tests := []struct {
		name       string
		a, b       Hashes
		same       bool
		maxDHashed int
	}{
		{"jpeg q90 vs q30", q90, q30, true, 6},
		{"different scenes", q90, other, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := PDQDistance(tc.a.PDQ, tc.b.PDQ)
			if (d <= PDQMatchDistance) != tc.same {
				t.Errorf("PDQ distance %d, same picture %v", d, tc.same)
			}
			dd := DHashDistance(tc.a.DHash, tc.b.DHash)
			if tc.same && dd > tc.maxDHashed {
				t.Errorf("dHash distance %d > %d", dd, tc.maxDHashed)
			}
			if !tc.same && dd < 10 {
				t.Errorf("dHash distance %d between different pictures", dd)
			}
		})
	}
}

func TestParsePDQ(t *testing.T) {
	const s = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	h, err := ParsePDQ(s)
	if err != nil || h.String() != s {
		t.Fatalf("round trip: %v %v", h, err)
	}
	upper, err := ParsePDQ("F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22")
	if err != nil || upper != h {
		t.Fatalf("upper case: %v %v", upper, err)
	}
	for _, bad := range []string{"", s[:63], s + "0", "g" + s[1:]} {
		if _, err := ParsePDQ(bad); err == nil {
			t.Errorf("ParsePDQ(%q) accepted", bad)
		}
	}
	// Bit k = 16*i + j is DCT coefficient (i, j); in the hex form the
	// reference prints, coefficient row 15 comes first.
	var one PDQHash
	one.setBit(0)
	if one.String() != "0000000000000000000000000000000000000000000000000000000000000001" || !one.bit(0) {
		t.Errorf("bit 0: %s", one)
	}
	one = PDQHash{}
	one.setBit(255)
	if one.String() != "8000000000000000000000000000000000000000000000000000000000000000" {
		t.Errorf("bit 255: %s", one)
	}
	if d := PDQDistance(h, PDQHash{}); d != popcountHash(h) {
		t.Errorf("distance to zero %d", d)
	}
}

func popcountHash(h PDQHash) int {
	n := 0
	for k := 0; k < 256; k++ {
		if h.bit(k) {
			n++
		}
	}
	return n
}

// FuzzHash: any bytes either hash (deterministically, within the pixel
// bound) or fail with a reason; nothing panics.
//
//	go test ./internal/imagehash -run '^$' -fuzz FuzzHash -fuzztime 30s
func FuzzHash(f *testing.F) {
	for _, name := range []string{"scene-5x5.png", "scene-64x64.png", "gray-jpeg-160x120.jpg", "paletted-160x120.gif", "blue-purple-pink.lossy.webp", "flat-50x50.png"} {
		data := readImage(f, name)
		f.Add(data)
		f.Add(data[:len(data)*2/3])
	}
	f.Add(pngHeader(1<<20, 1<<20))
	opt := Options{MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := HashWith(data, opt)
		if err != nil {
			if ReasonOf(err) == 0 {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if h.Width <= 0 || h.Height <= 0 || h.Width*h.Height > opt.MaxPixels || h.Quality < 0 || h.Quality > 100 {
			t.Fatalf("bad result %+v", h)
		}
		again, err := HashWith(data, opt)
		if err != nil || again != h {
			t.Fatalf("second hash %+v, %v; first %+v", again, err, h)
		}
	})
}

// TestCompleteFiles: every whole test image ends as its format says, and
// every strict prefix of one that fails to decode is told truncated.
func TestCompleteFiles(t *testing.T) {
	entries, err := os.ReadDir(imagesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data := readImage(t, e.Name())
		c, ok := sniff(data)
		if !ok || !complete(c.name, data) {
			t.Errorf("%s: format %q, complete %v", e.Name(), c.name, ok && complete(c.name, data))
			continue
		}
		for _, n := range []int{len(data) / 3, len(data) - 1} {
			_, err := Hash(data[:n])
			if r := ReasonOf(err); err != nil && r != Truncated {
				t.Errorf("%s cut to %d bytes: %v, want truncated", e.Name(), n, err)
			}
		}
	}
}

// megapixelJPEG is a 1155x866 (1.0 MP) photo-like JPEG at quality 85.
func megapixelJPEG(b *testing.B) []byte {
	data, err := encodeJPEG(scene(1155, 866, 99), 85)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkHash1MP is the whole of Hash on a 1 MP JPEG (decode, PDQ,
// dHash); the sub-benchmarks split it. images/s is per core.
//
//	go test ./internal/imagehash -run '^$' -bench Hash1MP
func BenchmarkHash1MP(b *testing.B) {
	data := megapixelJPEG(b)
	img, _, err := Decode(data, Options{})
	if err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B, cpu0 time.Duration) {
		cpu := cpuTime() - cpu0
		if cpu > 0 {
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "images/cpu-s")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	}
	b.Run("all", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			if _, err := Hash(data); err != nil {
				b.Fatal(err)
			}
		}
		report(b, cpu0)
	})
	b.Run("decode", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			Decode(data, Options{})
		}
		report(b, cpu0)
	})
	b.Run("pdq", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			PDQ(img)
		}
		report(b, cpu0)
	})
	b.Run("dhash", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			DHash(img)
		}
		report(b, cpu0)
	})
	b.Run("phash", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			PHash(img)
		}
		report(b, cpu0)
	})
}
