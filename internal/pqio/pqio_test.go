package pqio

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

func ptr[T any](v T) *T { return &v }

func samplePosts(n int) []schema.Post {
	out := make([]schema.Post, n)
	for i := range out {
		out[i] = schema.Post{
			Dataset: "demo", PostID: string(rune('a'+i%26)) + "x", AccountID: "acc",
			PostedAt: int64(1500000000000 + i), PostedAtPrecision: schema.PrecisionMillisecond,
			Text: "hello\nworld", Hashtags: []string{"a", "b"}, Likes: ptr(int64(i)),
			Latitude: nil, SourceFile: "tweets.csv", SourceLine: int64(i + 2),
		}
		if i%3 == 0 {
			out[i].Hashtags = nil
			out[i].Likes = nil
		}
	}
	return out
}

func TestRoundTripAndDeterminism(t *testing.T) {
	dir := t.TempDir()
	rows := samplePosts(RowGroupRows + 17)
	var digests [][]byte
	for _, name := range []string{"a.parquet", "b.parquet"} {
		p := filepath.Join(dir, name)
		n, err := WriteFile(p, rows)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(rows)) {
			t.Fatalf("wrote %d rows, want %d", n, len(rows))
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, b)
	}
	if !bytes.Equal(digests[0], digests[1]) {
		t.Fatal("same rows gave different bytes")
	}
	if !bytes.Contains(digests[0], []byte(CreatedBy)) {
		t.Fatal("created_by not pinned")
	}
	got, err := ReadAll[schema.Post](filepath.Join(dir, "a.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d rows, want %d", len(got), len(rows))
	}
	// Nil and empty lists both read back as empty lists; compare printed forms.
	for _, i := range []int{0, 1, 2, len(rows) - 1} {
		g, w := got[i], rows[i]
		if (g.Likes == nil) != (w.Likes == nil) || (g.Likes != nil && *g.Likes != *w.Likes) {
			t.Fatalf("row %d: likes differ", i)
		}
		g.Likes, w.Likes = nil, nil
		if g, w := fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w); g != w {
			t.Fatalf("row %d:\n got %s\nwant %s", i, g, w)
		}
	}
	n, err := NumRows(filepath.Join(dir, "a.parquet"))
	if err != nil || n != int64(len(rows)) {
		t.Fatalf("NumRows = %d, %v", n, err)
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.parquet")
	if _, err := WriteFile(p, samplePosts(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(p, samplePosts(1)); err == nil {
		t.Fatal("overwrote an existing file")
	}
}
