package summarize

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/mediatest"
	"github.com/takedown-research/takedown/internal/schema"
)

// imageFixture adds media to the fixture: in cluster c-bbb, a1, a2 and a3
// post near-duplicates of one picture (resized, re-encoded) and a1 and a2
// the same file of another; a1 alone posts a third. c-aaa's a4 and a5 post
// one picture each. It returns the summarize inputs with images.
func imageFixture(t testing.TB, dir string, f *fixture) ImageInput {
	t.Helper()
	pic := mediatest.JPEG(mediatest.Scene(41, 640, 480), 90)
	same := mediatest.JPEG(mediatest.Scene(42, 480, 640), 85)
	files := []mediatest.File{
		{PostID: "p1", AccountID: "a1", MediaKey: "3_1", Ext: "jpg", Data: pic},
		{PostID: "p2", AccountID: "a2", MediaKey: "3_2", Ext: "jpg", Data: mediatest.Variant(pic, 0.7, 70)},
		{PostID: "p3", AccountID: "a3", MediaKey: "3_3", Ext: "jpg", Data: mediatest.Variant(pic, 0.5, 80)},
		{PostID: "p4", AccountID: "a1", MediaKey: "3_4", Ext: "jpg", Data: same},
		{PostID: "p9", AccountID: "a2", MediaKey: "3_9", Ext: "jpg", Data: same},
		{PostID: "p6", AccountID: "a1", MediaKey: "3_6", Ext: "jpg", Data: mediatest.JPEG(mediatest.Scene(43, 300, 200), 85)},
		{PostID: "p5", AccountID: "a4", MediaKey: "3_5", Ext: "jpg", Data: mediatest.JPEG(mediatest.Scene(44, 300, 200), 85)},
		{PostID: "p8", AccountID: "a5", MediaKey: "3_8", Ext: "jpg", Data: mediatest.JPEG(mediatest.Scene(45, 300, 200), 85)},
	}
	name := "ds_hashed_001.zip"
	media, err := mediatest.WriteZip(filepath.Join(dir, name), "test/ds", name, files)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]int64{}
	for _, p := range f.posts {
		at[p.PostID] = p.PostedAt
	}
	var rows []schema.ImageFingerprint
	for i, m := range files {
		h, err := imagehash.Hash(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if h.Quality < imagehash.PDQMinQuality {
			t.Fatalf("%s: PDQ quality %d: the test picture is too plain", m.MediaKey, h.Quality)
		}
		rows = append(rows, schema.ImageFingerprint{PostID: m.PostID, AccountID: m.AccountID, PostedAt: at[m.PostID],
			MediaKey: m.MediaKey, SHA256: media[i].SHA256, PDQ: h.PDQ[:], PDQQuality: int32(h.Quality), DHash: h.DHash})
	}
	in := ImageInput{ImageFingerprintsPath: filepath.Join(dir, "image_fingerprints.parquet"),
		MediaPath: filepath.Join(dir, "media.parquet"), Archives: map[string]string{name: filepath.Join(dir, name)}}
	write(t.(*testing.T), in.ImageFingerprintsPath, rows)
	write(t.(*testing.T), in.MediaPath, media)
	return in
}

// ImagesHTML returns the report of the fixture with media (imageFixture):
// its image section has thumbnails.
func ImagesHTML(t *testing.T) []byte {
	t.Helper()
	f := newFixture()
	in := f.inputs(t)
	in.Images = imageFixture(t, t.TempDir(), f)
	_, out := run(t, in, DefaultParams())
	b, err := os.ReadFile(filepath.Join(out, HTMLReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var dataURI = regexp.MustCompile(`<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">`)

func TestReportImages(t *testing.T) {
	page := ImagesHTML(t)
	if len(page) > 5<<20 {
		t.Errorf("report is %d bytes, over 5 MiB", len(page))
	}
	s := string(page)
	i := strings.Index(s, `<h2 id="images">`)
	if i < 0 {
		t.Fatal("no image section")
	}
	thumbs := dataURI.FindAllStringSubmatch(s, -1)
	// c-bbb: the near-duplicate picture (3 accounts) then the same file (2);
	// a1's own picture and c-aaa's are posted by one account each.
	var alts []string
	for _, m := range thumbs {
		alts = append(alts, m[2])
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("thumbnail %s: %v", m[2], err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w > ThumbnailMax || h > ThumbnailMax || max(w, h) != ThumbnailMax {
			t.Errorf("thumbnail %s is %dx%d, want the longest side %d", m[2], w, h, ThumbnailMax)
		}
	}
	want := []string{"image 3_1 of post p1", "image 3_4 of post p4"}
	if strings.Join(alts, "|") != strings.Join(want, "|") {
		t.Errorf("thumbnails %q, want %q", alts, want)
	}
	for _, caption := range []string{"3 accounts, 3 posts, within", "2 accounts, 2 posts, within"} {
		if !strings.Contains(s[i:], caption) {
			t.Errorf("image section lacks %q", caption)
		}
	}

	// Without media the report has no image section and the same bytes.
	f := newFixture()
	in := f.inputs(t)
	_, out1 := run(t, in, DefaultParams())
	in.Images = ImageInput{}
	_, out2 := run(t, in, DefaultParams())
	a, _ := os.ReadFile(filepath.Join(out1, HTMLReportFile))
	b, _ := os.ReadFile(filepath.Join(out2, HTMLReportFile))
	if !bytes.Equal(a, b) || strings.Contains(string(a), `id="images"`) {
		t.Error("a report without media has an image section")
	}
}
