// Package fingerprint is the stage that turns every post into content keys:
// a hash of its normalized text, canonical URLs and their registrable
// domains, hashtag set and sequence hashes, and the ids of the post it
// reposts or replies to. The cluster stage pairs accounts that share keys.
package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/internal/imagehash"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

// Name is the stage name.
const Name = "fingerprint"

// Version is bumped when the stage's output semantics change. Version 3
// added the minhash_bands and cnt_text_key columns; version 4 draws the
// MinHash permutations modulo 2^64, stores each post's band keys sorted and
// adds the cnt_url_keys column; version 5 writes the same bytes as table
// layout 2 (schema.Versions), which names those three columns, so that a
// rerun gets a new run id and a manifest with the new layout; version 6
// writes repost_key and reply_key as null when the post is no repost or
// reply (table layout 3), where version 5 wrote "". Version 7 adds the
// image_decode parameter, whose default (fast) hashes large baseline JPEGs
// from their 1/4-scale DCT means rather than their full decode, and counts
// those rows in the image stats (fast_decoded).
const Version = 7

// Params are the stage's parameters.
type Params struct {
	// MinTextRunes is the minimum length, in runes, of a normalized text
	// that gets a text key; shorter texts get a null text_key.
	MinTextRunes int `json:"min_text_runes"`
	// NormalizerVersion must equal rules.Version, the version of the text,
	// hashtag and URL rules that make the keys. It is a parameter so that it
	// enters the run id, and it is recorded in Stats and in every row.
	NormalizerVersion int `json:"normalizer_version"`
	// MinHashtagSeq is the number of hashtags a post needs for a
	// hashtag_seq_key (the ordered list); shorter lists get none.
	MinHashtagSeq int `json:"min_hashtag_seq"`
	// MinHashPermutations is the length of the MinHash signature; the band
	// keys use its first MinHashBands*rows values, rows being
	// MinHashPermutations/MinHashBands.
	MinHashPermutations int `json:"minhash_permutations"`
	// MinHashBands is the number of LSH band keys per text.
	MinHashBands int `json:"minhash_bands"`
	// ShingleSize is the number of words per MinHash shingle
	// (rules.AppendShingles). The cluster stage verifies near_text
	// candidates on shingles of the same size: the runner passes it on.
	ShingleSize int `json:"shingle_size"`
	// MinHash turns the MinHash band keys on. With 121 permutations they
	// cost about as much CPU as the rest of the stage; with the default 64,
	// about a quarter of the stage's CPU. Only the cluster stage's near_text
	// signal reads them, so the runner sets this when near_text is asked for.
	MinHash bool `json:"minhash"`
	// Toolkit turns on the cnt_text_key and cnt_url_keys columns, the
	// coordination-network-toolkit's own text and URL keys. Only the cluster
	// stage's --compat cnt reads them, so the runner sets this when that is
	// asked for; without it both columns are empty (null, no keys). Its
	// JSON name stays "cnt", the --compat value, so that run ids and
	// manifests of earlier runs keep their meaning.
	Toolkit bool `json:"cnt"`
	// ImageDecode is the decode route of the image hashes (--image-decode):
	// "fast" reads JPEGs of at least imagehash.FastMinSide pixels a side
	// that are baseline or extended sequential at 1/4 scale from their DCT
	// coefficients, and decodes every other image in full; "exact" decodes
	// every image in full, so that PDQ is the reference's bit for bit.
	// ImageStats.FastDecoded counts the rows the fast route hashed.
	ImageDecode string `json:"image_decode"`
}

// maxPermutations bounds MinHashPermutations.
const maxPermutations = 1024

// DefaultParams returns the default parameters: 64 permutations in 8 bands
// of 8 rows (threshold (1/8)^(1/8) = 0.771), word 3-grams; MinHash
// on (the cluster stage's near_text is on by default), the toolkit's keys
// off (its --compat is off by default).
func DefaultParams() Params {
	return Params{MinTextRunes: 12, NormalizerVersion: rules.Version, MinHashtagSeq: 3,
		MinHashPermutations: 64, MinHashBands: 8, ShingleSize: 3, MinHash: true,
		ImageDecode: imagehash.Fast.String()}
}

// Validate reports a usage error naming the flag.
func (p Params) Validate() error {
	if p.MinTextRunes < 1 {
		return fmt.Errorf("--min-text-runes must be >= 1, got %d", p.MinTextRunes)
	}
	if p.MinHashtagSeq < 2 {
		return fmt.Errorf("--min-hashtag-seq must be >= 2, got %d", p.MinHashtagSeq)
	}
	if p.MinHashPermutations < 1 || p.MinHashPermutations > maxPermutations {
		return fmt.Errorf("--minhash-permutations must be in [1, %d], got %d", maxPermutations, p.MinHashPermutations)
	}
	if p.MinHashBands < 1 || p.MinHashBands > p.MinHashPermutations {
		return fmt.Errorf("--minhash-bands must be in [1, --minhash-permutations (%d)], got %d",
			p.MinHashPermutations, p.MinHashBands)
	}
	if p.ShingleSize < 1 || p.ShingleSize > rules.MaxShingleSize {
		return fmt.Errorf("--shingle-size must be in [1, %d], got %d", rules.MaxShingleSize, p.ShingleSize)
	}
	if _, err := imagehash.ParseRoute(p.ImageDecode); err != nil {
		return fmt.Errorf("--image-decode must be exact or fast, got %q", p.ImageDecode)
	}
	if p.NormalizerVersion != rules.Version {
		return fmt.Errorf("normalizer_version must be %d (rules.Version, the only one this build has), got %d",
			rules.Version, p.NormalizerVersion)
	}
	return nil
}

// Input names the upstream file this stage reads.
type Input struct {
	// PostsPath is the absolute path of the posts table.
	PostsPath string
	// Progress counts the posts written; nil counts nothing.
	Progress progress.Meter
	// Images, when its MediaPath is set, are the media whose images the
	// stage hashes into image_fingerprints.parquet (the normalize run has a
	// media table); without it the stage writes no image table.
	Images ImageInput
}

// Stats are deterministic counts about one run.
type Stats struct {
	Posts              int64 `json:"posts"`
	WithTextKey        int64 `json:"with_text_key"`
	ShortText          int64 `json:"short_text"`
	WithURL            int64 `json:"with_url"`
	URLKeys            int64 `json:"url_keys"`
	URLsRejected       int64 `json:"urls_rejected"`
	TextURLs           int64 `json:"text_urls"`
	WithHashtags       int64 `json:"with_hashtags"`
	WithHashtagSeq     int64 `json:"with_hashtag_seq"`
	Reposts            int64 `json:"reposts"`
	RepostsWithoutID   int64 `json:"reposts_without_id"`
	Replies            int64 `json:"replies"`
	WithToolkitTextKey int64 `json:"with_cnt_text_key"`
	ToolkitURLKeys     int64 `json:"cnt_url_keys"`
	MinTextRunes       int   `json:"min_text_runes"`
	NormalizerVersion  int   `json:"normalizer_version"`
	// MinHashRows is the number of signature values per band,
	// minhash_permutations/minhash_bands.
	MinHashRows int `json:"minhash_rows"`
	// Images counts the media hashed; absent when the run had no media
	// table.
	Images *ImageStats `json:"images,omitempty"`
}

func (s *Stats) add(o Stats) {
	s.Posts += o.Posts
	s.WithTextKey += o.WithTextKey
	s.ShortText += o.ShortText
	s.WithURL += o.WithURL
	s.URLKeys += o.URLKeys
	s.URLsRejected += o.URLsRejected
	s.TextURLs += o.TextURLs
	s.WithHashtags += o.WithHashtags
	s.WithHashtagSeq += o.WithHashtagSeq
	s.Reposts += o.Reposts
	s.RepostsWithoutID += o.RepostsWithoutID
	s.Replies += o.Replies
	s.WithToolkitTextKey += o.WithToolkitTextKey
	s.ToolkitURLKeys += o.ToolkitURLKeys
}

// Run reads the posts table and writes outDir/fingerprints.parquet, one row
// per post in input order.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	outPath := filepath.Join(outDir, schema.TableFingerprints+".parquet")
	w, err := pqio.Create[schema.Fingerprint](outPath)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{MinTextRunes: p.MinTextRunes, NormalizerVersion: p.NormalizerVersion,
		MinHashRows: p.MinHashPermutations / p.MinHashBands}
	m := progress.Or(in.Progress)
	total, err := pqio.NumRows(in.PostsPath)
	if err != nil {
		total = -1
	}
	m.Phase("", progress.Rows, total)
	if err := fingerprintAll(ctx, in.PostsPath, allGroups, p, w, &st, m); err != nil {
		w.Abort()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return Stats{}, err
		}
		return Stats{}, fmt.Errorf("fingerprint posts: %w", err)
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	if in.Images.MediaPath != "" {
		ist, err := fingerprintImages(ctx, in.Images, in.PostsPath, outDir, imageRoute(p), m)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return Stats{}, err
			}
			return Stats{}, fmt.Errorf("fingerprint images: %w", err)
		}
		st.Images = ist
		log.Info("fingerprinted images", "media", ist.Media, "images", ist.Images, "videos", ist.Videos,
			"low_quality", ist.LowQuality, "undecodable", ist.Undecodable)
	}
	log.Info("fingerprinted posts", "posts", st.Posts, "with_text_key", st.WithTextKey,
		"with_url", st.WithURL, "reposts", st.Reposts, "normalizer_version", st.NormalizerVersion)
	return st, nil
}

// postKeys holds the columns of the posts table the stage reads (the
// reader skips the others); its tags name them (postColumn). They must
// equal schema.Post's; a test checks.
type postKeys struct {
	PostID         string   `parquet:"post_id" takedown:"id"`
	AccountID      string   `parquet:"account_id" takedown:"id"`
	PostedAt       int64    `parquet:"posted_at,timestamp(millisecond:utc)"`
	Text           string   `parquet:"text"`
	ReplyToPostID  *string  `parquet:"reply_to_post_id,optional" takedown:"id"`
	IsRepost       bool     `parquet:"is_repost"`
	RepostOfPostID *string  `parquet:"repost_of_post_id,optional" takedown:"id"`
	Hashtags       []string `parquet:"hashtags,list"`
	URLs           []string `parquet:"urls,list"`
}

// pipelineDepth is the number of batches each stage of fingerprintAll may
// hold ready for the next.
const pipelineDepth = 2

// fingerprintAll reads the posts, fingerprints them and writes the rows in
// input order, the three steps overlapping:
//
//	pqio.Groups --row groups--> fingerprint (workers share a batch) --rows--> w.Write
//	(reader goroutine)          (worker goroutine)                          (caller)
//
// The reader reads the columns it needs of one row group at a time (no row
// goes through reflection). Every batch of writeBatch rows is fingerprinted
// by all workers, each on a contiguous part, and written whole before the
// next, so the output order is the input order for
// any GOMAXPROCS. Stats are sums, so they do not depend on the split.
func fingerprintAll(ctx context.Context, postsPath string, groups groupRange, p Params, w *pqio.Writer[schema.Fingerprint], st *Stats, m progress.Meter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	ws := make([]*worker, workers)
	for i := range ws {
		ws[i] = newWorker(p)
	}
	// Batches are whole row groups, read column by column into buffers
	// that go back to the reader once the batch is fingerprinted (the rows
	// made from it keep only strings, which stay valid).
	free := make(chan *postGroup, 2) // one being read, one being fingerprinted
	for range cap(free) {
		free <- new(postGroup)
	}
	batches := make(chan *postGroup)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- readPosts(ctx, postsPath, groups, free, batches)
	}()
	rows := make(chan []schema.Fingerprint, pipelineDepth)
	parts := make([]Stats, workers)
	go func() {
		defer close(rows)
		for pg := range batches {
			// The group is fingerprinted in parts of writeBatch rows, so
			// that few rows wait for the writer at a time.
			for first := 0; first < pg.n; first += writeBatch {
				out := make([]schema.Fingerprint, min(writeBatch, pg.n-first))
				// Workers take small runs of rows in turn, so that one
				// with long texts does not leave the others waiting.
				var next atomic.Int64
				var wg sync.WaitGroup
				for wi := range workers {
					wg.Go(func() {
						for {
							lo := int(next.Add(workChunk)) - workChunk
							if lo >= len(out) {
								return
							}
							for i := lo; i < min(lo+workChunk, len(out)); i++ {
								post := pg.post(first + i)
								out[i] = ws[wi].fingerprint(&post, p, &parts[wi])
							}
						}
					})
				}
				wg.Wait()
				select {
				case rows <- out:
				case <-ctx.Done():
					return
				}
			}
			free <- pg
		}
	}()
	var werr error
	for out := range rows {
		if werr == nil {
			if werr = w.Write(out...); werr != nil {
				cancel()
			}
			m.Add(int64(len(out)))
		}
	}
	// rows is closed: the worker goroutine is done, so parts are final.
	rerr := <-readErr
	if werr != nil {
		return werr
	}
	if rerr != nil {
		return rerr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range parts {
		st.add(s)
	}
	return nil
}

// writeBatch is the number of rows per call to the writer. The writer
// closes a page when its buffer is full after a write, so this sets the
// page boundaries, hence the file's bytes.
const writeBatch = 4096

// workChunk is the number of rows a worker takes at a time.
const workChunk = 128

// postGroup is one row group of the posts table, n rows, column by column.
type postGroup struct {
	n                                      int
	ids, accounts, texts, replies, reposts pqio.Strings
	hashtags, urls                         pqio.Strings
	postedAt                               pqio.Int64s
	isRepost                               pqio.Bools
}

// post returns row r of the group.
func (pg *postGroup) post(r int) postKeys {
	return postKeys{
		PostID:         pg.ids.One(r),
		AccountID:      pg.accounts.One(r),
		PostedAt:       pg.postedAt.One(r),
		Text:           pg.texts.One(r),
		ReplyToPostID:  pg.replies.Opt(r),
		IsRepost:       pg.isRepost.One(r),
		RepostOfPostID: pg.reposts.Opt(r),
		Hashtags:       pg.hashtags.Row(r),
		URLs:           pg.urls.Row(r),
	}
}

// postColumn returns the posts-table column of a postKeys field: the name
// in its tag.
func postColumn(field string) string {
	f, _ := reflect.TypeFor[postKeys]().FieldByName(field)
	name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
	return name
}

// readPosts reads the posts table's row groups in the range one at a time
// into buffers taken from free and sends them, in file order, to out.
func readPosts(ctx context.Context, path string, groups groupRange, free <-chan *postGroup, out chan<- *postGroup) error {
	g, err := pqio.OpenGroups(path)
	if err != nil {
		return err
	}
	defer g.Close()
	lo, hi := groups.bounds(g.Len())
	for gi := lo; gi < hi; gi++ {
		var pg *postGroup
		select {
		case pg = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, c := range []struct {
			field string
			into  *pqio.Strings
		}{
			{"PostID", &pg.ids}, {"AccountID", &pg.accounts}, {"Text", &pg.texts},
			{"ReplyToPostID", &pg.replies}, {"RepostOfPostID", &pg.reposts},
			{"Hashtags", &pg.hashtags}, {"URLs", &pg.urls},
		} {
			if err := g.ReadStrings(gi, postColumn(c.field), c.into); err != nil {
				return err
			}
		}
		if err := g.ReadInt64s(gi, postColumn("PostedAt"), &pg.postedAt); err != nil {
			return err
		}
		if err := g.ReadBools(gi, postColumn("IsRepost"), &pg.isRepost); err != nil {
			return err
		}
		pg.n = g.Rows(gi)
		select {
		case out <- pg:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// worker is the state of one goroutine of fingerprintAll: the rules'
// normalizer, the MinHash buffers and buffers reused from post to post.
type worker struct {
	rules *rules.Normalizer
	mh    *minHasher
	dig   *xxhash.Digest
	buf   []byte
	tags  []string
	urls  []string
}

func newWorker(p Params) *worker {
	return &worker{rules: rules.NewNormalizer(), dig: xxhash.New(),
		mh: newMinHasher(p.MinHashPermutations, p.MinHashBands, p.ShingleSize)}
}

// fingerprint computes the keys of one post.
func (n *worker) fingerprint(post *postKeys, p Params, st *Stats) schema.Fingerprint {
	st.Posts++
	fp := schema.Fingerprint{
		PostID:    post.PostID,
		AccountID: post.AccountID,
		PostedAt:  post.PostedAt,
		RepostKey: post.RepostOfPostID,
		ReplyKey:  post.ReplyToPostID,

		NormalizerVersion: int32(p.NormalizerVersion),
	}
	repost := post.IsRepost || post.RepostOfPostID != nil
	if repost {
		st.Reposts++
		if post.RepostOfPostID == nil {
			st.RepostsWithoutID++
		}
	}
	if fp.ReplyKey != nil {
		st.Replies++
	}
	if p.Toolkit && post.RepostOfPostID == nil {
		// The coordination-network-toolkit leaves posts with a repost id
		// out of co_tweet, and only those.
		n.buf = appendToolkitText(n.buf[:0], post.Text)
		k := xxhash.Sum64(n.buf)
		fp.ToolkitTextKey = &k
		st.WithToolkitTextKey++
		fp.ToolkitURLKeys = toolkitURLKeys(post.URLs)
		st.ToolkitURLKeys += int64(len(fp.ToolkitURLKeys))
	}

	text, textURLs := n.rules.Text(post.Text, true)
	fp.NormalizedText = text
	if !repost {
		if utf8.RuneCountInString(text) >= p.MinTextRunes {
			k := xxhash.Sum64String(text)
			fp.TextKey = &k
			if p.MinHash {
				fp.MinHashBands = n.mh.bandKeys(text)
			}
			st.WithTextKey++
		} else {
			st.ShortText++
		}
	}

	urls := n.urls[:0]
	for _, raw := range post.URLs {
		if c, ok := rules.CanonicalURL(raw); ok {
			urls = append(urls, c)
		} else if strings.TrimSpace(raw) != "" {
			st.URLsRejected++
		}
	}
	for _, raw := range textURLs {
		c, ok := rules.CanonicalURL(raw)
		if !ok || rules.URLHost(c) == "t.co" {
			continue
		}
		st.TextURLs++
		urls = append(urls, c)
	}
	n.urls = urls
	if len(urls) > 0 {
		slices.Sort(urls)
		urls = slices.Clone(slices.Compact(urls))
		fp.URLKeys = urls
		domains := make([]string, len(urls))
		for i, u := range urls {
			domains[i] = rules.RegistrableDomain(u)
		}
		slices.Sort(domains)
		fp.DomainKeys = slices.Compact(domains)
		st.WithURL++
		st.URLKeys += int64(len(urls))
	}

	tags := n.tags[:0]
	for _, h := range post.Hashtags {
		if t := n.rules.Hashtag(h); t != "" {
			tags = append(tags, t)
		}
	}
	n.tags = tags
	if len(tags) >= p.MinHashtagSeq {
		k := n.joinedHash(tags)
		fp.HashtagSeqKey = &k
		st.WithHashtagSeq++
	}
	if len(tags) > 0 {
		slices.Sort(tags)
		k := n.joinedHash(slices.Compact(tags))
		fp.HashtagSetKey = &k
		st.WithHashtags++
	}
	return fp
}

// joinedHash returns the xxHash64 of ss joined with "\n".
func (n *worker) joinedHash(ss []string) uint64 {
	n.dig.Reset()
	for i, s := range ss {
		if i > 0 {
			n.dig.WriteString("\n")
		}
		n.dig.WriteString(s)
	}
	return n.dig.Sum64()
}
