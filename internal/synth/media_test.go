package synth

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/takedown-research/takedown/internal/imagehash"
)

func mediaConfig() Config {
	cfg := DefaultConfig()
	cfg.Accounts, cfg.Posts, cfg.Campaign = 200, 2000, "mtest"
	cfg.Media = DefaultMedia()
	return cfg
}

func writeAll(t *testing.T, cfg Config, procs int) (string, []File) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	dir := t.TempDir()
	files, err := Write(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestMediaArchives(t *testing.T) {
	cfg := mediaConfig()
	start := time.Now()
	dir, files := writeAll(t, cfg, 4)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("generation took %v; it must stay fast for tests", d)
	}
	var media []string
	for _, f := range files {
		if f.Role == RoleMedia {
			media = append(media, f.Name)
		}
	}
	if want := []string{"mtest_hashed_001.zip", "mtest_hashed_002.zip"}; strings.Join(media, ",") != strings.Join(want, ",") {
		t.Fatalf("media files %v, want %v", media, want)
	}
	// Every entry is "<tweetid>-<key>.<ext>" of a tweet of the tweets file.
	tweets := tweetIDs(t, filepath.Join(dir, "mtest_tweets_csv_hashed.zip"))
	kinds := map[string]int{}
	sizes := map[string]bool{}
	for _, name := range media {
		zr, err := zip.OpenReader(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			id, _, ok := strings.Cut(f.Name, "-")
			if !ok || !tweets[id] {
				t.Errorf("%s: entry %s names no tweet of the tweets file", name, f.Name)
			}
			ext := filepath.Ext(f.Name)
			kinds[ext]++
			if ext == ".mp4" {
				continue
			}
			rc, _ := f.Open()
			cfgImg, format, err := image.DecodeConfig(rc)
			rc.Close()
			if err != nil {
				t.Errorf("%s: %s does not decode: %v", name, f.Name, err)
				continue
			}
			if want := map[string]string{".jpg": "jpeg", ".png": "png", ".gif": "gif"}[ext]; format != want {
				t.Errorf("%s is %s", f.Name, format)
			}
			sizes[strconv.Itoa(cfgImg.Width)+"x"+strconv.Itoa(cfgImg.Height)] = true
		}
		zr.Close()
	}
	if kinds[".jpg"] == 0 || kinds[".png"] == 0 {
		t.Errorf("kinds of files: %v", kinds)
	}
	if len(sizes) < 10 {
		t.Errorf("only %d distinct image sizes: edits and families missing?", len(sizes))
	}
	// The truth names the image-only squads, with co_image only.
	truth := readTruthRows(t, filepath.Join(dir, "mtest_truth.csv"))
	imageOnly, withText := map[string]bool{}, 0
	for _, rec := range truth {
		switch {
		case strings.HasPrefix(rec[1], "image-squad-"):
			if rec[3] != "co_image" {
				t.Errorf("image squad %s has behaviours %q", rec[1], rec[3])
			}
			imageOnly[rec[1]] = true
		case strings.Contains(rec[3], "co_image"):
			withText++
		}
	}
	if len(imageOnly) != cfg.Media.ImageSquads || withText == 0 {
		t.Errorf("%d image-only squads (want %d), %d members of text squads sharing images", len(imageOnly), cfg.Media.ImageSquads, withText)
	}
}

func TestMediaDeterministic(t *testing.T) {
	cfg := mediaConfig()
	d1, files := writeAll(t, cfg, 1)
	d4, _ := writeAll(t, cfg, 4)
	for _, f := range files {
		a, _ := os.ReadFile(filepath.Join(d1, f.Name))
		b, _ := os.ReadFile(filepath.Join(d4, f.Name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between GOMAXPROCS 1 and 4", f.Name)
		}
	}
}

// TestNoMediaUnchanged checks that the zero MediaConfig leaves the JSON
// form of a config as it was.
func TestNoMediaUnchanged(t *testing.T) {
	if names := FileNames(DefaultConfig()); len(names) != 3 {
		t.Errorf("default config writes %d files", len(names))
	}
	cfg := DefaultConfig()
	cfg.Media = MediaConfig{Archives: 1, ImageShare: 2}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "media.image_share") {
		t.Errorf("Validate = %v, want a media.image_share error", err)
	}
}

func tweetIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, rec := range recs[1:] {
		out[rec[0]] = true
	}
	return out
}

func readTruthRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:]
}

// TestWriteExceptMedia: leaving the media out writes the other files with
// the same bytes.
func TestWriteExceptMedia(t *testing.T) {
	cfg := mediaConfig()
	all, files := writeAll(t, cfg, 2)
	dir := t.TempDir()
	kept, err := WriteExcept(context.Background(), cfg, dir, func(f File) bool { return f.Role == RoleMedia })
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != len(files)-cfg.Media.Archives {
		t.Fatalf("%d files kept of %d", len(kept), len(files))
	}
	for _, f := range kept {
		a, _ := os.ReadFile(filepath.Join(all, f.Name))
		b, _ := os.ReadFile(filepath.Join(dir, f.Name))
		if f.Role == RoleMedia || !bytes.Equal(a, b) {
			t.Errorf("%s (%s) differs or is media", f.Name, f.Role)
		}
	}
}

// TestEditedCopiesNearBase checks the copy model of docs/synth.md#media: a
// re-shared copy is a re-encode of the image, and editShare of them carry
// one edit, so most copies stay within PDQ's match distance of the base
// (the near_image signal finds them) and the edits that PDQ does not
// tolerate (caption bars, crops of a few percent) make the rest.
func TestEditedCopiesNearBase(t *testing.T) {
	const families = 120
	near, plain, plainNear := 0, 0, 0
	for f := uint64(1); f <= families; f++ {
		base := hashOf(t, &mediaItem{family: f*7919 + 1})
		it := &mediaItem{family: f*7919 + 1, variant: f*31 + 7}
		d := imagehash.PDQDistance(base, hashOf(t, it))
		if d <= imagehash.PDQMatchDistance {
			near++
		}
		if !edited(it.variant) {
			plain++
			if d <= 16 {
				plainNear++
			}
		}
	}
	t.Logf("%d of %d copies within %d of the base; %d of %d re-encodes within 16", near, families, imagehash.PDQMatchDistance, plainNear, plain)
	if share := float64(near) / families; share < 0.8 || share > 0.98 {
		t.Errorf("%.2f of the copies within PDQ distance %d of the base, want 0.80-0.98", share, imagehash.PDQMatchDistance)
	}
	if plain < families/2 || plainNear != plain {
		t.Errorf("%d of %d unedited re-encodes within distance 16 of the base (%d families)", plainNear, plain, families)
	}
}

// edited says whether the copy drawn from seed carries an edit (edit's
// first draws).
func edited(seed uint64) bool {
	r := rand.New(rand.NewPCG(seed, 0x65646974))
	r.IntN(26)
	return r.Float64() < editShare
}

func hashOf(t *testing.T, it *mediaItem) imagehash.PDQHash {
	t.Helper()
	data, err := renderMedia(it)
	if err != nil {
		t.Fatal(err)
	}
	h, err := imagehash.Hash(data)
	if err != nil {
		t.Fatal(err)
	}
	return h.PDQ
}
