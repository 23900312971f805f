package normalize

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"

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
