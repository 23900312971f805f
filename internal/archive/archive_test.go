package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name    string
	body    []byte
	symlink bool
}

// writeZip generates a zip fixture in the test's temp dir.
func writeZip(t *testing.T, entries []entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.symlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "fixture.zip")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeLyingZip writes a zip whose one entry declares declared bytes (and
// CRC-32 crc, when not 0) but inflates to body. The headers are written raw,
// so archive/zip does not compute them.
func writeLyingZip(t *testing.T, body []byte, declared uint64, crc uint32) string {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if crc == 0 {
		crc = crc32.ChecksumIEEE(body)
	}
	h := &zip.FileHeader{Name: "data.csv", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared}
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	p := filepath.Join(t.TempDir(), "lying.zip")
	os.WriteFile(p, buf.Bytes(), 0o644)
	return p
}

func TestOpenZip(t *testing.T) {
	small := Limits{MaxEntries: 5, MaxRatio: 50, RatioFloor: 1 << 16, MaxBytes: 64 << 20}
	zeros := make([]byte, 8<<20) // deflates about 1000x: a bomb under the small limits
	csv := []byte("userid,tweetid\n1,2\n")
	many := make([]entry, 6)
	for i := range many {
		many[i] = entry{name: strings.Repeat("a", i+1) + ".csv", body: csv}
	}
	cases := []struct {
		name    string
		entries []entry
		want    error // nil: opens
		msg     string
	}{
		{"plain", []entry{{name: "ira_tweets_csv_hashed.csv", body: csv}}, nil, ""},
		{"folder", []entry{{name: "d/", body: nil}, {name: "d/x.csv", body: csv}}, nil, ""},
		{"symlink inside", []entry{{name: "d/x.csv", body: csv}, {name: "d/link.csv", body: []byte("x.csv"), symlink: true}}, ErrUnsafe, `entry "d/link.csv" is a symlink to "x.csv", inside the archive`},
		{"dotdot", []entry{{name: "../../evil.csv", body: csv}}, ErrUnsafe, "traversal"},
		{"inner dotdot", []entry{{name: "a/../../evil.csv", body: csv}}, ErrUnsafe, "traversal"},
		{"absolute", []entry{{name: "/etc/cron.d/x", body: csv}}, ErrUnsafe, "absolute"},
		{"drive", []entry{{name: "C:/x.csv", body: csv}}, ErrUnsafe, "absolute"},
		{"backslash", []entry{{name: "..\\..\\evil.csv", body: csv}}, ErrUnsafe, "backslash"},
		{"symlink out", []entry{{name: "link", body: []byte("../../../etc/passwd"), symlink: true}}, ErrUnsafe, "outside the archive"},
		{"symlink absolute", []entry{{name: "link", body: []byte("/etc/passwd"), symlink: true}}, ErrUnsafe, "outside the archive"},
		{"too many entries", many, ErrUnsafe, "more than the limit of 5"},
		{"bomb", []entry{{name: "bomb.csv", body: zeros}}, ErrUnsafe, "zip bomb"},
		{"duplicate", []entry{{name: "a.csv", body: csv}, {name: "a.csv", body: csv}}, ErrUnsafe, "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeZip(t, c.entries)
			z, err := OpenZip(p, small)
			if c.want == nil {
				if err != nil {
					t.Fatalf("OpenZip: %v", err)
				}
				defer z.Close()
				if err := z.Verify(); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, c.want, c.msg)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

// TestLyingSizes reads entries whose headers lie about their uncompressed
// size. The archive's own counting reader must stop an entry that yields
// more than it declares, with ErrUnsafe, before archive/zip's size or
// checksum checks could (they would give zip.ErrFormat or zip.ErrChecksum,
// which Open never lets through): without the limit this test fails.
func TestLyingSizes(t *testing.T) {
	body := bytes.Repeat([]byte("a,b,c\n"), 50_000) // 300,000 bytes
	cases := []struct {
		name     string
		declared uint64
		crc      uint32 // 0: the body's
		want     error
		msg      string
	}{
		{"declares less", 100, 0, ErrUnsafe, "yields more bytes than the 100 it declares"},
		{"declares less, bad crc", 100, 1, ErrUnsafe, "yields more bytes than the 100 it declares"},
		{"declares more", uint64(len(body)) + 10, 0, ErrCorrupt, "yields 300000 bytes, not the 300010 it declares"},
		{"bad crc", uint64(len(body)), 1, ErrCorrupt, "checksum mismatch"},
		{"honest", uint64(len(body)), 0, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeLyingZip(t, body, c.declared, c.crc)
			z, err := OpenZip(p, DefaultLimits())
			if err != nil {
				t.Fatalf("OpenZip: %v", err) // declared sizes look harmless
			}
			defer z.Close()
			rc, err := z.Open("data.csv")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if c.want == nil {
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("read %d bytes, err %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, c.want, c.msg)
			}
			if c.want == ErrUnsafe && (errors.Is(err, ErrCorrupt) || len(got) > int(c.declared)) {
				t.Fatalf("err = %v after %d bytes: the limit must stop the entry at its declared size", err, len(got))
			}
			if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
				t.Fatalf("err = %v comes from archive/zip", err)
			}
			if err := z.Verify(); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// TestTotalBytesRead checks the limit on the bytes read from an archive in
// total, over every entry opened: reading an entry a second time passes it.
func TestTotalBytesRead(t *testing.T) {
	body := bytes.Repeat([]byte("x,y\n"), 10_000) // 40,000 bytes
	p := writeZip(t, []entry{{name: "a.csv", body: body}})
	lim := DefaultLimits()
	lim.MaxBytes = 60_000
	z, err := OpenZip(p, lim)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for i, want := range []error{nil, ErrUnsafe} {
		rc, err := z.Open("a.csv")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if !errors.Is(err, want) || (want != nil && !strings.Contains(err.Error(), "more than 60000 bytes")) {
			t.Fatalf("read %d: err = %v, want %v", i+1, err, want)
		}
	}
}

func TestSkipped(t *testing.T) {
	for name, want := range map[string]bool{
		"tweets.csv": false, "./tweets.csv": false, "d/tweets.csv": false, "MACOSX.csv": false,
		"__MACOSX/._tweets.csv": true, "d/__MACOSX/x.csv": true, ".DS_Store": true,
		"d/.DS_Store": true, "d/._tweets.csv": true, ".hidden.csv": true,
	} {
		if got := Skipped(name); got != want {
			t.Errorf("Skipped(%q) = %v, want %v", name, got, want)
		}
	}
	p := writeZip(t, []entry{{name: "__MACOSX/._a.csv", body: []byte("x")}, {name: "d/.DS_Store", body: []byte("x")}, {name: "d/a.csv", body: []byte("a\n")}})
	z, err := OpenZip(p, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if es := z.DataEntries(); len(es) != 1 || es[0].Name != "d/a.csv" {
		t.Fatalf("DataEntries = %+v", es)
	}
}

func TestCorruptZip(t *testing.T) {
	p := writeZip(t, []entry{{name: "a.csv", body: bytes.Repeat([]byte("x,y\n"), 1000)}})
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o644) // a download cut in the middle
	_, err := OpenZip(p, DefaultLimits())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("err = %v, want ErrCorrupt suggesting a truncated download", err)
	}
	if _, err := Check(p, DefaultLimits()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
}

func TestCheckPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "x.csv")
	os.WriteFile(plain, []byte("PK this is not a zip"), 0o644)
	if e, err := Check(plain, DefaultLimits()); err != nil || e != nil {
		t.Fatalf("Check(plain) = %v, %v", e, err)
	}
	gz := filepath.Join(dir, "x.csv.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("a,b\n"))
	zw.Close()
	os.WriteFile(gz, buf.Bytes(), 0o644)
	if _, err := Check(gz, DefaultLimits()); err != nil {
		t.Fatalf("Check(gz) = %v", err)
	}
	os.WriteFile(gz, []byte{0x1f, 0x8b, 0, 0}, 0o644)
	if _, err := Check(gz, DefaultLimits()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Check(bad gz) = %v, want ErrCorrupt", err)
	}
}

func TestGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	lim := Limits{MaxEntries: 1, MaxRatio: 50, RatioFloor: 1 << 16, MaxBytes: 1 << 30}
	r, err := GzipReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), lim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("err = %v, want ErrUnsafe", err)
	}
}

func TestMatch(t *testing.T) {
	es := []Entry{{Name: "russian_linked_tweets_csv_hashed.csv"}, {Name: "hashed/2019_01/russia_201901_1_users_csv_hashed.csv"}}
	cases := []struct {
		want, got string
		fail      bool
	}{
		{"russian_linked_tweets_csv_hashed.csv", "russian_linked_tweets_csv_hashed.csv", false},
		{"russia_201901_1_users_csv_hashed.csv", "hashed/2019_01/russia_201901_1_users_csv_hashed.csv", false},
		{"nope.csv", "", true},
	}
	for _, c := range cases {
		e, err := Match(es, c.want)
		if c.fail != (err != nil) || e.Name != c.got {
			t.Errorf("Match(%q) = %q, %v", c.want, e.Name, err)
		}
	}
	if e, err := Match(es[:1], ""); err != nil || e.Name != es[0].Name {
		t.Errorf("single entry not matched: %v", err)
	}
}
