package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// flipped returns base with the first n bits flipped, spread over the
// hash (bit 37i mod 256, distinct for every i below 256).
func flipped(base imagehash.PDQHash, n int) []byte {
	h := base
	for i := range n {
		k := (i * 37) % 256
		h[k/8] ^= 1 << (k % 8)
	}
	return h[:]
}

var baseHash = func() imagehash.PDQHash {
	var h imagehash.PDQHash
	for i := range h {
		h[i] = byte(i*97 + 13)
	}
	return h
}()

// img is one image row: an account's image of post post at t0+at ms.
func img(post, acc string, at int64, sha string, pdq []byte, quality int32) schema.ImageFingerprint {
	return schema.ImageFingerprint{PostID: post, AccountID: acc, PostedAt: t0 + at, MediaKey: "3_" + post,
		SHA256: sha, PDQ: pdq, PDQQuality: quality}
}

func TestImageSignals(t *testing.T) {
	far := flipped(baseHash, 120) // unrelated: 120 bits away
	cases := []struct {
		name    string
		images  []schema.ImageFingerprint
		params  func(p *Params)
		signal  string
		want    []string // "a-b items", edges of the signal
		wantKey []string // evidence item keys
	}{
		{name: "identical files within the window",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", far, 100), img("p2", "b", 10_000, "s1", far, 100),
				img("p3", "a", 100_000, "s2", baseHash[:], 100), img("p4", "b", 130_000, "s2", baseHash[:], 100),
			},
			signal: SignalCoImage, want: []string{"a-b 2"}, wantKey: []string{"3_p1 3_p2 0", "3_p3 3_p4 0"}},
		{name: "identical files outside the window",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", far, 100), img("p2", "b", 61_000, "s1", far, 100),
				img("p3", "a", 100_000, "s2", baseHash[:], 100), img("p4", "b", 130_000, "s2", baseHash[:], 100),
			},
			signal: SignalCoImage},
		{name: "near-duplicates within the distance",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 100), img("p2", "b", 5_000, "s2", flipped(baseHash, 31), 90),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", flipped(imagehash.PDQHash(far), 3), 80),
			},
			signal: SignalNearImage, want: []string{"a-b 2"}, wantKey: []string{"3_p1 3_p2 31", "3_p3 3_p4 3"}},
		{name: "one bit beyond the distance",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 100), img("p2", "b", 5_000, "s2", flipped(baseHash, 32), 90),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", flipped(imagehash.PDQHash(far), 3), 80),
			},
			signal: SignalNearImage},
		{name: "--image-distance 40 takes it",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 100), img("p2", "b", 5_000, "s2", flipped(baseHash, 32), 90),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", flipped(imagehash.PDQHash(far), 3), 80),
			},
			params: func(p *Params) { p.Images.Distance = 40 },
			signal: SignalNearImage, want: []string{"a-b 2"}, wantKey: []string{"3_p1 3_p2 32", "3_p3 3_p4 3"}},
		{name: "low quality is left out",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 49), img("p2", "b", 5_000, "s2", flipped(baseHash, 2), 90),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", flipped(imagehash.PDQHash(far), 3), 80),
			},
			signal: SignalNearImage},
		{name: "--image-min-quality 0 keeps it",
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 49), img("p2", "b", 5_000, "s2", flipped(baseHash, 2), 90),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", flipped(imagehash.PDQHash(far), 3), 80),
			},
			params: func(p *Params) { p.Images.MinQuality = 0 },
			signal: SignalNearImage, want: []string{"a-b 2"}, wantKey: []string{"3_p1 3_p2 2", "3_p3 3_p4 3"}},
		{name: "a chain does not pair its ends",
			// a~x (20 bits), x~b (20 bits), a and b 40 apart: one item, but
			// only pairs within 31 count; x's account posts once.
			images: []schema.ImageFingerprint{
				img("p1", "a", 0, "s1", baseHash[:], 100), img("px", "x", 1_000, "sx", flipped(baseHash, 20), 100),
				img("p2", "b", 2_000, "s2", flipped(baseHash, 40), 100),
				img("p3", "a", 100_000, "s3", far, 100), img("p4", "b", 101_000, "s4", far, 100),
			},
			signal: SignalNearImage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fps []schema.Fingerprint
			for _, im := range c.images {
				fps = append(fps, fp(im.PostID, im.AccountID, im.PostedAt-t0, 0))
			}
			p := DefaultParams()
			p.MinScore, p.MinAffinity = 0, 0
			if c.params != nil {
				c.params(p2(&p))
			}
			dir := t.TempDir()
			imgPath := filepath.Join(dir, "image_fingerprints.parquet")
			if _, err := pqio.WriteFile(imgPath, c.images); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			fpPath := writeFPs(t, fps)
			if _, err := Run(context.Background(), Input{FingerprintsPath: fpPath, ShingleSize: 3,
				ImageFingerprintsPath: imgPath}, p, out, nil); err != nil {
				t.Fatal(err)
			}
			// The partitioned path writes the same bytes, the rows'
			// accounts and times in memory or in a row file.
			for _, file := range []bool{false, true} {
				if file {
					forceRowFile(t)
				}
				parted := t.TempDir()
				if _, err := Run(context.Background(), Input{FingerprintsPath: fpPath, ShingleSize: 3,
					ImageFingerprintsPath: imgPath, Resources: Resources{Partitions: 3}}, p, parted, nil); err != nil {
					t.Fatal(err)
				}
				for _, table := range []string{schema.TableEdges, schema.TableEvidence, schema.TableClusters} {
					if string(readFile(t, filepath.Join(out, table+".parquet"))) != string(readFile(t, filepath.Join(parted, table+".parquet"))) {
						t.Errorf("%s: 3 partitions (row file %v) wrote other bytes", table, file)
					}
				}
			}
			edges, err := pqio.ReadAll[schema.Edge](filepath.Join(out, schema.TableEdges+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range edges {
				if e.Signal == c.signal {
					got = append(got, fmt.Sprintf("%s-%s %d", e.AccountA, e.AccountB, e.SharedItems))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s edges %v, want %v (all edges %v)", c.signal, got, c.want, edges)
			}
			ev, err := pqio.ReadAll[schema.Evidence](filepath.Join(out, schema.TableEvidence+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, e := range ev {
				if e.Signal == c.signal {
					keys = append(keys, e.ItemKey)
				}
			}
			if !slices.Equal(keys, c.wantKey) {
				t.Errorf("%s evidence keys %q, want %q", c.signal, keys, c.wantKey)
			}
		})
	}
}

// p2 returns p with its own copy of the image parameters, so that a case
// changes only its own.
func p2(p *Params) *Params {
	ip := *p.Images
	p.Images = &ip
	return p
}

func TestImageParams(t *testing.T) {
	cases := []struct {
		name string
		set  func(p *Params)
		want string
	}{
		{"distance below 0", func(p *Params) { p.Images.Distance = -1 }, "--image-distance"},
		{"distance above 64", func(p *Params) { p.Images.Distance = 65 }, "--image-distance"},
		{"quality above 100", func(p *Params) { p.Images.MinQuality = 101 }, "--image-min-quality"},
		{"quality below 0", func(p *Params) { p.Images.MinQuality = -1 }, "--image-min-quality"},
		{"image signal without parameters", func(p *Params) { p.Images = nil }, "co_image needs the image parameters"},
	}
	for _, c := range cases {
		p := DefaultParams()
		c.set(p2(&p))
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate = %v, want an error naming %s", c.name, err, c.want)
		}
	}
	w := WithoutImages(DefaultParams())
	if w.Images != nil || slices.ContainsFunc(w.Signals, IsImageSignal) || w.Validate() != nil {
		t.Errorf("WithoutImages(DefaultParams()) = %+v", w)
	}
	if d := DefaultParams(); !slices.Contains(d.Signals, SignalCoImage) || !slices.Contains(d.Signals, SignalNearImage) {
		t.Errorf("default signals %v lack the image signals", d.Signals)
	}
}

// TestImageSignalsSkippedWithoutTable: without image fingerprints the
// image signals are skipped and the outputs are those of a run without
// them.
func TestImageSignalsSkippedWithoutTable(t *testing.T) {
	fps := []schema.Fingerprint{fp("p1", "a", 0, 7), fp("p2", "b", 1000, 7), fp("p3", "a", 5000, 8), fp("p4", "b", 6000, 8)}
	path := writeFPs(t, fps)
	with, without := t.TempDir(), t.TempDir()
	in := Input{FingerprintsPath: path, ShingleSize: 3}
	if _, err := Run(context.Background(), in, DefaultParams(), with, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), in, WithoutImages(DefaultParams()), without, nil); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{schema.TableEdges, schema.TableEvidence, schema.TableClusters} {
		a := readFile(t, filepath.Join(with, table+".parquet"))
		b := readFile(t, filepath.Join(without, table+".parquet"))
		if string(a) != string(b) {
			t.Errorf("%s differs", table)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImageColumns checks that the image signals' columns are columns of
// schema.ImageFingerprint.
func TestImageColumns(t *testing.T) {
	cols := map[string]bool{}
	typ := reflect.TypeFor[schema.ImageFingerprint]()
	for i := range typ.NumField() {
		cols[strings.Split(typ.Field(i).Tag.Get("parquet"), ",")[0]] = true
	}
	for _, c := range []string{"post_id", "account_id", "posted_at", "media_key", "sha256", "pdq", "pdq_quality"} {
		if !cols[c] {
			t.Errorf("image_fingerprints has no column %q", c)
		}
	}
}
