package normalize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/archive"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

func TestParseMediaEntry(t *testing.T) {
	for _, c := range []struct {
		name, id, key string
		ok            bool
	}{
		{"ira_10/09f9f2673dc3/images/673250708364247040-CVfPc8YUsAApZSL.jpg", "673250708364247040", "CVfPc8YUsAApZSL", true},
		{"673250708364247040-CVfPc8YUsAApZSL.mp4", "673250708364247040", "CVfPc8YUsAApZSL", true},
		{"x/videos/1234_abc.def.mp4", "1234", "abc.def", true},
		{"1234.jpg", "1234", "", true},
		{"1234", "1234", "", true},
		{"dir/1234-", "1234", "", true},
		{"README.txt", "", "README", false},
		{"12ab-key.jpg", "", "12ab-key", false},
		{"-123.jpg", "", "-123", false},
		{"123456789012345678901-k.jpg", "", "123456789012345678901-k", false}, // 21 digits
		{"99999999999999999999-k.jpg", "", "99999999999999999999-k", false},   // over uint64
		{"18446744073709551615-k.jpg", "18446744073709551615", "k", true},
		{"images/", "", "", false},
		{"", "", "", false},
	} {
		id, key, ok := ParseMediaEntry(c.name)
		if id != c.id || key != c.key || ok != c.ok {
			t.Errorf("ParseMediaEntry(%q) = %q, %q, %v; want %q, %q, %v", c.name, id, key, ok, c.id, c.key, c.ok)
		}
	}
}

func FuzzParseMediaEntry(f *testing.F) {
	for _, s := range []string{"ira_10/u/images/673250708364247040-CVfPc8YUsAApZSL.jpg", "1-a.b.c", "README", "0", "00012-x", "é/12-ü.png", "12\x00-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, key, ok := ParseMediaEntry(name)
		if strings.Contains(key, "/") {
			t.Fatalf("%q: media key %q holds a slash", name, key)
		}
		if !ok {
			if id != "" {
				t.Fatalf("%q: no id but id %q", name, id)
			}
			return
		}
		if id == "" || len(id) > maxTweetIDDigits {
			t.Fatalf("%q: id %q", name, id)
		}
		for _, c := range []byte(id) {
			if c < '0' || c > '9' {
				t.Fatalf("%q: id %q is not digits", name, id)
			}
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		if !strings.HasPrefix(base, id) {
			t.Fatalf("%q: base %q does not start with id %q", name, base, id)
		}
		if key != "" && !strings.Contains(base, key) {
			t.Fatalf("%q: key %q not in base %q", name, key, base)
		}
	})
}

func TestPostIndex(t *testing.T) {
	x := newPostIndex()
	x.add("20", "a")
	x.add("10", "b")
	x.add("20", "c") // a duplicate id: the first post wins
	x.add("007", "d")
	x.add("abc", "e")
	for _, c := range []struct {
		id, acct string
		ok       bool
	}{{"20", "a", true}, {"10", "b", true}, {"007", "d", true}, {"7", "", false}, {"abc", "e", true}, {"30", "", false}, {"", "", false}} {
		got, ok := x.lookup(c.id)
		if got != c.acct || ok != c.ok {
			t.Errorf("lookup(%q) = %q, %v; want %q, %v", c.id, got, ok, c.acct, c.ok)
		}
	}
}

func testImage(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*7) + seed, uint8(y * 5), seed, 255})
		}
	}
	return img
}

func jpegBytes(t testing.TB, w, h int, seed uint8) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h, seed), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h, 3)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h, 9), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a valid PNG header declaring w x h pixels followed by an
// empty image: a decompression bomb refused from its header.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		b.WriteString(typ)
		c.Write([]byte(typ))
		b.Write(data)
		c.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// corruptPNG is a whole PNG whose header fails its checksum.
func corruptPNG(t testing.TB) []byte {
	b := pngBytes(t, 5, 5)
	b[16+3] ^= 0x40 // the IHDR width
	return b
}

func mp4Bytes() []byte {
	return append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), bytes.Repeat([]byte{0xab}, 300)...)
}

// mediaRun runs the stage over a tweets file and media archives with the
// given GOMAXPROCS and returns the stats, the media rows and the bytes of
// media.parquet.
func mediaRun(t *testing.T, procs int, files []SourceFile, media []SourceFile) (Stats, []schema.Media, []byte) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	out := t.TempDir()
	st, err := Run(context.Background(), Input{Dataset: "test/ds", Files: files, Media: media}, DefaultParams(), out, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	p := filepath.Join(out, schema.TableMedia+".parquet")
	rows, err := pqio.ReadAll[schema.Media](p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return st, rows, b
}

func TestMediaTable(t *testing.T) {
	dir := t.TempDir()
	t0, t1 := tweet(0, nil), tweet(1, nil)
	tweets := writeSource(t, dir, "x_tweets_csv_hashed.csv", []byte(csvText(tweetsCols, t0, t1)))
	good := jpegBytes(t, 40, 30, 1)
	orphanID := "1111111111111111111"
	entries := []zipEntry{
		{"x_1/u1/images/" + t0["tweetid"] + "-KEYa.jpg", string(good)},
		{"x_1/u1/images/" + t0["tweetid"] + "-KEYb.png", string(pngBytes(t, 17, 9))},
		{"x_1/u1/gifs/" + t1["tweetid"] + "-KEYc.gif", string(gifBytes(t, 12, 8))},
		{"x_1/u1/videos/" + t1["tweetid"] + "-KEYd.mp4", string(mp4Bytes())},
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYe.jpg", string(good[:len(good)/2])},    // truncated
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYf.png", string(bombPNG(60000, 60000))}, // bomb header
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYg.jpg", string(corruptPNG(t))},         // corrupt header
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYh.jpg", "plain text, no image"},        // unknown format
		{"x_1/u1/other/" + t1["tweetid"] + "-KEYi.bin", "\x00\x01\x02"},                 // other
		{"x_1/u1/images/" + orphanID + "-KEYj.jpg", string(good)},                       // orphan
		{"x_1/u1/images/cover.jpg", string(good)},                                       // no tweet id
		{"x_1/.DS_Store", "junk"}, // skipped
	}
	m1 := writeSource(t, dir, "x_hashed_001.zip", zipBytes(t, entries...))
	m2 := writeSource(t, dir, "x_hashed_002.zip", zipBytes(t, zipEntry{t0["tweetid"] + "-Z.jpg", string(good)}))

	st, rows, _ := mediaRun(t, 2, []SourceFile{tweets}, []SourceFile{m2, m1})
	type want struct {
		entry, post, key, kind, reason string
		acct                           bool
		w, h                           int32
	}
	sum := sha256.Sum256(good)
	wants := []want{
		{"x_1/u1/gifs/" + t1["tweetid"] + "-KEYc.gif", t1["tweetid"], "KEYc", "gif", "", true, 12, 8},
		{"x_1/u1/images/" + orphanID + "-KEYj.jpg", orphanID, "KEYj", "image", "", false, 40, 30},
		{"x_1/u1/images/" + t0["tweetid"] + "-KEYa.jpg", t0["tweetid"], "KEYa", "image", "", true, 40, 30},
		{"x_1/u1/images/" + t0["tweetid"] + "-KEYb.png", t0["tweetid"], "KEYb", "image", "", true, 17, 9},
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYe.jpg", t1["tweetid"], "KEYe", "image", MediaTruncated, true, 0, 0},
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYf.png", t1["tweetid"], "KEYf", "image", MediaTooLarge, true, 0, 0},
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYg.jpg", t1["tweetid"], "KEYg", "image", MediaCorrupt, true, 0, 0},
		{"x_1/u1/images/" + t1["tweetid"] + "-KEYh.jpg", t1["tweetid"], "KEYh", "image", MediaUnknownFormat, true, 0, 0},
		{"x_1/u1/images/cover.jpg", "", "cover", "image", MediaNoTweetID, false, 40, 30},
		{"x_1/u1/other/" + t1["tweetid"] + "-KEYi.bin", t1["tweetid"], "KEYi", "other", MediaUnknownFormat, true, 0, 0},
		{"x_1/u1/videos/" + t1["tweetid"] + "-KEYd.mp4", t1["tweetid"], "KEYd", "video", "", true, 0, 0},
	}
	// Sorted by tweet id the two posts are t0 < t1 (snowflakes of later
	// times are larger), and entries sort by name within an archive.
	if len(rows) != len(wants)+1 {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(wants)+1, rows)
	}
	if rows[0].Archive != "x_hashed_001.zip" || rows[len(rows)-1].Archive != "x_hashed_002.zip" {
		t.Errorf("archives out of order: first %s, last %s", rows[0].Archive, rows[len(rows)-1].Archive)
	}
	for i, w := range wants {
		r := rows[i]
		if r.Entry != w.entry || r.PostID != w.post || r.MediaKey != w.key || r.Kind != w.kind || r.Reason != w.reason {
			t.Errorf("row %d = %s %q %q %s %q, want %s %q %q %s %q", i, r.Entry, r.PostID, r.MediaKey, r.Kind, r.Reason, w.entry, w.post, w.key, w.kind, w.reason)
		}
		if (r.AccountID != nil) != w.acct {
			t.Errorf("row %d (%s): account %v, want set=%v", i, r.Entry, r.AccountID, w.acct)
		}
		if w.w != 0 {
			if r.Width == nil || r.Height == nil || *r.Width != w.w || *r.Height != w.h {
				t.Errorf("row %d (%s): size %v x %v, want %d x %d", i, r.Entry, r.Width, r.Height, w.w, w.h)
			}
		} else if r.Width != nil || r.Height != nil {
			t.Errorf("row %d (%s): size %v x %v, want null", i, r.Entry, *r.Width, *r.Height)
		}
		if r.Dataset != "test/ds" || r.Bytes <= 0 || len(r.SHA256) != 64 {
			t.Errorf("row %d: dataset %q, bytes %d, sha256 %q", i, r.Dataset, r.Bytes, r.SHA256)
		}
	}
	if rows[2].SHA256 != hex.EncodeToString(sum[:]) || rows[2].Bytes != int64(len(good)) {
		t.Errorf("sha256/bytes of %s: %s %d", rows[2].Entry, rows[2].SHA256, rows[2].Bytes)
	}
	if a := rows[2].AccountID; a == nil || *a != t0["userid"] {
		t.Errorf("account of %s: %v, want %s", rows[2].Entry, a, t0["userid"])
	}
	ms := st.Media
	if ms == nil {
		t.Fatal("no media stats")
	}
	if ms.Files != int64(len(rows)) || ms.Orphans != 1 || len(ms.Archives) != 2 {
		t.Errorf("stats: files %d orphans %d archives %d", ms.Files, ms.Orphans, len(ms.Archives))
	}
	wantReasons := map[string]int64{MediaTruncated: 1, MediaTooLarge: 1, MediaCorrupt: 1, MediaUnknownFormat: 2, MediaNoTweetID: 1}
	for k, v := range wantReasons {
		if ms.ByReason[k] != v {
			t.Errorf("by_reason[%s] = %d, want %d (%v)", k, ms.ByReason[k], v, ms.ByReason)
		}
	}
	if ms.ByKind["image"] != 9 || ms.ByKind["gif"] != 1 || ms.ByKind["video"] != 1 || ms.ByKind["other"] != 1 {
		t.Errorf("by_kind = %v", ms.ByKind)
	}
	if tab := st.Table(); !strings.Contains(tab, "media 12 files in 2 archives (gif=1 image=9 other=1 video=1), 1 orphans, reasons corrupt=1 no_tweet_id=1 too_large=1 truncated=1 unknown_format=2\n") {
		t.Errorf("the table lacks the media line:\n%s", tab)
	}
	if st.Posts != 2 {
		t.Errorf("posts = %d, want 2 (media must not change the posts)", st.Posts)
	}
}

// TestMediaDeterministic checks byte-identical media.parquet for any
// number of workers, over more entries than the workers hold at once.
func TestMediaDeterministic(t *testing.T) {
	dir := t.TempDir()
	var rows []map[string]string
	for i := 0; i < 30; i++ {
		rows = append(rows, tweet(i, nil))
	}
	tweets := writeSource(t, dir, "x_tweets_csv_hashed.csv", []byte(csvText(tweetsCols, rows...)))
	var entries []zipEntry
	for i := 0; i < 300; i++ {
		body := string(jpegBytes(t, 8+i%13, 8+i%7, uint8(i)))
		if i%17 == 0 {
			body = body[:len(body)/3]
		}
		entries = append(entries, zipEntry{rows[i%30]["tweetid"] + "-k" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + ".jpg", body})
	}
	media := []SourceFile{writeSource(t, dir, "x_hashed_001.zip", zipBytes(t, entries...))}
	_, r1, b1 := mediaRun(t, 1, []SourceFile{tweets}, media)
	_, r4, b4 := mediaRun(t, 4, []SourceFile{tweets}, media)
	if len(r1) != 300 || !bytes.Equal(b1, b4) {
		t.Fatalf("GOMAXPROCS 1 and 4 differ (%d and %d rows, %d and %d bytes)", len(r1), len(r4), len(b1), len(b4))
	}
	for i := 1; i < len(r1); i++ {
		if r1[i-1].Entry >= r1[i].Entry {
			t.Fatalf("rows not in entry order at %d: %s, %s", i, r1[i-1].Entry, r1[i].Entry)
		}
	}
}

// TestNoMediaNoTable checks that a dataset without media archives gets no
// media.parquet and no media stats.
func TestNoMediaNoTable(t *testing.T) {
	dir := t.TempDir()
	r := run(t, writeSource(t, dir, "x_tweets_csv_hashed.csv", []byte(csvText(tweetsCols, tweet(0, nil)))))
	if _, err := os.Stat(filepath.Join(r.dir, schema.TableMedia+".parquet")); !os.IsNotExist(err) {
		t.Errorf("media.parquet written without media: %v", err)
	}
	if r.stats.Media != nil {
		t.Errorf("media stats without media: %+v", r.stats.Media)
	}
}

func TestMediaBadArchives(t *testing.T) {
	dir := t.TempDir()
	tweets := writeSource(t, dir, "x_tweets_csv_hashed.csv", []byte(csvText(tweetsCols, tweet(0, nil))))
	for _, c := range []struct {
		name string
		body []byte
		want error
	}{
		{"x_hashed_README.txt", []byte("This archive holds media"), ErrMediaArchive},
		{"x_hashed_001.zip", zipBytes(t, zipEntry{"../1-a.jpg", "x"}), archive.ErrUnsafe},
		{"x_hashed_002.zip", []byte("PK\x03\x04 cut short"), archive.ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{tweets}, Media: []SourceFile{writeSource(t, dir, c.name, c.body)}}, DefaultParams(), out, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if es, _ := os.ReadDir(out); len(es) != 0 {
				t.Errorf("outputs left after an error: %v", es)
			}
		})
	}
}

// TestBombHeaderNoAllocation: a header declaring 60000x60000 pixels is a
// reason, not an allocation of 14 GB.
func TestBombHeaderNoAllocation(t *testing.T) {
	bomb := bombPNG(60000, 60000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	row := schema.Media{Entry: "1-k.png"}
	describeMedia(&row, bomb, true)
	runtime.ReadMemStats(&after)
	if row.Reason != MediaTooLarge || row.Width != nil {
		t.Fatalf("row %+v, want too_large without a size", row)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("describing a bomb header allocated %d bytes", d)
	}
}
