package cluster

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// SignalCoImage pairs accounts that post the same image file (identical
// bytes: image_fingerprints column sha256) within the window.
const SignalCoImage = "co_image"

// SignalNearImage pairs accounts whose images are near-duplicates: PDQ
// hashes within ImageParams.Distance bits of each other (image_fingerprints
// column pdq), both of PDQ quality at least ImageParams.MinQuality, posted
// within the window. Candidate pairs come from imagehash's multi-index
// self-join (imagehash.AllPairs, exact), not from comparing every pair.
const SignalNearImage = "near_image"

// ImageParams are the parameters of the image signals. Params.Images is nil
// when the fingerprint run has no image fingerprints (the runner removes
// the image signals then, so that such a run's parameters, hence its run
// id, are those of a stage without image signals).
type ImageParams struct {
	// Distance is the largest PDQ Hamming distance (of 256 bits), inclusive,
	// for two images to be near-duplicates: --image-distance, default 31
	// (imagehash.PDQMatchDistance, Meta's recommendation).
	Distance int `json:"distance"`
	// MinQuality is the PDQ quality (0-100) an image needs to take part in
	// near_image: --image-min-quality, default 50 (imagehash.PDQMinQuality;
	// Meta discards hashes of quality 49 and below, nearly featureless
	// images whose bits are noise). co_image does not use quality.
	MinQuality int `json:"min_quality"`
}

// DefaultImageParams returns the image signals' defaults.
func DefaultImageParams() *ImageParams {
	return &ImageParams{Distance: imagehash.PDQMatchDistance, MinQuality: imagehash.PDQMinQuality}
}

// maxImageDistance bounds --image-distance: a quarter of the bits. Beyond
// it unrelated pictures match (two random hashes are 128 bits apart, with
// a standard deviation of 8).
const maxImageDistance = 64

func (ip *ImageParams) validate() error {
	if ip.Distance < 0 || ip.Distance > maxImageDistance {
		return fmt.Errorf("--image-distance must be in [0, %d], got %d", maxImageDistance, ip.Distance)
	}
	if ip.MinQuality < 0 || ip.MinQuality > 100 {
		return fmt.Errorf("--image-min-quality must be in [0, 100], got %d", ip.MinQuality)
	}
	return nil
}

// IsImageSignal reports whether a signal reads the image fingerprints.
func IsImageSignal(s string) bool { return s == SignalCoImage || s == SignalNearImage }

// WithoutImages returns p without the image signals and their parameters:
// the parameters of a run whose fingerprint run has no image fingerprints.
func WithoutImages(p Params) Params {
	p.Signals = slices.DeleteFunc(slices.Clone(p.Signals), IsImageSignal)
	p.Images = nil
	return p
}

// imageData is what the image signals need of the image fingerprints:
// image j is post number base+j of data (its post id and time are in
// data.posts and data.times, so the sweep and the evidence treat it like a
// post; times holds the times while data.times is not held).
type imageData struct {
	base      uint32
	times     []int64
	mediaKeys []string
	pdq       [][4]uint64
	// rows, skipped: image fingerprints read, and those whose account has
	// no post in the fingerprints table.
	rows, skipped int64
	lowQuality    int64
	hashes        int64 // distinct PDQ hashes near_image indexed
	pairs         int64 // pairs of them within the distance
}

// loadImages reads the image fingerprints at path and adds the signals
// among signals (co_image, near_image) to d, in signal-name order with the
// others.
func (d *data) loadImages(ctx context.Context, path string, signals []string, p Params) error {
	rows, err := pqio.ReadAll[schema.ImageFingerprint](path)
	if err != nil {
		return err
	}
	im := &imageData{base: uint32(d.posts.len()), rows: int64(len(rows))}
	d.images = im
	type imgRow struct {
		acc  uint32
		post uint32
		row  int
		t    int64
	}
	var kept []imgRow
	for i, r := range rows {
		a, ok := d.accounts.search(r.AccountID)
		if r.PostID == "" || !ok || len(r.PDQ) != 32 {
			im.skipped++
			continue
		}
		post := d.posts.add(r.PostID)
		if d.times != nil {
			d.times = append(d.times, r.PostedAt)
		} else {
			im.times = append(im.times, r.PostedAt)
		}
		im.mediaKeys = append(im.mediaKeys, r.MediaKey)
		im.pdq = append(im.pdq, imagehash.PDQHash(r.PDQ).Words())
		kept = append(kept, imgRow{uint32(a), post, i, r.PostedAt})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, name := range signals {
		sd := &signalData{name: name}
		switch name {
		case SignalCoImage:
			// Items are the distinct digests, numbered in sorted order.
			count := map[string]int{}
			for _, k := range kept {
				count[rows[k.row].SHA256]++
			}
			var strs []string
			for s, n := range count {
				if n > 1 {
					strs = append(strs, s)
				}
			}
			slices.Sort(strs)
			sd.strs = newStrTable(strs)
			for _, k := range kept {
				s := rows[k.row].SHA256
				i, ok := slices.BinarySearch(strs, s)
				if !ok {
					sd.singletons++
					continue
				}
				sd.occ = append(sd.occ, occ{item: uint64(i), t: k.t, acc: k.acc, post: k.post})
			}
		case SignalNearImage:
			sd.numeric = true
			// Items are groups of near-duplicate hashes: the connected
			// components of the pairs within the distance among the
			// distinct hashes of quality >= MinQuality. The sweep then pairs
			// two posts of a group only when their own hashes are within
			// the distance (a chain a~b~c puts a and c in one group, it
			// does not make them near-duplicates).
			var words [][4]uint64
			var of []int // kept index of each qualifying image
			for j, k := range kept {
				if int(rows[k.row].PDQQuality) < p.Images.MinQuality {
					im.lowQuality++
					continue
				}
				words = append(words, im.pdq[k.post-im.base])
				of = append(of, j)
			}
			distinct := slices.Clone(words)
			slices.SortFunc(distinct, func(a, b [4]uint64) int { return slices.Compare(a[:], b[:]) })
			distinct = slices.Compact(distinct)
			im.hashes = int64(len(distinct))
			hashes := make([]imagehash.PDQHash, len(distinct))
			for i, w := range distinct {
				hashes[i] = fromWords(w)
			}
			pairs := imagehash.AllPairs(hashes, p.Images.Distance, 0)
			im.pairs = int64(len(pairs))
			parent := make([]int32, len(distinct))
			for i := range parent {
				parent[i] = int32(i)
			}
			var find func(x int32) int32
			find = func(x int32) int32 {
				for parent[x] != x {
					parent[x] = parent[parent[x]]
					x = parent[x]
				}
				return x
			}
			for _, pr := range pairs {
				a, b := find(int32(pr.A)), find(int32(pr.B))
				if a != b {
					parent[max(a, b)] = min(a, b) // a root is its group's smallest hash
				}
			}
			size := make([]int32, len(distinct))
			group := make([]int, len(words))
			for i, w := range words {
				h, _ := slices.BinarySearchFunc(distinct, w, func(a, b [4]uint64) int { return slices.Compare(a[:], b[:]) })
				group[i] = int(find(int32(h)))
				size[group[i]]++
			}
			for i, g := range group {
				if size[g] < 2 {
					sd.singletons++
					continue
				}
				k := kept[of[i]]
				sd.occ = append(sd.occ, occ{item: uint64(g), t: k.t, acc: k.acc, post: k.post})
			}
		default:
			return fmt.Errorf("internal: %s is not an image signal", name)
		}
		d.signals = append(d.signals, sd)
	}
	slices.SortStableFunc(d.signals, func(a, b *signalData) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return nil
}

// fromWords is the inverse of imagehash.PDQHash.Words.
func fromWords(w [4]uint64) imagehash.PDQHash {
	var h imagehash.PDQHash
	for i := range 4 {
		for k := range 8 {
			h[i*8+k] = byte(w[i] >> (56 - 8*k))
		}
	}
	return h
}

// imageDistance is the PDQ distance of two image post numbers.
func (d *data) imageDistance(a, b uint32) int {
	im := d.images
	x, y := &im.pdq[a-im.base], &im.pdq[b-im.base]
	n := 0
	for i := range 4 {
		n += bits.OnesCount64(x[i] ^ y[i])
	}
	return n
}

// evidenceKey is the item_key of an evidence row: for the image signals the
// two media keys and the PDQ distance of the pair, "<media_key_a>
// <media_key_b> <distance>" (space-separated; 0 for co_image's identical
// files), for the others the item's key (signalData.itemKey).
func (d *data) evidenceKey(sd *signalData, item uint64, postA, postB uint32) string {
	if IsImageSignal(sd.name) && d.images != nil && postA >= d.images.base && postB >= d.images.base {
		im := d.images
		return im.mediaKeys[postA-im.base] + " " + im.mediaKeys[postB-im.base] + " " + strconv.Itoa(d.imageDistance(postA, postB))
	}
	return sd.itemKey(item)
}

// sortImageEvidence orders each edge's evidence of an image signal by its
// item_key (evidenceKey), then post_a and post_b, the order of the evidence
// table: the keys name media, not the item numbers the sweep orders by.
func (d *data) sortImageEvidence(sd *signalData, edges []edge) {
	if !IsImageSignal(sd.name) || d.images == nil {
		return
	}
	for i := range edges {
		ev := edges[i].ev
		slices.SortFunc(ev, func(x, y cand) int {
			return cmp.Or(strings.Compare(d.evidenceKey(sd, x.item, x.postA, x.postB), d.evidenceKey(sd, y.item, y.postA, y.postB)),
				d.posts.cmp(x.postA, y.postA), d.posts.cmp(x.postB, y.postB))
		})
	}
}
