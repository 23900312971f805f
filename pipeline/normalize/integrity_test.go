package normalize

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"math/rand"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/takedown-research/takedown/internal/archive"
)

// rawZip writes a zip with one deflated entry whose header is written raw:
// it declares declared uncompressed bytes and the given mode, whatever body
// inflates to.
func rawZip(t *testing.T, name string, body []byte, declared uint64, mode os.FileMode) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(body),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared}
	if mode != 0 {
		h.SetMode(mode)
	}
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestZipThroughArchive checks that normalize reads zips through
// internal/archive, its limits included: an entry that lies about its size
// is stopped by the archive's own counting reader (archive.ErrUnsafe), a
// symlink entry is refused and never read as CSV.
func TestZipThroughArchive(t *testing.T) {
	body := []byte(csvText(tweetsCols, tweet(0, nil), tweet(1, nil), tweet(2, nil)))
	cases := []struct {
		name    string
		zip     []byte
		archive error // the archive package's error in the chain
		msg     string
	}{
		{"lying.zip", rawZip(t, "tweets.csv", body, 200, 0), archive.ErrUnsafe, `entry tweets.csv yields more bytes than the 200 it declares`},
		{"link.zip", rawZip(t, "tweets.csv", []byte("other.csv"), 9, os.ModeSymlink|0o777), archive.ErrUnsafe, `entry "tweets.csv" is a symlink to "other.csv", inside the archive`},
		{"linkout.zip", rawZip(t, "tweets.csv", []byte("../../etc/passwd"), 16, os.ModeSymlink|0o777), archive.ErrUnsafe, `outside the archive`},
		{"stored-unknown.zip", func() []byte {
			z := zipBytes(t, zipEntry{"tweets.csv", string(body)})
			// Method 99 (AES) in both the local and the central header.
			z = bytes.Replace(z, []byte{8, 0}, []byte{99, 0}, -1)
			return z
		}(), archive.ErrCorrupt, "compression method 99 is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := writeSource(t, t.TempDir(), c.name, c.zip)
			_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, DefaultParams(), t.TempDir(), nil)
			if !errors.Is(err, ErrCorruptArchive) || !errors.Is(err, c.archive) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v and %v mentioning %q", err, ErrCorruptArchive, c.archive, c.msg)
			}
			if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("err = %v: from archive/zip, or not naming the file", err)
			}
		})
	}
	// The same entry with honest headers is read.
	r := run(t, writeSource(t, t.TempDir(), "honest.zip", rawZip(t, "tweets.csv", body, uint64(len(body)), 0)))
	if len(r.posts) != 3 {
		t.Fatalf("posts %d", len(r.posts))
	}
}

// TestZipSkippedEntries checks the one rule for entries that are not data
// (archive.Skipped): __MACOSX folders anywhere and hidden files are not
// read; every other entry is, in name order.
func TestZipSkippedEntries(t *testing.T) {
	body := csvText(tweetsCols, tweet(0, nil))
	z := zipBytes(t,
		zipEntry{"d/__MACOSX/x.csv", "junk"},
		zipEntry{"__MACOSX/._b.csv", "junk"},
		zipEntry{"d/.DS_Store", "junk"},
		zipEntry{".hidden.csv", "junk"},
		zipEntry{"d/", ""},
		zipEntry{"d/b.csv", body},
		zipEntry{"a.csv", body})
	r := run(t, writeSource(t, t.TempDir(), "x.zip", z))
	var got []string
	for _, fs := range r.stats.Files {
		got = append(got, fs.Entry)
	}
	if strings.Join(got, " ") != "a.csv d/b.csv" {
		t.Fatalf("entries read: %v", got)
	}
}

// utf16Bytes encodes s as UTF-16, little- or big-endian, with or without a
// byte order mark.
func utf16Bytes(s string, big, bom bool) []byte {
	var out []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if big {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func TestSniffText(t *testing.T) {
	csv := csvText(tweetsCols, tweet(0, map[string]string{"tweet_text": "Привет, мир"}))
	random := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(random)
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"utf-8", []byte(csv), textUTF8},
		{"utf-8 bom", append([]byte{0xEF, 0xBB, 0xBF}, csv...), textUTF8},
		{"utf-8 stray NUL and controls", []byte(csv[:300] + "\x00\x01\x02" + csv[300:]), textUTF8},
		{"empty", nil, textUTF8},
		{"utf-16le bom", utf16Bytes(csv, false, true), textUTF16LE},
		{"utf-16be bom", utf16Bytes(csv, true, true), textUTF16BE},
		{"utf-16le no bom", utf16Bytes(csv, false, false), textUTF16LE},
		{"utf-16be no bom", utf16Bytes(csv, true, false), textUTF16BE},
		{"utf-16le cyrillic no bom", utf16Bytes("userid,имя\n1,Привет\n2,мир\n", false, false), textUTF16LE},
		{"utf-32le bom", append([]byte{0xFF, 0xFE, 0, 0}, 'a', 0, 0, 0), textUTF32LE},
		{"utf-32be bom", []byte{0, 0, 0xFE, 0xFF, 0, 0, 0, 'a'}, textUTF32BE},
		{"random bytes", random, textBinary},
		{"sqlite", append([]byte("SQLite format 3\x00"), make([]byte, 100)...), textBinary},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"), textBinary},
		{"three controls", []byte("a,b\n\x00\x01\x02"), textUTF8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, evidence := sniffText(c.head)
			if got != c.want || (got != textUTF8) != (evidence != "") {
				t.Fatalf("sniffText = %q (%s), want %q", got, evidence, c.want)
			}
		})
	}
}

// TestNotText runs files that are not UTF-8 text: each is refused naming
// the file, what it is and how to convert it, as bad input.
func TestNotText(t *testing.T) {
	csv := csvText(tweetsCols, tweet(0, nil), tweet(1, nil))
	random := make([]byte, 8192)
	rand.New(rand.NewSource(2)).Read(random)
	cases := []struct {
		name    string
		content []byte
		msg     string
	}{
		{"x_tweets.csv", utf16Bytes(csv, false, true),
			"x_tweets.csv: not UTF-8 CSV text: file x_tweets.csv is UTF-16 encoded (byte order mark FF FE): convert it to UTF-8 with iconv -f UTF-16 -t UTF-8 x_tweets.csv > x_tweets-utf8.csv"},
		{"be.csv", utf16Bytes(csv, true, false),
			"file be.csv is UTF-16 encoded (no byte order mark, a NUL before"},
		{"le.csv", utf16Bytes(csv, false, false), "iconv -f UTF-16LE -t UTF-8 le.csv > le-utf8.csv"},
		{"x.csv.gz", gzipBytes(t, string(utf16Bytes(csv, false, true))), "gunzip -c x.csv.gz | iconv -f UTF-16 -t UTF-8 > x-utf8.csv"},
		{"x.zip", zipBytes(t, zipEntry{"d/tweets.csv", string(utf16Bytes(csv, true, true))}),
			"x.zip!d/tweets.csv: not UTF-8 CSV text: file x.zip!d/tweets.csv is UTF-16 encoded (byte order mark FE FF): convert it to UTF-8 with unzip -p x.zip d/tweets.csv | iconv -f UTF-16 -t UTF-8 > tweets-utf8.csv"},
		{"u32.csv", append([]byte{0xFF, 0xFE, 0, 0}, csv...), "file u32.csv is UTF-32 encoded (byte order mark FF FE 00 00)"},
		{"data.xls", random, "file data.xls is binary, not CSV ("},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := writeSource(t, t.TempDir(), c.name, c.content)
			_, err := Run(context.Background(), Input{Dataset: "d", Files: []SourceFile{f}}, DefaultParams(), t.TempDir(), nil)
			if !errors.Is(err, ErrNotText) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v\nwant ErrNotText with %q", err, c.msg)
			}
			if strings.Contains(err.Error(), "quote") {
				t.Fatalf("err = %v speaks of quotes", err)
			}
		})
	}
	// A UTF-8 file with a stray NUL in a record is read.
	r := run(t, writeSource(t, t.TempDir(), "nul.csv", []byte(csvText(tweetsCols, tweet(0, map[string]string{"tweet_text": "a\x00b"})))))
	if len(r.posts) != 1 || r.posts[0].Text != "a\x00b" {
		t.Fatalf("posts %+v", r.posts)
	}
}

// FuzzSniffText checks sniffText on any bytes: it never panics, gives
// evidence exactly for a refused kind, and is decided by the first
// sniffBytes bytes.
func FuzzSniffText(f *testing.F) {
	f.Add([]byte(csvText(tweetsCols, tweet(0, nil))))
	f.Add(utf16Bytes("userid,name\n1,a\n", false, true))
	f.Add(utf16Bytes("userid,name\n1,a\n", true, false))
	f.Add([]byte("\x00\x01\x02\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, evidence := sniffText(b)
		if (kind == textUTF8) != (evidence == "") {
			t.Fatalf("kind %q evidence %q", kind, evidence)
		}
		if len(b) > sniffBytes {
			if k, _ := sniffText(b[:sniffBytes]); k != kind {
				t.Fatalf("kind %q, %q on the first %d bytes", kind, k, sniffBytes)
			}
		}
		if kind == textBinary && bytes.IndexFunc(b, func(r rune) bool { return r < 0x20 }) < 0 {
			t.Fatalf("binary without a control byte: %q", b)
		}
		if (bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF})) && !strings.HasPrefix(kind, "UTF-") {
			t.Fatalf("a UTF-16 byte order mark read as %q", kind)
		}
	})
}
