package synth

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// MediaConfig asks for media archives in the 2019-2021 release layout
// (<campaign>_hashed_001.zip ...). The zero value writes none.
type MediaConfig struct {
	// Archives is the number of media zips (0: no media).
	Archives int `json:"archives"`
	// ImageShare is the share of organic posts that carry their own image.
	ImageShare float64 `json:"image_share"`
	// SquadImageShare is the share of the text squads' actions whose posts
	// also carry edited copies of one image.
	SquadImageShare float64 `json:"squad_image_share"`
	// ImageSquads is the number of squads that share only images: their
	// posts have no common text, links or hashtags.
	ImageSquads int `json:"image_squads"`
	// ImageSquadActions is the number of image posts of each member of an
	// image-only squad; 0 (the default): as many as a text squad member's
	// coordinated posts, at least 8.
	ImageSquadActions int `json:"image_squad_actions,omitempty"`
	// Memes is the number of viral images that many organic accounts post
	// within a day or two (hard negatives for the image signals), times the
	// config's viral factor.
	Memes int `json:"memes"`
}

// DefaultMedia is the media of `takedown synth --media`.
func DefaultMedia() MediaConfig {
	return MediaConfig{Archives: 2, ImageShare: 0.03, SquadImageShare: 0.3, ImageSquads: 3, Memes: 3}
}

func (m MediaConfig) enabled() bool { return m.Archives > 0 }

func (m MediaConfig) validate() error {
	if m == (MediaConfig{}) {
		return nil
	}
	switch {
	case m.Archives < 1 || m.Archives > 999:
		return fmt.Errorf("media.archives must be between 1 and 999, got %d", m.Archives)
	case !(m.ImageShare >= 0 && m.ImageShare <= 1):
		return fmt.Errorf("media.image_share must be between 0 and 1, got %v", m.ImageShare)
	case !(m.SquadImageShare >= 0 && m.SquadImageShare <= 1):
		return fmt.Errorf("media.squad_image_share must be between 0 and 1, got %v", m.SquadImageShare)
	case m.ImageSquads < 0 || m.ImageSquads > 100:
		return fmt.Errorf("media.image_squads must be between 0 and 100, got %d", m.ImageSquads)
	case m.ImageSquadActions < 0 || m.ImageSquadActions > 10000:
		return fmt.Errorf("media.image_squad_actions must be between 0 and 10000, got %d", m.ImageSquadActions)
	case m.Memes < 0 || m.Memes > 100:
		return fmt.Errorf("media.memes must be between 0 and 100, got %d", m.Memes)
	}
	return nil
}

// RoleMedia is the role of the media archives.
const RoleMedia = "media"

// behImage is the truth behaviour of squads sharing images: after the
// text behaviours, so that their draw is unchanged.
const behImage = numBehaviours

// Media file kinds of the generator.
const (
	mJPEG uint8 = iota
	mPNG
	mGIF
	mVideo
)

// mediaItem is one media file of a post: a variant of an image family.
type mediaItem struct {
	rec     int32
	family  uint64 // seed of the drawn base image
	variant uint64 // seed of the edits; 0: the base image itself
	kind    uint8
	key     string
}

// imageSquadActions is the least number of image posts of each member of
// an image-only squad; imageActions gives the number.
const imageSquadActions = 8

// imageActions is the number of image posts of each member of an
// image-only squad: media.image_squad_actions when set, else as many coordinated posts as a text squad member
// makes (planPosts gives the text squads three quarters of their share
// of the posts, 0.75 x posts/accounts each), at least imageSquadActions.
func (p *plan) imageActions() int {
	if n := p.cfg.Media.ImageSquadActions; n > 0 {
		return n
	}
	return max(imageSquadActions, int(math.Round(0.75*float64(p.cfg.Posts)/float64(p.cfg.Accounts))))
}

// planImageSquads turns some organic accounts into squads that share only
// images: a few times, the members each post their own organic text within
// seconds, with edited copies of one image. It runs before the viral and
// organic posts are planned.
func (p *plan) planImageSquads() {
	m := p.cfg.Media
	if m.ImageSquads == 0 {
		return
	}
	r := phaseRNG(p.cfg.Seed, 20)
	var cands []int32
	for i := range p.accts {
		if p.accts[i].role == roleOrganic && p.accts[i].squad < 0 {
			cands = append(cands, int32(i))
		}
	}
	r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	for k := 0; k < m.ImageSquads; k++ {
		size := 3 + r.IntN(4)
		if len(cands) < size+10 {
			break
		}
		members := slices.Clone(cands[:size])
		cands = cands[size:]
		si := int32(len(p.squads))
		s := squad{name: fmt.Sprintf("image-squad-%02d", k+1), members: members, nOrig: 1,
			behaviours: []int{behImage}, peak: r.IntN(24)}
		for j, a := range members {
			p.accts[a].squad = si
			p.accts[a].role = roleAmplifier
			if j == 0 {
				p.accts[a].role = roleOriginator
			}
		}
		p.squads = append(p.squads, s)
		for act := 0; act < p.imageActions(); act++ {
			day := int64(r.IntN(p.cfg.Days))
			t := p.startMs + day*msDay + int64((s.peak+r.IntN(5)+22)%24)*msHour + r.Int64N(msHour)
			t = min(t, p.endMs-msHour)
			family := r.Uint64() | 1
			for j, a := range members {
				ms := t
				if j > 0 {
					ms = p.within(t, delaySquad(r, 20))
				}
				i := p.addC(r, ms, a, kOwn, -1, -1)
				p.media = append(p.media, mediaItem{rec: i, family: family, variant: variantSeed(r, j)})
			}
		}
	}
}

// variantSeed is 0 (the base image) for the first sharer, else an edit.
func variantSeed(r *rand.Rand, j int) uint64 {
	if j == 0 {
		return 0
	}
	return r.Uint64() | 1
}

// planMedia attaches media to the planned posts, once they all exist:
// edited copies of one image to a share of the text squads' actions, viral
// memes to organic posts in a day or two, unique images (and a few GIFs
// and videos) to a share of the organic posts.
func (p *plan) planMedia() {
	m := p.cfg.Media
	r := phaseRNG(p.cfg.Seed, 21)
	// Text squads: group the coordinated posts of each action.
	byAction := map[int32][]int32{}
	for i := range p.recs {
		rc := &p.recs[i]
		if rc.coord && rc.ev >= 0 && (rc.kind == kCopy || rc.kind == kPara || rc.kind == kLink || rc.kind == kHashSeq) {
			byAction[rc.ev] = append(byAction[rc.ev], int32(i))
		}
	}
	for ai := range p.actions {
		recs := byAction[int32(ai)]
		if len(recs) < 2 || r.Float64() >= m.SquadImageShare {
			continue
		}
		family := r.Uint64() | 1
		for j, i := range recs {
			p.media = append(p.media, mediaItem{rec: i, family: family, variant: variantSeed(r, j)})
		}
		s := &p.squads[p.actions[ai].squad]
		if !slices.Contains(s.behaviours, behImage) {
			s.behaviours = append(s.behaviours, behImage)
		}
	}
	// Organic posts, by time.
	var organic []int32
	for i := range p.recs {
		rc := &p.recs[i]
		if rc.kind == kOwn && !rc.coord && p.accts[rc.acct].role == roleOrganic {
			organic = append(organic, int32(i))
		}
	}
	slices.SortFunc(organic, func(a, b int32) int { return cmpInt64(p.timeKeyMs(a), p.timeKeyMs(b)) })
	taken := map[int32]bool{}
	// viral_factor multiplies the memes like the other viral activity.
	memes := int(math.Round(float64(m.Memes) * p.cfg.ViralFactor))
	for k := 0; k < memes && len(organic) > 0; k++ {
		family := r.Uint64() | 1
		start := r.IntN(len(organic))
		t0 := p.recs[organic[start]].ms
		n := 15 + r.IntN(30)
		seen := map[int32]bool{}
		for j := start; j < len(organic) && n > 0 && p.recs[organic[j]].ms < t0+2*msDay; j++ {
			i := organic[j]
			if taken[i] || seen[p.recs[i].acct] || r.IntN(3) > 0 {
				continue
			}
			seen[p.recs[i].acct], taken[i] = true, true
			v := uint64(0)
			if r.IntN(3) == 0 { // most repost the meme as it is
				v = r.Uint64() | 1
			}
			p.media = append(p.media, mediaItem{rec: i, family: family, variant: v})
			n--
		}
	}
	for _, i := range organic {
		if taken[i] || r.Float64() >= m.ImageShare {
			continue
		}
		it := mediaItem{rec: i, family: r.Uint64() | 1}
		switch x := r.IntN(100); {
		case x < 4:
			it.kind = mVideo
		case x < 8:
			it.kind = mGIF
		case x < 30:
			it.kind = mPNG
		}
		p.media = append(p.media, it)
	}
	for k := range p.media {
		p.media[k].key = randKey(r)
	}
}

func (p *plan) timeKeyMs(i int32) int64 { return p.recs[i].ms }

const keyChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// randKey is a media key like the archives' (15 characters).
func randKey(r *rand.Rand) string {
	b := make([]byte, 15)
	for i := range b {
		b[i] = keyChars[r.IntN(len(keyChars))]
	}
	return string(b)
}

// mediaFileNames are the media zips of cfg.
func mediaFileNames(cfg Config) []File {
	var out []File
	for k := 1; k <= cfg.Media.Archives; k++ {
		out = append(out, File{Name: fmt.Sprintf("%s_hashed_%03d.zip", cfg.Campaign, k), Role: RoleMedia, part: k})
	}
	return out
}

// entryName is the media file's name in its zip: "<tweetid>-<mediakey>.ext".
func (p *plan) entryName(it *mediaItem) string {
	ext := ".jpg"
	switch it.kind {
	case mPNG:
		ext = ".png"
	case mGIF:
		ext = ".gif"
	case mVideo:
		ext = ".mp4"
	}
	return fmt.Sprintf("%d-%s%s", p.recs[it.rec].id, it.key, ext)
}

// writeMedia writes the media zips: entries sorted by name, split into
// consecutive runs, one per archive. The files are drawn in parallel, each
// from its own seeds, so the bytes do not depend on the workers.
func (p *plan) writeMedia(ctx context.Context, dir string, files []File) error {
	type entry struct {
		name string
		it   *mediaItem
	}
	entries := make([]entry, len(p.media))
	for k := range p.media {
		entries[k] = entry{p.entryName(&p.media[k]), &p.media[k]}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	data := make([][]byte, len(entries))
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				if errs[w] == nil {
					data[k], errs[w] = renderMedia(entries[k].it)
				}
			}
		}()
	}
	for k := range entries {
		if ctx.Err() != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("synth media: %w", err)
		}
	}
	n := len(files)
	for a, f := range files {
		lo, hi := a*len(entries)/n, (a+1)*len(entries)/n
		zf, err := os.Create(dir + string(os.PathSeparator) + f.Name)
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(zf)
		zw := zip.NewWriter(bw)
		for k := lo; k < hi; k++ {
			method := zip.Store // images and videos do not compress
			w, err := zw.CreateHeader(&zip.FileHeader{Name: entries[k].name, Method: method, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err == nil {
				_, err = w.Write(data[k])
			}
			if err != nil {
				zf.Close()
				return fmt.Errorf("write %s: %w", f.Name, err)
			}
		}
		if err := zw.Close(); err != nil {
			zf.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			zf.Close()
			return err
		}
		if err := zf.Close(); err != nil {
			return err
		}
	}
	return nil
}

// renderMedia draws and encodes one media file.
func renderMedia(it *mediaItem) ([]byte, error) {
	var b bytes.Buffer
	if it.kind == mVideo {
		r := rand.New(rand.NewPCG(it.family, 0x766964656f))
		b.WriteString("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
		n := 2000 + r.IntN(6000)
		for i := 0; i < n; i++ {
			b.WriteByte(byte(r.Uint32()))
		}
		return b.Bytes(), nil
	}
	img := drawBase(it.family)
	quality := 90
	if it.variant != 0 {
		img, quality = edit(img, it.variant)
	}
	var err error
	switch it.kind {
	case mPNG:
		err = png.Encode(&b, img)
	case mGIF:
		pal := image.NewPaletted(img.Bounds(), palette.WebSafe)
		xdraw.Draw(pal, pal.Bounds(), img, img.Bounds().Min, xdraw.Src)
		err = gif.Encode(&b, pal, nil)
	default:
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: quality})
	}
	return b.Bytes(), err
}

var words = []string{"BREAKING", "TRUTH", "WAKE UP", "SHARE", "LOOK", "NEWS", "VOTE", "NOW", "FREEDOM", "LIES", "EXPOSED", "TODAY"}

// drawBase draws an image family's base image: a gradient, shapes, text.
func drawBase(seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x62617365))
	w, h := 160+r.IntN(128), 120+r.IntN(90)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c0 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	c1 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	vertical := r.IntN(2) == 0
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			t := x * 256 / w
			if vertical {
				t = y * 256 / h
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = mix(c0.R, c1.R, t), mix(c0.G, c1.G, t), mix(c0.B, c1.B, t), 255
		}
	}
	for n := 3 + r.IntN(5); n > 0; n-- {
		c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		x0, y0 := r.IntN(w), r.IntN(h)
		sw, sh := 10+r.IntN(w/2), 10+r.IntN(h/2)
		if r.IntN(2) == 0 {
			xdraw.Draw(img, image.Rect(x0, y0, x0+sw, y0+sh), image.NewUniform(c), image.Point{}, xdraw.Src)
			continue
		}
		rad := sw / 2
		for y := max(0, y0-rad); y < min(h, y0+rad); y++ {
			for x := max(0, x0-rad); x < min(w, x0+rad); x++ {
				if (x-x0)*(x-x0)+(y-y0)*(y-y0) <= rad*rad {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	text := words[r.IntN(len(words))] + " " + words[r.IntN(len(words))]
	drawText(img, text, 8+r.IntN(max(1, w/3)), 20+r.IntN(max(1, h-30)), color.RGBA{255, 255, 255, 255}, 2)
	return img
}

func mix(a, b uint8, t int) uint8 { return uint8((int(a)*(256-t) + int(b)*t) / 256) }

// drawText writes text with the 7x13 bitmap face, scaled up.
func drawText(dst *image.RGBA, text string, x, y int, c color.Color, scale int) {
	face := basicfont.Face7x13
	small := image.NewRGBA(image.Rect(0, 0, 7*len(text)+2, 16))
	d := font.Drawer{Dst: small, Src: image.NewUniform(c), Face: face, Dot: fixed.P(1, 12)}
	d.DrawString(text)
	r := image.Rect(x, y-12*scale, x+small.Bounds().Dx()*scale, y-12*scale+16*scale)
	xdraw.NearestNeighbor.Scale(dst, r, small, small.Bounds(), xdraw.Over, nil)
}

// edit makes a re-shared copy of an image, drawn from seed: the copy is
// uploaded again, so the platform re-encodes it (JPEG quality 70-95, the
// returned quality), and in editShare of the copies the sharer made one
// edit first: a crop of up to 3% off each side, a resize to 50-100%, a
// brightness shift of up to +-20, a caption bar or a watermark. One edit,
// not a stack of them: a squad spreads one asset, and its members do not
// each rework it (docs/synth.md#media gives the PDQ distances each edit
// makes).
func edit(src *image.RGBA, seed uint64) (*image.RGBA, int) {
	r := rand.New(rand.NewPCG(seed, 0x65646974))
	quality := 70 + r.IntN(26)
	b := src.Bounds()
	img := image.NewRGBA(b)
	copy(img.Pix, src.Pix)
	if r.Float64() >= editShare {
		return img, quality
	}
	switch r.IntN(5) {
	case 0: // crop: up to 3% off each side
		dx, dy := b.Dx()*r.IntN(4)/100, b.Dy()*r.IntN(4)/100
		cr := image.Rect(b.Min.X+dx, b.Min.Y+dy, b.Max.X-dx, b.Max.Y-dy)
		c := image.NewRGBA(image.Rect(0, 0, cr.Dx(), cr.Dy()))
		xdraw.Draw(c, c.Bounds(), src, cr.Min, xdraw.Src)
		img = c
	case 1: // resize to 50-100%
		f := 50 + r.IntN(51)
		w, h := max(16, b.Dx()*f/100), max(16, b.Dy()*f/100)
		c := image.NewRGBA(image.Rect(0, 0, w, h))
		xdraw.ApproxBiLinear.Scale(c, c.Bounds(), src, b, xdraw.Src, nil)
		img = c
	case 2: // brightness
		shift := r.IntN(41) - 20
		for i := 0; i < len(img.Pix); i += 4 {
			for k := 0; k < 3; k++ {
				img.Pix[i+k] = uint8(min(255, max(0, int(img.Pix[i+k])+shift)))
			}
		}
	case 3: // caption bar
		ib := img.Bounds()
		bar := image.Rect(0, ib.Dy()-ib.Dy()/7, ib.Dx(), ib.Dy())
		xdraw.Draw(img, bar, image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, xdraw.Src)
		drawText(img, words[r.IntN(len(words))], 4, ib.Dy()-2, color.RGBA{255, 255, 0, 255}, 1)
	case 4: // watermark
		ib := img.Bounds()
		drawText(img, "@"+strings.ToLower(words[r.IntN(len(words))]), max(0, ib.Dx()-80), ib.Dy()-4, color.RGBA{255, 255, 255, 140}, 1)
	}
	return img, quality
}

// editShare is the share of re-shared copies the sharer edited before
// uploading; the others are re-encodes of the image as it was.
const editShare = 0.4
