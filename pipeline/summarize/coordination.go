package summarize

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/kmerge"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// The coordination share of Schoch, Keller, Stier & Yang (2022): the share
// of a campaign's accounts found in its co-tweet or co-retweet network at a
// one-minute window. Two accounts co-tweet when they post the same text
// (the fingerprint stage's text_key, which reposts do not carry) at most
// CoordWindowMs apart; they co-retweet when they repost the same post
// (repost_key) at most CoordWindowMs apart. A repost that names no reposted
// post (FiveThirtyEight's layout) stands for the post its text repeats: it
// is keyed by its normalized text.
const (
	CoordWindowMs = 60_000
	// CoordPaperMean is the paper's mean share of accounts in either
	// network over the Twitter campaigns with more than CoordPaperMinPosts
	// tweets (its Figure 6).
	CoordPaperMean     = 0.74
	CoordPaperMinPosts = 50_000
	CoordCitation      = "Schoch, D., Keller, F. B., Stier, S., & Yang, J. (2022). Coordination patterns reveal online political astroturfing across the world. Scientific Reports, 12, 4572. doi:10.1038/s41598-022-08404-9"
)

// coordBuffer is how many keyed posts the coordination sweep sorts in
// memory before it spills a sorted run to disk (24 bytes each).
var coordBuffer = 1 << 20

// Kinds of a coordination record.
const (
	coTweet   = 0
	coRetweet = 1
)

// coordRec is one keyed post: its kind, the key of its text or reposted
// post, its time and its (interned) account.
type coordRec struct {
	key  uint64
	at   int64
	acct uint32
	kind uint8
}

func coordCmp(a, b coordRec) int {
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.acct, b.acct)
}

// coordFingerprint is the part of a fingerprints row the sweep reads.
type coordFingerprint struct {
	PostID         string  `parquet:"post_id"`
	AccountID      string  `parquet:"account_id"`
	PostedAt       int64   `parquet:"posted_at,timestamp(millisecond:utc)"`
	TextKey        *uint64 `parquet:"text_key,optional"`
	RepostKey      *string `parquet:"repost_key,optional"`
	NormalizedText string  `parquet:"normalized_text"`
}

// readCoordination streams fingerprints once more, sorts the keyed posts by
// (kind, key, time) in runs of coordBuffer, spilled under outDir and merged,
// and sweeps each key's posts in time order, marking every account with a
// post of another account within the window. Memory is bounded by
// coordBuffer, the largest group of posts sharing one key, and one bit per
// account.
func (s *state) readCoordination(ctx context.Context, in Input, outDir string) error {
	reposted, done, err := s.repostLookup(ctx, in.PostsPath)
	if err != nil {
		return err
	}
	sorter := &coordSorter{dir: outDir}
	defer sorter.cleanup()
	var row, byText int64
	h := newTextHasher()
	err = pqio.Each(in.FingerprintsPath, func(batch []coordFingerprint) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range batch {
			f := &batch[i]
			r := row
			row++
			rec := coordRec{at: f.PostedAt}
			switch {
			case f.RepostKey != nil:
				rec.kind, rec.key = coRetweet, h.sum('r', *f.RepostKey)
			case reposted(r, f.PostID):
				if f.NormalizedText == "" {
					continue
				}
				rec.kind, rec.key = coRetweet, h.sum('t', f.NormalizedText)
				byText++
			case f.TextKey != nil:
				rec.kind, rec.key = coTweet, *f.TextKey
			default:
				continue
			}
			rec.acct = s.intern(f.AccountID)
			if err := sorter.add(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if derr := done(); err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("summarize fingerprints (coordination): %w", err)
	}
	var marks [2]bitset
	var group []coordRec
	var next []int
	flush := func() {
		next = markGroup(group, &marks[group[0].kind], next)
		group = group[:0]
	}
	err = sorter.each(func(r coordRec) error {
		if len(group) > 0 && (group[0].kind != r.kind || group[0].key != r.key) {
			flush()
		}
		group = append(group, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize coordination: %w", err)
	}
	if len(group) > 0 {
		flush()
	}
	either := marks[coTweet].or(marks[coRetweet])
	c := &schema.CoordinationShare{
		WindowSeconds:     CoordWindowMs / 1000,
		Accounts:          s.accountsWithPosts,
		Posts:             s.postRows,
		CoTweetAccounts:   marks[coTweet].count(),
		CoRetweetAccounts: marks[coRetweet].count(),
		EitherAccounts:    either.count(),
		RepostsByText:     byText,
		PaperMeanShare:    CoordPaperMean,
		PaperMinPosts:     CoordPaperMinPosts,
		Citation:          CoordCitation,
	}
	c.CoTweetShare = share(c.CoTweetAccounts, c.Accounts)
	c.CoRetweetShare = share(c.CoRetweetAccounts, c.Accounts)
	c.EitherShare = share(c.EitherAccounts, c.Accounts)
	var notes []string
	if c.Posts <= CoordPaperMinPosts {
		notes = append(notes, fmt.Sprintf("%d posts: the paper's mean covers campaigns of more than %d tweets", c.Posts, CoordPaperMinPosts))
	}
	if byText > 0 {
		notes = append(notes, fmt.Sprintf("%d reposts name no reposted post and were keyed by their text", byText))
	}
	minute, err := s.minuteTimes(in.PostsPath)
	if err != nil {
		return err
	}
	if minute {
		notes = append(notes, "some times are to the minute: posts in adjacent minutes count as within the window")
	}
	c.Note = strings.Join(notes, "; ")
	s.coord = c
	return nil
}

// errFound stops a column scan early.
var errFound = errors.New("found")

// minuteTimes reports whether any post's time is to the minute only.
func (s *state) minuteTimes(postsPath string) (bool, error) {
	err := pqio.EachBytes(postsPath, "posted_at_precision", func(_ int64, b []byte) error {
		if string(b) == schema.PrecisionMinute {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("summarize posts: %w", err)
	}
	return false, nil
}

// repostLookup returns whether the post of fingerprint row `row` (rows
// asked in order) with id `postID` is a repost, joining as readFingerprints
// did, and a function to call when done, which returns a read error.
func (s *state) repostLookup(ctx context.Context, postsPath string) (func(row int64, postID string) bool, func() error, error) {
	if s.fpJoin != JoinPostID {
		flags, err := s.repostFlags.reader()
		if err != nil {
			return nil, nil, err
		}
		return func(row int64, _ string) bool { return flags.get(row) }, flags.close, nil
	}
	keys, err := s.repostKeys(ctx, postsPath)
	if err != nil {
		return nil, nil, err
	}
	return func(_ int64, id string) bool {
		_, found := slices.BinarySearch(keys, fnv64(id))
		return found
	}, func() error { return nil }, nil
}

// markGroup marks the accounts of one key's posts (sorted by time) that
// have a post of another account at most CoordWindowMs away. The nearest
// post of another account on each side is found in one pass each way, so
// a group costs linear time however many posts share a minute. next is
// scratch space, returned for reuse.
func markGroup(g []coordRec, m *bitset, next []int) []int {
	n := len(g)
	if n < 2 {
		return next
	}
	// next[i]: the first j > i with another account (n if none).
	next = slices.Grow(next[:0], n)[:n]
	next[n-1] = n
	for i := n - 2; i >= 0; i-- {
		if g[i+1].acct != g[i].acct {
			next[i] = i + 1
		} else {
			next[i] = next[i+1]
		}
	}
	prev := -1 // the last j < i with another account
	for i := range n {
		if i > 0 {
			if g[i-1].acct != g[i].acct {
				prev = i - 1
			} // else the last other account before i-1 is the one before i
		}
		near := next[i] < n && g[next[i]].at-g[i].at <= CoordWindowMs ||
			prev >= 0 && g[i].at-g[prev].at <= CoordWindowMs
		if near {
			m.set(g[i].acct)
		}
	}
	return next
}

// bitset is a growable set of account indexes.
type bitset []uint64

func (b *bitset) set(i uint32) {
	for int(i/64) >= len(*b) {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}

func (b bitset) or(o bitset) bitset {
	out := make(bitset, max(len(b), len(o)))
	copy(out, b)
	for i, w := range o {
		out[i] |= w
	}
	return out
}

func (b bitset) count() int64 {
	var n int
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// textHasher keys reposted posts and texts: FNV-1a of a tag byte and the
// string, so a post id and a text never share a key by construction.
type textHasher struct{ buf []byte }

func newTextHasher() *textHasher { return &textHasher{} }

func (h *textHasher) sum(tag byte, s string) uint64 {
	h.buf = append(append(h.buf[:0], tag, 0), s...)
	const offset, prime = 14695981039346656037, 1099511628211
	v := uint64(offset)
	for _, c := range h.buf {
		v ^= uint64(c)
		v *= prime
	}
	return v
}

// coordSorter sorts coordination records in memory up to coordBuffer and
// spills sorted runs of that size to files, merged by each.
type coordSorter struct {
	dir   string
	spill kmerge.Dir
	buf   []coordRec
	runs  []string
}

const coordRecBytes = 8 + 8 + 4 + 1

func (c *coordSorter) add(r coordRec) error {
	c.buf = append(c.buf, r)
	if len(c.buf) >= coordBuffer {
		return c.flush()
	}
	return nil
}

// flush writes the buffer, sorted, as a new run.
func (c *coordSorter) flush() error {
	slices.SortFunc(c.buf, coordCmp)
	path, err := c.spill.Next(c.dir, "coord", "run-%06d")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var b [coordRecBytes]byte
	for _, r := range c.buf {
		binary.LittleEndian.PutUint64(b[0:], r.key)
		binary.LittleEndian.PutUint64(b[8:], uint64(r.at))
		binary.LittleEndian.PutUint32(b[16:], r.acct)
		b[20] = r.kind
		if _, err := w.Write(b[:]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	c.runs = append(c.runs, path)
	c.buf = c.buf[:0]
	return nil
}

// each calls fn for every record in sorted order.
func (c *coordSorter) each(fn func(coordRec) error) error {
	if len(c.runs) == 0 {
		slices.SortFunc(c.buf, coordCmp)
		for _, r := range c.buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(c.buf) > 0 {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.buf = nil
	rs := make([]*runReader, 0, len(c.runs))
	for _, p := range c.runs {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rs = append(rs, &runReader{r: bufio.NewReaderSize(f, 1<<16)})
	}
	return kmerge.Merge(rs, (*runReader).next, func(a, b *runReader) bool { return coordCmp(a.cur, b.cur) < 0 },
		func(r *runReader) error { return fn(r.cur) })
}

func (c *coordSorter) cleanup() {
	c.spill.Remove()
}

type runReader struct {
	r   *bufio.Reader
	cur coordRec
	b   [coordRecBytes]byte
}

func (r *runReader) next() (bool, error) {
	if _, err := io.ReadFull(r.r, r.b[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, fmt.Errorf("read spilled run: %w", err)
	}
	r.cur = coordRec{
		key:  binary.LittleEndian.Uint64(r.b[0:]),
		at:   int64(binary.LittleEndian.Uint64(r.b[8:])),
		acct: binary.LittleEndian.Uint32(r.b[16:]),
		kind: r.b[20],
	}
	return true, nil
}

// writeCoordination writes coordination_share.parquet.
func (s *state) writeCoordination(dataset, outDir string) error {
	c := *s.coord
	c.Dataset = dataset
	path := filepath.Join(outDir, schema.TableCoordinationShare+".parquet")
	if _, err := pqio.WriteFile(path, []schema.CoordinationShare{c}); err != nil {
		return fmt.Errorf("summarize: %w", err)
	}
	return nil
}

// coordinationSentence explains the measure, for both reports.
func coordinationSentence(c *schema.CoordinationShare) string {
	return fmt.Sprintf("Share of the accounts with a post that co-tweet (post the same normalized text as another account "+
		"at most %d s apart, reposts left out) or co-retweet (repost the same post as another account at most %d s apart), "+
		"the measure of Schoch et al. (2022); the paper finds on average %s of a campaign's accounts in either network, "+
		"over the Twitter campaigns of more than %s tweets.",
		c.WindowSeconds, c.WindowSeconds, pct(c.PaperMeanShare), num(c.PaperMinPosts))
}

// reportCoordination writes the coordination share section of report.md.
func (s *state) reportCoordination(b *bytes.Buffer) {
	c := s.coord
	fmt.Fprintf(b, "## Coordination share\n\n%s\n\n", coordinationSentence(c))
	b.WriteString("| network | accounts | share |\n|---|---|---|\n")
	fmt.Fprintf(b, "| co-tweet | %s | %s |\n", num(c.CoTweetAccounts), pct(c.CoTweetShare))
	fmt.Fprintf(b, "| co-retweet | %s | %s |\n", num(c.CoRetweetAccounts), pct(c.CoRetweetShare))
	fmt.Fprintf(b, "| either | %s | %s |\n", num(c.EitherAccounts), pct(c.EitherShare))
	fmt.Fprintf(b, "| paper's mean (either) | | %s |\n\n", pct(c.PaperMeanShare))
	fmt.Fprintf(b, "Of %s accounts with at least one post (%s posts).", num(c.Accounts), num(c.Posts))
	if c.Note != "" {
		fmt.Fprintf(b, " Note: %s.", c.Note)
	}
	fmt.Fprintf(b, " Source: %s\n\n", c.Citation)
}

// htmlCoordination writes the coordination share section of report.html.
func (s *state) htmlCoordination(b *strings.Builder) {
	c := s.coord
	fmt.Fprintf(b, "<h2 id=\"coordination\">Coordination share</h2>\n<p>%s</p>\n", esc(coordinationSentence(c)))
	b.WriteString("<table>\n<tr><th>network</th><th>accounts</th><th>share</th></tr>\n")
	row := func(name string, n, of string) {
		fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", esc(name), n, of)
	}
	row("co-tweet", num(c.CoTweetAccounts), pct(c.CoTweetShare))
	row("co-retweet", num(c.CoRetweetAccounts), pct(c.CoRetweetShare))
	row("either", num(c.EitherAccounts), pct(c.EitherShare))
	row("paper's mean (either)", "", pct(c.PaperMeanShare))
	b.WriteString("</table>\n")
	fmt.Fprintf(b, "<p class=\"note\">Of %s accounts with at least one post (%s posts).", num(c.Accounts), num(c.Posts))
	if c.Note != "" {
		fmt.Fprintf(b, " Note: %s.", esc(c.Note))
	}
	fmt.Fprintf(b, " Source: %s</p>\n", esc(c.Citation))
}
