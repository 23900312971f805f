package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/mediatest"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// mediaFixture writes a posts table, two media zips in the 2019-2021
// layout and their media table into dir, and returns the stage's inputs.
func mediaFixture(t testing.TB, dir string, files [][]mediatest.File, posts []schema.Post) (string, ImageInput) {
	t.Helper()
	postsPath := filepath.Join(dir, "posts.parquet")
	if _, err := pqio.WriteFile(postsPath, posts); err != nil {
		t.Fatal(err)
	}
	in := ImageInput{MediaPath: filepath.Join(dir, "media.parquet"), Archives: map[string]string{}}
	var rows []schema.Media
	for i, fs := range files {
		name := "media/ds_hashed_00" + string(rune('1'+i)) + ".zip"
		p := filepath.Join(dir, filepath.Base(name))
		r, err := mediatest.WriteZip(p, "ds", name, fs)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
		in.Archives[name] = p
	}
	if _, err := pqio.WriteFile(in.MediaPath, rows); err != nil {
		t.Fatal(err)
	}
	return postsPath, in
}

func gifBytes(t testing.TB) []byte {
	pal := color.Palette{color.Black, color.White, color.RGBA{200, 30, 30, 255}}
	var frames []*image.Paletted
	for f := range 2 {
		p := image.NewPaletted(image.Rect(0, 0, 120, 90), pal)
		for y := range 90 {
			for x := range 120 {
				p.SetColorIndex(x, y, uint8((x/(10+f*7)+y/9)%3))
			}
		}
		frames = append(frames, p)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: frames, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFingerprintImages(t *testing.T) {
	photo := mediatest.JPEG(mediatest.Scene(1, 400, 300), 85)
	other := mediatest.JPEG(mediatest.Scene(2, 640, 512), 85) // large enough for the fast route
	anim := gifBytes(t)
	posts := []schema.Post{
		{Dataset: "ds", PostID: "10", AccountID: "a", PostedAt: 1000},
		{Dataset: "ds", PostID: "11", AccountID: "b", PostedAt: 2000},
		{Dataset: "ds", PostID: "12", AccountID: "c", PostedAt: 3000},
	}
	files := [][]mediatest.File{
		{
			{PostID: "10", AccountID: "a", MediaKey: "3_100", Ext: "jpg", Data: photo},
			{PostID: "10", AccountID: "a", MediaKey: "7_101", Ext: "mp4", Data: []byte("not hashed")},
			{PostID: "11", AccountID: "b", MediaKey: "3_110", Ext: "jpg", Data: photo[:len(photo)/2]},
			{PostID: "11", AccountID: "b", MediaKey: "16_111", Ext: "gif", Data: anim},
		},
		{
			{PostID: "12", AccountID: "c", MediaKey: "3_120", Ext: "jpg", Data: other},
			{PostID: "99", AccountID: "", MediaKey: "3_990", Ext: "jpg", Data: other},
		},
	}
	dir := t.TempDir()
	postsPath, in := mediaFixture(t, dir, files, posts)
	type want struct {
		post, account, key string
		at                 int64
		data               []byte
	}
	wants := []want{
		{"10", "a", "3_100", 1000, photo},
		{"11", "b", "16_111", 2000, anim},
		{"12", "c", "3_120", 3000, other},
	}
	for _, route := range []imagehash.Route{imagehash.Exact, imagehash.Fast} {
		var first []byte
		for _, procs := range []int{1, 2, 4} {
			t.Run(route.String()+"/GOMAXPROCS="+string(rune('0'+procs)), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				out := t.TempDir()
				st, err := fingerprintImages(context.Background(), in, postsPath, out, route, nil)
				if err != nil {
					t.Fatal(err)
				}
				wantFast := int64(0)
				if route == imagehash.Fast {
					wantFast = 1 // other; photo is under imagehash.FastMinSide
				}
				if st.Media != 6 || st.Images != 3 || st.Videos != 1 || st.Orphans != 1 || st.Undecodable["truncated"] != 1 ||
					st.FastDecoded != wantFast {
					t.Errorf("stats %+v", st)
				}
				path := filepath.Join(out, schema.TableImageFingerprints+".parquet")
				rows, err := pqio.ReadAll[schema.ImageFingerprint](path)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(wants) {
					t.Fatalf("%d rows, want %d", len(rows), len(wants))
				}
				for i, w := range wants {
					r := rows[i]
					h, err := imagehash.HashWith(w.data, imagehash.Options{Decode: route})
					if err != nil {
						t.Fatal(err)
					}
					sum := sha256.Sum256(w.data)
					if r.PostID != w.post || r.AccountID != w.account || r.MediaKey != w.key || r.PostedAt != w.at ||
						r.SHA256 != hex.EncodeToString(sum[:]) || !bytes.Equal(r.PDQ, h.PDQ[:]) ||
						int(r.PDQQuality) != h.Quality || r.DHash != h.DHash {
						t.Errorf("row %d = %+v, want %+v with hashes %+v", i, r, w.key, h)
					}
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = b
				} else if !bytes.Equal(first, b) {
					t.Errorf("GOMAXPROCS=%d wrote other bytes", procs)
				}
			})
		}
	}
}

func TestFingerprintImagesErrors(t *testing.T) {
	photo := mediatest.JPEG(mediatest.Scene(1, 64, 48), 85)
	posts := []schema.Post{{Dataset: "ds", PostID: "10", AccountID: "a", PostedAt: 1000}}
	files := [][]mediatest.File{{{PostID: "10", AccountID: "a", MediaKey: "3_100", Ext: "jpg", Data: photo}}}
	cases := []struct {
		name   string
		break_ func(in *ImageInput)
		want   string
	}{
		{"archive not among the sources", func(in *ImageInput) { in.Archives = map[string]string{} }, "not among the normalize run's source files"},
		{"archive is not a zip", func(in *ImageInput) {
			for k, p := range in.Archives {
				os.WriteFile(p, []byte("not a zip"), 0o644)
				in.Archives[k] = p
			}
		}, "media archive media/ds_hashed_001.zip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			postsPath, in := mediaFixture(t, dir, files, posts)
			c.break_(&in)
			_, err := fingerprintImages(context.Background(), in, postsPath, t.TempDir(), imagehash.Fast, nil)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}
