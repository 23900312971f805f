// Package mediatest makes media fixtures for tests and benchmarks: photo-like
// JPEG scenes drawn with image/draw, their re-encodings and resizes, media
// zips in the 2019-2021 Twitter layout (<base>_hashed_001.zip holding
// <tweetid>-<mediakey>.jpg entries) and media tables written through pqio.
// It is not used by the pipeline itself.
package mediatest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	_ "image/gif" // DecodeConfig of GIF entries
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"strings"

	xdraw "golang.org/x/image/draw"

	"github.com/takedown-research/takedown/internal/schema"
)

// Scene draws a deterministic photo-like picture of w x h pixels from seed:
// a two-colour gradient, overlapping filled shapes and fine texture, so
// that its PDQ quality is high and two seeds give unrelated hashes.
func Scene(seed uint64, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c0 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	c1 := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	angle := rng.Float64() * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	for y := range h {
		for x := range w {
			t := (float64(x)/float64(w)*dx + float64(y)/float64(h)*dy + 1) / 2
			t = min(1, max(0, t))
			i := img.PixOffset(x, y)
			for k := range 3 {
				img.Pix[i+k] = uint8(c0[k]*(1-t) + c1[k]*t)
			}
			img.Pix[i+3] = 255
		}
	}
	shapes := 16 + rng.IntN(16)
	for range shapes {
		col := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		rx, ry := (0.03+rng.Float64()*0.15)*float64(w), (0.03+rng.Float64()*0.15)*float64(h)
		disc := rng.IntN(2) == 0
		for y := max(0, int(cy-ry)); y < min(h, int(cy+ry)); y++ {
			for x := max(0, int(cx-rx)); x < min(w, int(cx+rx)); x++ {
				if disc {
					u, v := (float64(x)-cx)/rx, (float64(y)-cy)/ry
					if u*u+v*v > 1 {
						continue
					}
				}
				i := img.PixOffset(x, y)
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = col.R, col.G, col.B
			}
		}
	}
	// Texture: a little noise, as a camera's.
	for i := 0; i < len(img.Pix); i += 4 {
		n := rng.IntN(9) - 4
		for k := range 3 {
			img.Pix[i+k] = uint8(min(255, max(0, int(img.Pix[i+k])+n)))
		}
	}
	return img
}

// JPEG encodes img as a baseline JPEG of the quality.
func JPEG(img image.Image, quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return b.Bytes()
}

// Resize scales img to w x h with Catmull-Rom interpolation.
func Resize(img image.Image, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(out, out.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	return out
}

// Variant is a re-share of a picture: decoded, optionally resized by
// scale, and encoded again at quality, as a platform or a user does.
func Variant(data []byte, scale float64, quality int) []byte {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		panic(err)
	}
	if scale != 1 {
		b := img.Bounds()
		img = Resize(img, int(float64(b.Dx())*scale), int(float64(b.Dy())*scale))
	}
	return JPEG(img, quality)
}

// File is one media file of a post.
type File struct {
	PostID, AccountID, MediaKey string
	// Ext is the entry's extension without the dot: jpg, gif, mp4.
	Ext  string
	Data []byte
}

// Entry is the file's name in a media zip: <tweetid>-<mediakey>.<ext>.
func (f File) Entry() string { return f.PostID + "-" + f.MediaKey + "." + f.Ext }

// Kind is the media kind the entry's extension gives.
func (f File) Kind() string {
	switch strings.ToLower(f.Ext) {
	case "jpg", "jpeg", "png", "webp":
		return schema.MediaImage
	case "gif":
		return schema.MediaGIF
	case "mp4", "mov":
		return schema.MediaVideo
	}
	return schema.MediaOther
}

// WriteZip writes files into the zip at p (stored entries, in the order
// given) and returns the media rows for them, archive named name (the
// path relative to the source folder, e.g. "ds_hashed_001.zip").
func WriteZip(p, dataset, name string, files []File) ([]schema.Media, error) {
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	zw := zip.NewWriter(f)
	var rows []schema.Media
	for _, m := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.Entry(), Method: zip.Store})
		if err != nil {
			f.Close()
			return nil, err
		}
		if _, err := w.Write(m.Data); err != nil {
			f.Close()
			return nil, err
		}
		sum := sha256.Sum256(m.Data)
		acc := m.AccountID
		row := schema.Media{Dataset: dataset, PostID: m.PostID, AccountID: &acc, MediaKey: m.MediaKey,
			Kind: m.Kind(), Archive: path.Clean(name), Entry: m.Entry(), Bytes: int64(len(m.Data)),
			SHA256: hex.EncodeToString(sum[:])}
		if m.AccountID == "" {
			row.AccountID = nil
		}
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(m.Data)); err == nil {
			w, h := int32(cfg.Width), int32(cfg.Height)
			row.Width, row.Height = &w, &h
		}
		rows = append(rows, row)
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return nil, err
	}
	return rows, f.Close()
}
