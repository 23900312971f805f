package synth

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"strconv"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/mediatest"
)

// TestImageDecodeDrift measures the fingerprint stage's fast decode route
// (imagehash.Fast) against the exact one on synth's media drawing: image
// families (drawBase, scaled up to a photo's size, saved at quality 90)
// with their edited re-shares (edit: crop, resize, JPEG quality 50-95,
// caption, watermark, brightness), and mediatest's textured scenes with
// the same edits. For every width it reports the PDQ and dHash drift
// (bits between the two routes' hashes of one file, over the files the
// fast route took) and what near_image's threshold (PDQ distance <= 31)
// makes of the pairs: same-family pairs that match, unrelated pairs that
// match, by the exact route, by the fast route, and with one image of each
// pair hashed each way. It fails if the fast route drifts more than a few
// bits on average or loses matches the exact route finds.
// TAKEDOWN_DRIFT_FAMILIES sets the number of families per kind (default 3;
// docs/stages/fingerprint.md quotes 40).
func TestImageDecodeDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes a few hundred megapixels")
	}
	families := 3
	if v := os.Getenv("TAKEDOWN_DRIFT_FAMILIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("TAKEDOWN_DRIFT_FAMILIES=%q: want an integer >= 2", v)
		}
		families = n
	}
	const variants = 4
	t.Logf("%-6s %5s %7s | %8s %4s | %5s | %-17s | %-17s | %-14s | %s", "kind", "width", "fast",
		"pdq mean", "max", "dhash", "same <=31 ex/fa/mix", "unrel <=31 ex/fa/mix", "nearest unrel", "pairs same/unrel")
	for _, kind := range []string{"synth", "scene"} {
		for _, width := range []int{800, 1000, 1600, 2400} {
			type hashed struct {
				family      int
				exact, fast imagehash.Hashes
			}
			var hs []hashed
			fastN := 0
			var pdqSum, pdqMax, dSum int
			for f := range families {
				seed := uint64(1000*width + f + 1)
				var base *image.RGBA
				if kind == "synth" {
					base = scale(drawBase(seed), width, width*3/4)
				} else {
					base = mediatest.Scene(seed, width, width*3/4)
				}
				files := [][]byte{encode(t, base, 90)}
				for v := range variants {
					img, q := edit(base, seed*31+uint64(v))
					files = append(files, encode(t, img, q))
				}
				for _, data := range files {
					e, err := imagehash.HashWith(data, imagehash.Options{})
					if err != nil {
						t.Fatal(err)
					}
					fa, err := imagehash.HashWith(data, imagehash.Options{Decode: imagehash.Fast})
					if err != nil {
						t.Fatal(err)
					}
					if fa.Fast {
						fastN++
						d := imagehash.PDQDistance(e.PDQ, fa.PDQ)
						pdqSum += d
						pdqMax = max(pdqMax, d)
						dSum += imagehash.DHashDistance(e.DHash, fa.DHash)
					}
					hs = append(hs, hashed{f, e, fa})
				}
			}
			var same, unrel [3]int // pairs within 31: exact, fast, mixed
			var nSame, nUnrel int
			closest := [3]int{256, 256, 256} // the nearest unrelated pair
			for i := range hs {
				for j := i + 1; j < len(hs); j++ {
					a, b := hs[i], hs[j]
					d := [3]int{
						imagehash.PDQDistance(a.exact.PDQ, b.exact.PDQ),
						imagehash.PDQDistance(a.fast.PDQ, b.fast.PDQ),
						imagehash.PDQDistance(a.fast.PDQ, b.exact.PDQ),
					}
					cnt := &unrel
					if a.family == b.family {
						cnt = &same
						nSame++
					} else {
						nUnrel++
						for k := range d {
							closest[k] = min(closest[k], d[k])
						}
					}
					for k := range d {
						if d[k] <= imagehash.PDQMatchDistance {
							cnt[k]++
						}
					}
				}
			}
			meanPDQ, meanD := 0.0, 0.0
			if fastN > 0 {
				meanPDQ, meanD = float64(pdqSum)/float64(fastN), float64(dSum)/float64(fastN)
			}
			t.Logf("%-6s %5d %3d/%3d | %8.2f %4d | %5.2f | %5d %5d %5d | %5d %5d %5d | %4d %4d %4d | %d/%d", kind, width, fastN, len(hs),
				meanPDQ, pdqMax, meanD, same[0], same[1], same[2], unrel[0], unrel[1], unrel[2], closest[0], closest[1], closest[2], nSame, nUnrel)
			if meanPDQ > 6 {
				t.Errorf("%s %d: fast route drifts %.2f bits on average", kind, width, meanPDQ)
			}
			// Matching quality: the fast route (alone or mixed with the
			// exact one) finds all but a few percent of the same-family
			// matches the exact route finds (the pairs near the threshold
			// go either way), and no more than a few more unrelated ones.
			for k := 1; k < 3; k++ {
				if same[k] < same[0]-max(2, same[0]/20) || unrel[k] > unrel[0]+max(1, nUnrel/1000) {
					t.Errorf("%s %d: matches %s: same family %d (exact %d), unrelated %d (exact %d)",
						kind, width, [3]string{"", "fast", "mixed"}[k], same[k], same[0], unrel[k], unrel[0])
				}
			}
		}
	}
}

func scale(src *image.RGBA, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	return dst
}

func encode(t *testing.T, img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(fmt.Errorf("encode: %w", err))
	}
	return b.Bytes()
}
