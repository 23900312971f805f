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

// writeLyingZip writes a zip whose one entry declares declared bytes but
// inflates to body.
func writeLyingZip(t *testing.T, body []byte, declared uint64) string {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "data.csv", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(body),
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
		{"folder and inner symlink", []entry{{name: "d/", body: nil}, {name: "d/x.csv", body: csv}, {name: "d/link", body: []byte("x.csv"), symlink: true}}, nil, ""},
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

func TestLyingSizes(t *testing.T) {
	body := bytes.Repeat([]byte("a,b,c\n"), 50_000)
	p := writeLyingZip(t, body, 100)
	z, err := OpenZip(p, DefaultLimits())
	if err != nil {
		t.Fatalf("OpenZip: %v", err) // declared sizes look harmless
	}
	defer z.Close()
	err = z.Verify()
	if !errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify = %v, want an unsafe or corrupt archive error", err)
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
