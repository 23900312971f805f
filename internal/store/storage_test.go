package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/store/s3test"
)

// TestStorageContract runs the same checks on both implementations of
// Storage: a local directory and a bucket on the S3 test server.
func TestStorageContract(t *testing.T) {
	srv := s3test.Start(t, "contract")
	t.Setenv("TAKEDOWN_STAGING", t.TempDir())
	remote, err := OpenRemote(srv.WorkspaceURL("ws"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    Storage
	}{{"dir", dirStorage{t.TempDir()}}, {"s3", remote.remote}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := c.s
			if _, err := s.Stat(ctx, "a/missing"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat of a missing object: %v", err)
			}
			if err := s.WriteIf(ctx, "lock", []byte("one"), ""); err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := s.WriteIf(ctx, "lock", []byte("two"), ""); !errors.Is(err, ErrPrecondition) {
				t.Errorf("create over an object: %v, want ErrPrecondition", err)
			}
			b, v, err := s.ReadVersioned(ctx, "lock")
			if err != nil || string(b) != "one" || v == "" {
				t.Fatalf("ReadVersioned: %q %q %v", b, v, err)
			}
			if err := s.WriteIf(ctx, "lock", []byte("two"), v); err != nil {
				t.Fatalf("CAS on the version read: %v", err)
			}
			if err := s.WriteIf(ctx, "lock", []byte("three"), v); !errors.Is(err, ErrPrecondition) {
				t.Errorf("CAS on a stale version: %v, want ErrPrecondition", err)
			}
			data := bytes.Repeat([]byte("0123456789"), 1000)
			if err := s.Upload(ctx, "runs/x/t.bin", bytes.NewReader(data), map[string]string{metaSHA256: "abc"}); err != nil {
				t.Fatal(err)
			}
			a, err := s.Stat(ctx, "runs/x/t.bin")
			if err != nil || a.Size != int64(len(data)) {
				t.Fatalf("Stat: %+v %v", a, err)
			}
			r, err := s.NewRangeReader(ctx, "runs/x/t.bin", 995, 10)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if string(got) != "5678901234" {
				t.Errorf("range read: %q", got)
			}
			var keys []string
			s.List(ctx, "runs/", func(k string, _ int64) error { keys = append(keys, k); return nil })
			if strings.Join(keys, ",") != "runs/x/t.bin" {
				t.Errorf("List: %v", keys)
			}
			if err := s.Delete(ctx, "runs/x/t.bin"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "runs/x/t.bin"); err != nil {
				t.Errorf("Delete of a missing object: %v", err)
			}
		})
	}
}

// TestOpenRangeReadsBlocks reads a few bytes near the end of a large
// object through OpenRange: only the block holding them is fetched, with
// a Range header, and a second read of it is served from the cache.
func TestOpenRangeReadsBlocks(t *testing.T) {
	srv := s3test.Start(t, "ranges")
	t.Setenv("TAKEDOWN_STAGING", t.TempDir())
	w, err := OpenRemote(srv.WorkspaceURL("ws"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4*RangeBlock+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := srv.Put("ws/runs/d/s/r/t.parquet", data); err != nil {
		t.Fatal(err)
	}
	srv.Reset()
	ra, size, c, err := OpenRange(w.RunDir("d", "s", "r") + "/t.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if size != int64(len(data)) {
		t.Fatalf("size %d", size)
	}
	buf := make([]byte, 8)
	for range 2 {
		if _, err := ra.ReadAt(buf, size-8); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(buf, data[len(data)-8:]) {
		t.Error("wrong bytes")
	}
	got := srv.Counts()["GET"]
	if got.Requests != 1 || got.Ranged != 1 || got.Bytes != 123 {
		t.Errorf("GETs: %+v, want one ranged GET of the last 123 bytes", got)
	}
	t.Logf("8 bytes at the end of a %d-byte object, read twice: %d GET of %d bytes", size, got.Requests, got.Bytes)
}

// TestSchemes checks how workspace names are parsed.
func TestSchemes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"s3://b/p", "s3"}, {"GS://b", "gs"}, {"file:///tmp/x", "file"}, {"./work", ""},
		{"/abs/path", ""}, {`C:\work`, ""}, {"s3:", ""}, {"ftp://h/x", "ftp"},
	} {
		if got := schemeOf(c.in); got != c.want {
			t.Errorf("schemeOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	dir := t.TempDir()
	w, err := Open("file://" + dir)
	if err != nil || w.Root != dir || w.Remote() {
		t.Errorf("file:// workspace: %+v %v", w, err)
	}
	if _, err := Open("ftp://h/x"); !errors.Is(err, ErrScheme) {
		t.Errorf("ftp://: %v", err)
	}
}
