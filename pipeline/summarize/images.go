package summarize

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"strings"

	xdraw "golang.org/x/image/draw"

	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// ImageInput names the media tables the report shows images from: the
// image fingerprints of the fingerprint run, the media table of the
// normalize run and the files holding the archives it names. All empty
// when the release has no media: the report then has no image section and
// is the same as without this input.
type ImageInput struct {
	ImageFingerprintsPath string
	MediaPath             string
	// Archives maps a media row's Archive to the file holding its bytes.
	Archives map[string]string
}

// Bounds of the report's image section.
const (
	// reportImageClusters is how many of the largest clusters show images.
	reportImageClusters = 5
	// reportImagesPerCluster is how many images each shows, most shared
	// first.
	reportImagesPerCluster = 4
	// ThumbnailMax is the longest side of a thumbnail, in pixels.
	ThumbnailMax = 128
	// thumbnailQuality is the JPEG quality of the thumbnails (a 128x96
	// thumbnail is 3-6 KB, 4-8 KB as a data URI).
	thumbnailQuality = 75
)

// sharedImage is one picture posted in a cluster: the cluster's posts of
// the same file or of near-duplicates (PDQ within
// imagehash.PDQMatchDistance of one of them).
type sharedImage struct {
	accounts    int64
	posts       int64
	first, last int64  // posted_at of the first and last post
	postID      string // the first post, whose file is shown
	mediaKey    string
	thumb       string // data URI, "" when the file could not be read
}

// clusterImages finds, for each of the largest clusters, the images its
// members posted most widely, and makes their thumbnails. Reading is
// bounded by the members' images: the image fingerprints are streamed and
// only the rows of members of the shown clusters kept.
func (s *state) clusterImages(r *results) (map[string][]sharedImage, error) {
	in := s.in.Images
	if in.ImageFingerprintsPath == "" {
		return nil, nil
	}
	shown := r.clusters[:min(len(r.clusters), reportImageClusters)]
	clusterOf := map[string]string{}
	for _, v := range shown {
		for _, m := range v.c.members {
			clusterOf[m.id] = v.c.id
		}
	}
	rows := map[string][]schema.ImageFingerprint{}
	err := pqio.Each(in.ImageFingerprintsPath, func(batch []schema.ImageFingerprint) error {
		for _, f := range batch {
			if c, ok := clusterOf[f.AccountID]; ok {
				f.PDQ = slices.Clone(f.PDQ)
				f.PostID, f.AccountID, f.MediaKey, f.SHA256 = strings.Clone(f.PostID), strings.Clone(f.AccountID), strings.Clone(f.MediaKey), strings.Clone(f.SHA256)
				rows[c] = append(rows[c], f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]sharedImage{}
	want := map[[2]string]*sharedImage{} // (post id, media key) -> image to thumbnail
	for _, v := range shown {
		imgs := groupImages(rows[v.c.id])
		if len(imgs) == 0 {
			continue
		}
		imgs = imgs[:min(len(imgs), reportImagesPerCluster)]
		out[v.c.id] = imgs
		for i := range imgs {
			want[[2]string{imgs[i].postID, imgs[i].mediaKey}] = &imgs[i]
		}
	}
	if len(want) == 0 || in.MediaPath == "" {
		return out, nil
	}
	// Find the files in the media table, then read them archive by
	// archive.
	type file struct{ archive, entry string }
	files := map[[2]string]file{}
	err = pqio.Each(in.MediaPath, func(batch []schema.Media) error {
		for _, m := range batch {
			k := [2]string{m.PostID, m.MediaKey}
			if _, ok := want[k]; ok {
				files[[2]string{strings.Clone(k[0]), strings.Clone(k[1])}] = file{strings.Clone(m.Archive), strings.Clone(m.Entry)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([][2]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		fa, fb := files[a], files[b]
		return cmp.Or(strings.Compare(fa.archive, fb.archive), strings.Compare(fa.entry, fb.entry))
	})
	var z *archive.Zip
	open := ""
	defer func() {
		if z != nil {
			z.Close()
		}
	}()
	for _, k := range keys {
		f := files[k]
		if f.archive != open {
			if z != nil {
				z.Close()
				z = nil
			}
			open = f.archive
			p, ok := in.Archives[f.archive]
			if !ok {
				continue
			}
			if z, err = archive.OpenZip(p, archive.DefaultLimits()); err != nil {
				return nil, fmt.Errorf("media archive %s: %w", f.archive, err)
			}
		}
		if z == nil {
			continue
		}
		rc, err := z.Open(f.entry)
		if err != nil {
			return nil, fmt.Errorf("media archive %s: %w", f.archive, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("media archive %s, entry %s: %w", f.archive, f.entry, err)
		}
		want[k].thumb = thumbnail(data)
	}
	return out, nil
}

// groupImages groups a cluster's image rows into pictures: rows of the
// same file, or whose PDQ hashes (of quality >= imagehash.PDQMinQuality)
// are within imagehash.PDQMatchDistance, joined transitively. Pictures are
// ordered by accounts, then posts (descending), then first post time and
// post id; pictures posted by one account only are left out.
func groupImages(rows []schema.ImageFingerprint) []sharedImage {
	slices.SortFunc(rows, func(a, b schema.ImageFingerprint) int {
		return cmp.Or(cmp.Compare(a.PostedAt, b.PostedAt), strings.Compare(a.PostID, b.PostID), strings.Compare(a.MediaKey, b.MediaKey))
	})
	parent := make([]int, len(rows))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int) {
		a, b = find(a), find(b)
		if a != b {
			parent[max(a, b)] = min(a, b)
		}
	}
	bySum := map[string]int{}
	var hashes []imagehash.PDQHash
	var of []int
	for i, r := range rows {
		if j, ok := bySum[r.SHA256]; ok {
			union(i, j)
		} else {
			bySum[r.SHA256] = i
		}
		if int(r.PDQQuality) >= imagehash.PDQMinQuality && len(r.PDQ) == 32 {
			hashes = append(hashes, imagehash.PDQHash(r.PDQ))
			of = append(of, i)
		}
	}
	for _, p := range imagehash.AllPairs(hashes, imagehash.PDQMatchDistance, 1) {
		union(of[p.A], of[p.B])
	}
	groups := map[int]*sharedImage{}
	accounts := map[int]map[string]bool{}
	var order []int
	for i, r := range rows {
		g := find(i)
		si, ok := groups[g]
		if !ok {
			// rows are in time order: the root's first row is the first post.
			si = &sharedImage{first: r.PostedAt, postID: r.PostID, mediaKey: r.MediaKey}
			groups[g] = si
			accounts[g] = map[string]bool{}
			order = append(order, g)
		}
		si.posts++
		si.last = r.PostedAt
		accounts[g][r.AccountID] = true
	}
	var out []sharedImage
	for _, g := range order {
		si := groups[g]
		si.accounts = int64(len(accounts[g]))
		if si.accounts >= 2 {
			out = append(out, *si)
		}
	}
	slices.SortStableFunc(out, func(a, b sharedImage) int {
		return cmp.Or(cmp.Compare(b.accounts, a.accounts), cmp.Compare(b.posts, a.posts),
			cmp.Compare(a.first, b.first), strings.Compare(a.postID, b.postID))
	})
	return out
}

// thumbnail decodes an image (imagehash.Decode: JPEG, PNG, GIF's first
// frame, WebP, with its pixel bound) and returns it scaled to at most
// ThumbnailMax pixels a side as a JPEG data URI; "" when it does not
// decode.
func thumbnail(data []byte) string {
	img, _, err := imagehash.Decode(data, imagehash.Options{})
	if err != nil {
		return ""
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbnailMax || h > ThumbnailMax {
		if w >= h {
			w, h = ThumbnailMax, max(1, h*ThumbnailMax/w)
		} else {
			w, h = max(1, w*ThumbnailMax/h), ThumbnailMax
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbnailQuality}); err != nil {
		return ""
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// htmlImages writes the report's section of shared images; nothing when
// the release has no image fingerprints.
func (s *state) htmlImages(b *strings.Builder, r *results) {
	if s.in.Images.ImageFingerprintsPath == "" {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("<h2 id=\"images\">Images shared in the largest clusters</h2>\n")
	w("<p>For each of the %d largest clusters, the pictures most of its accounts posted: the same file, "+
		"or near-duplicates (PDQ hashes within %d bits, e.g. re-encoded or resized copies). "+
		"Each shows the first post's file, at most %d pixels a side.</p>\n",
		reportImageClusters, imagehash.PDQMatchDistance, ThumbnailMax)
	any := false
	for _, v := range r.clusters[:min(len(r.clusters), reportImageClusters)] {
		imgs := s.images[v.c.id]
		if len(imgs) == 0 {
			continue
		}
		any = true
		w("<h3>Cluster <code>%s</code> (%s accounts)</h3>\n<div class=\"thumbs\" style=\"display:flex;flex-wrap:wrap;gap:12px\">\n", esc(v.c.id), num(v.row.Size))
		for _, im := range imgs {
			w("<figure style=\"margin:0;width:%dpx;font-size:12px\">", ThumbnailMax+16)
			if im.thumb != "" {
				w("<img src=\"%s\" alt=\"image %s of post %s\">", im.thumb, esc(im.mediaKey), esc(im.postID))
			} else {
				w("<span class=\"nothumb\">(file not readable)</span>")
			}
			w("<figcaption>%s accounts, %s posts, within %s<br><code>%s</code></figcaption></figure>\n",
				num(im.accounts), num(im.posts), span(im.last-im.first), esc(im.mediaKey))
		}
		w("</div>\n")
	}
	if !any {
		w("<p>No picture was posted by two accounts of one of these clusters.</p>\n")
	}
}

// span renders a duration in milliseconds: seconds, minutes, hours or days.
func span(ms int64) string {
	switch {
	case ms < 60_000:
		return fmt.Sprintf("%d s", ms/1000)
	case ms < 3_600_000:
		return fmt.Sprintf("%d min", ms/60_000)
	case ms < 2*86_400_000:
		return fmt.Sprintf("%.1f h", float64(ms)/3_600_000)
	}
	return fmt.Sprintf("%.1f days", float64(ms)/86_400_000)
}
