package fingerprint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

func TestValidate(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Params)) Params {
		p := DefaultParams()
		f(&p)
		return p
	}
	cases := []struct {
		p    Params
		want string
	}{
		{with(func(p *Params) { p.MinTextRunes = 0 }), "--min-text-runes"},
		{with(func(p *Params) { p.NormalizerVersion = 99 }), "normalizer_version"},
		{with(func(p *Params) { p.MinHashtagSeq = 1 }), "--min-hashtag-seq"},
		{with(func(p *Params) { p.MinHashPermutations = 0 }), "--minhash-permutations"},
		{with(func(p *Params) { p.MinHashPermutations = 5000 }), "--minhash-permutations"},
		{with(func(p *Params) { p.MinHashBands = 0 }), "--minhash-bands"},
		{with(func(p *Params) { p.MinHashBands = 129 }), "--minhash-bands"},
		{with(func(p *Params) { p.ShingleSize = 0 }), "--shingle-size"},
		{with(func(p *Params) { p.ShingleSize = 17 }), "--shingle-size"},
	}
	for _, c := range cases {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", c.p, err, c.want)
		}
	}
}

// TestPostKeysTags checks that the stage's projection of the posts table
// reads the columns of schema.Post it names, with the same types.
func TestPostKeysTags(t *testing.T) {
	post := reflect.TypeFor[schema.Post]()
	keys := reflect.TypeFor[postKeys]()
	for i := range keys.NumField() {
		f := keys.Field(i)
		pf, ok := post.FieldByName(f.Name)
		if !ok || pf.Type != f.Type || pf.Tag != f.Tag {
			t.Errorf("postKeys.%s %s %q does not match schema.Post", f.Name, f.Type, f.Tag)
		}
		if col := postColumn(f.Name); col == "" || !strings.HasPrefix(string(f.Tag), `parquet:"`+col) {
			t.Errorf("postColumn(%s) = %q, tag %q", f.Name, col, f.Tag)
		}
	}
}

// str is *s, "" for nil.
func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func writePosts(t testing.TB, posts []schema.Post) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "posts.parquet")
	if _, err := pqio.WriteFile(p, posts); err != nil {
		t.Fatal(err)
	}
	return p
}

func runStage(t testing.TB, postsPath string, p Params) ([]schema.Fingerprint, Stats, []byte) {
	t.Helper()
	out := t.TempDir()
	st, err := Run(context.Background(), Input{PostsPath: postsPath}, p, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "fingerprints.parquet")
	rows, err := pqio.ReadAll[schema.Fingerprint](path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return rows, st, b
}

func TestRunKeys(t *testing.T) {
	posts := []schema.Post{
		{PostID: "1", AccountID: "a", PostedAt: 1000, Text: "Vote for change today https://t.co/x1",
			URLs: []string{"https://www.example.com/story?utm_source=tw"}, Hashtags: []string{"Vote", "#CHANGE", "vote"}},
		{PostID: "2", AccountID: "b", PostedAt: 2000, Text: "RT @a: vote FOR change today https://t.co/zz"},
		{PostID: "3", AccountID: "c", PostedAt: 3000, Text: "RT @a: Vote for change today", IsRepost: true, RepostOfPostID: new("1")},
		{PostID: "4", AccountID: "d", PostedAt: 4000, Text: "short", ReplyToPostID: new("1"), Hashtags: []string{"one"}},
		{PostID: "5", AccountID: "e", PostedAt: 5000, Text: "see https://Example.com/story/ and http://other.co.uk/p#x",
			URLs: []string{"not a url", ""}},
		{PostID: "6", AccountID: "f", PostedAt: 6000, Text: "tags only here", Hashtags: []string{"change", "vote"}},
	}
	p := DefaultParams()
	p.Toolkit = true
	p.MinHashtagSeq = 2 // post 6 has a sequence of two
	rows, st, _ := runStage(t, writePosts(t, posts), p)
	for i, r := range rows {
		if r.NormalizerVersion != rules.Version {
			t.Errorf("row %d: normalizer_version %d, want %d", i, r.NormalizerVersion, rules.Version)
		}
	}
	if len(rows) != len(posts) {
		t.Fatalf("got %d rows, want %d", len(rows), len(posts))
	}
	for i, r := range rows {
		if r.PostID != posts[i].PostID || r.AccountID != posts[i].AccountID || r.PostedAt != posts[i].PostedAt {
			t.Errorf("row %d: ids/time not carried: %+v", i, r)
		}
	}
	want := xxhash.Sum64String("vote for change today")
	if rows[0].TextKey == nil || *rows[0].TextKey != want {
		t.Errorf("post 1 text key = %v, want %d", rows[0].TextKey, want)
	}
	if rows[1].TextKey == nil || *rows[1].TextKey != want {
		t.Errorf("manual RT with other link: text key %v, want %d", rows[1].TextKey, want)
	}
	if rows[2].TextKey != nil || str(rows[2].RepostKey) != "1" {
		t.Errorf("repost: text key %v (want null), repost key %q (want 1)", rows[2].TextKey, str(rows[2].RepostKey))
	}
	if rows[2].NormalizedText != "vote for change today" {
		t.Errorf("repost normalized text = %q", rows[2].NormalizedText)
	}
	if rows[3].TextKey != nil || str(rows[3].ReplyKey) != "1" {
		t.Errorf("short text: text key %v (want null), reply key %q", rows[3].TextKey, str(rows[3].ReplyKey))
	}
	if !slices.Equal(rows[0].URLKeys, []string{"https://example.com/story"}) {
		t.Errorf("post 1 url keys = %q (t.co from text must be dropped)", rows[0].URLKeys)
	}
	if !slices.Equal(rows[4].URLKeys, []string{"http://other.co.uk/p", "https://example.com/story"}) {
		t.Errorf("post 5 url keys = %q", rows[4].URLKeys)
	}
	if !slices.Equal(rows[4].DomainKeys, []string{"example.com", "other.co.uk"}) {
		t.Errorf("post 5 domain keys = %q", rows[4].DomainKeys)
	}
	if len(rows[1].URLKeys) != 0 || len(rows[1].DomainKeys) != 0 {
		t.Errorf("post 2 should have no url keys, got %q %q", rows[1].URLKeys, rows[1].DomainKeys)
	}
	// Hashtags: set is {change, vote}; sequence is vote, change, vote.
	setKey := xxhash.Sum64String("change\nvote")
	seqKey := xxhash.Sum64String("vote\nchange\nvote")
	if rows[0].HashtagSetKey == nil || *rows[0].HashtagSetKey != setKey {
		t.Errorf("hashtag set key = %v, want %d", rows[0].HashtagSetKey, setKey)
	}
	if rows[0].HashtagSeqKey == nil || *rows[0].HashtagSeqKey != seqKey {
		t.Errorf("hashtag seq key = %v, want %d", rows[0].HashtagSeqKey, seqKey)
	}
	if rows[5].HashtagSetKey == nil || *rows[5].HashtagSetKey != setKey {
		t.Errorf("same set in another order must give the same set key")
	}
	if rows[5].HashtagSeqKey == nil || *rows[5].HashtagSeqKey == seqKey {
		t.Errorf("different sequence must give another seq key")
	}
	if rows[3].HashtagSetKey == nil || rows[3].HashtagSeqKey != nil {
		t.Errorf("one hashtag: set key %v (want set), seq key %v (want null)", rows[3].HashtagSetKey, rows[3].HashtagSeqKey)
	}
	if rows[1].HashtagSetKey != nil || rows[1].HashtagSeqKey != nil {
		t.Errorf("no hashtags: keys must be null")
	}
	wantStats := Stats{Posts: 6, WithTextKey: 3, ShortText: 2, WithURL: 2, URLKeys: 3, URLsRejected: 1,
		TextURLs: 2, WithHashtags: 3, WithHashtagSeq: 2, Reposts: 1, Replies: 1, WithToolkitTextKey: 5,
		ToolkitURLKeys: 6, MinTextRunes: 12, NormalizerVersion: rules.Version, MinHashRows: 8}
	if st != wantStats {
		t.Errorf("stats = %+v\nwant    %+v", st, wantStats)
	}
}

func TestMinTextRunes(t *testing.T) {
	posts := []schema.Post{
		{PostID: "1", AccountID: "a", Text: "abcdefghijk"},        // 11 runes
		{PostID: "2", AccountID: "a", Text: "abcdefghijkl"},       // 12 runes
		{PostID: "3", AccountID: "a", Text: "ééééééééééé"},        // 11 runes, 22 bytes
		{PostID: "4", AccountID: "a", Text: "@someone_long_name"}, // empty after mentions
	}
	rows, _, _ := runStage(t, writePosts(t, posts), DefaultParams())
	want := []bool{false, true, false, false}
	for i, r := range rows {
		if (r.TextKey != nil) != want[i] {
			t.Errorf("post %s: has text key %v, want %v", r.PostID, r.TextKey != nil, want[i])
		}
	}
	p := DefaultParams()
	p.MinTextRunes = 1
	rows, _, _ = runStage(t, writePosts(t, posts), p)
	want = []bool{true, true, true, false}
	for i, r := range rows {
		if (r.TextKey != nil) != want[i] {
			t.Errorf("min 1, post %s: has text key %v, want %v", r.PostID, r.TextKey != nil, want[i])
		}
	}
}

func TestRunDeterministic(t *testing.T) {
	var posts []schema.Post
	n := 3*pqio.RowGroupRows + 1000 // several row groups, read by several workers
	if testing.Short() {
		n = pqio.RowGroupRows + 1000
	}
	for i := range n {
		posts = append(posts, schema.Post{
			PostID: fmt.Sprint(i), AccountID: fmt.Sprint("acc", i%97), PostedAt: int64(i * 1000),
			Text:     fmt.Sprintf("RT @u%d: message number %d &amp; more https://t.co/%d", i%5, i%300, i),
			URLs:     []string{fmt.Sprintf("https://www.site%d.com/p?utm_source=x&id=%d", i%7, i%11)},
			Hashtags: []string{fmt.Sprint("tag", i%3), fmt.Sprint("tag", i%4)},
			IsRepost: i%10 == 0, RepostOfPostID: map[bool]*string{true: new("7")}[i%10 == 0],
		})
	}
	path := writePosts(t, posts)
	old := runtime.GOMAXPROCS(1)
	fps, st1, b1 := runStage(t, path, DefaultParams())
	runtime.GOMAXPROCS(4)
	_, st4, b4 := runStage(t, path, DefaultParams())
	runtime.GOMAXPROCS(old)
	if !bytes.Equal(b1, b4) {
		t.Fatal("output bytes differ between GOMAXPROCS 1 and 4")
	}
	if st1 != st4 {
		t.Fatalf("stats differ: %+v vs %+v", st1, st4)
	}
	// The stage reads the posts column by column, a row group at a time:
	// every output row must still be its input row.
	for i, fp := range fps {
		p := posts[i]
		var wantRepost *string
		if p.IsRepost {
			wantRepost = p.RepostOfPostID
		}
		if fp.PostID != p.PostID || fp.AccountID != p.AccountID || fp.PostedAt != p.PostedAt ||
			!reflect.DeepEqual(fp.RepostKey, wantRepost) || (fp.TextKey == nil) != p.IsRepost || len(fp.URLKeys) != 1 {
			t.Fatalf("row %d: %+v, from post %+v", i, fp, p)
		}
	}
	if len(fps) != n {
		t.Fatalf("%d rows, want %d", len(fps), n)
	}
}

func TestRunCancelled(t *testing.T) {
	path := writePosts(t, []schema.Post{{PostID: "1", AccountID: "a"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	if _, err := Run(ctx, Input{PostsPath: path}, DefaultParams(), out, nil); err == nil {
		t.Fatal("want an error from a cancelled context")
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Fatalf("cancelled run left files: %v", ents)
	}
}

func BenchmarkRun100k(b *testing.B) {
	texts := []string{
		"RT @someone: This is a typical tweet about #politics with a link https://t.co/AbCdEf%d",
		"Just a plain sentence number %d without anything special in it, quite long though.",
		"Ｆｕｌｌｗｉｄｔｈ text %d and &amp; entities @mention www.example.com/path",
		"Breaking: U.S. officials say %d things happened today. More at bit.ly/abc",
	}
	posts := make([]schema.Post, 100_000)
	for i := range posts {
		posts[i] = schema.Post{
			PostID: fmt.Sprint(i), AccountID: fmt.Sprint("acc", i%5000), PostedAt: int64(i) * 1000,
			Text:     fmt.Sprintf(texts[i%len(texts)], i%1000),
			URLs:     []string{fmt.Sprintf("https://www.news%d.co.uk/story?id=%d&utm_source=tw", i%50, i%300)},
			Hashtags: []string{"politics", fmt.Sprint("tag", i%20)},
		}
	}
	path := writePosts(b, posts)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), Input{PostsPath: path}, DefaultParams(), b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunFile runs the stage on the posts table named by the
// environment variable TAKEDOWN_BENCH_POSTS (for example a normalize run's
// posts.parquet of a 1M-row archive); it is skipped when the variable is unset.
func BenchmarkRunFile(b *testing.B) {
	path := os.Getenv("TAKEDOWN_BENCH_POSTS")
	if path == "" {
		b.Skip("TAKEDOWN_BENCH_POSTS is not set")
	}
	n, err := pqio.NumRows(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(context.Background(), Input{PostsPath: path}, DefaultParams(), b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkBandKeys(b *testing.B) {
	text := rules.NormalizeText("RT @someone: This is a typical tweet about #politics with a link https://t.co/AbCdEf1234 and some more words")
	for _, c := range []struct{ perms, bands int }{{64, 8}, {128, 11}} {
		b.Run(fmt.Sprintf("%dx%d", c.perms, c.bands), func(b *testing.B) {
			m := newMinHasher(c.perms, c.bands, DefaultParams().ShingleSize)
			b.ReportAllocs()
			for b.Loop() {
				m.bandKeys(text)
			}
		})
	}
}

// TestRunCancelledMidway cancels runs at different moments: every run must
// return (the pipeline's goroutines must not block each other), and a
// cancelled one must leave nothing behind.
func TestRunCancelledMidway(t *testing.T) {
	posts := make([]schema.Post, 30000)
	for i := range posts {
		posts[i] = schema.Post{PostID: fmt.Sprint(i), AccountID: "a", Text: fmt.Sprint("some text number ", i)}
	}
	path := writePosts(t, posts)
	cancelled := 0
	for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(after, cancel)
		out := t.TempDir()
		done := make(chan error, 1)
		go func() {
			_, err := Run(ctx, Input{PostsPath: path}, DefaultParams(), out, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				cancelled++
				if !errors.Is(err, context.Canceled) {
					t.Errorf("cancelled after %v: error %v, want context.Canceled", after, err)
				}
				if ents, _ := os.ReadDir(out); len(ents) != 0 {
					t.Errorf("cancelled after %v: left %v", after, ents)
				}
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("run cancelled after %v did not return", after)
		}
		cancel()
	}
	if cancelled == 0 {
		t.Error("no run was cancelled")
	}
}
