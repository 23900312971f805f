package fingerprint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// Shards merged write the bytes and the counts of one unsharded run, for
// shard counts below, at and above the number of row groups (empty
// shards).
func TestShardsMergeToRun(t *testing.T) {
	n := 3*pqio.RowGroupRows + 1000 // 4 row groups
	posts := make([]schema.Post, n)
	for i := range posts {
		posts[i] = schema.Post{
			PostID: fmt.Sprint(i), AccountID: fmt.Sprint("acc", i%97), PostedAt: int64(i * 1000),
			Text:     fmt.Sprintf("message number %d with a link https://t.co/%d #tag%d", i%300, i, i%3),
			URLs:     []string{fmt.Sprintf("https://www.site%d.com/p?id=%d", i%7, i%11)},
			Hashtags: []string{fmt.Sprint("tag", i%3)},
		}
	}
	path := writePosts(t, posts)
	p := DefaultParams()
	_, want, wantBytes := runStage(t, path, p)
	for _, shards := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(shards), func(t *testing.T) {
			var parts []string
			var stats []Stats
			for i := range shards {
				dir := t.TempDir()
				st, err := RunShard(context.Background(), Input{PostsPath: path}, p, i, shards, dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, filepath.Join(dir, schema.TableFingerprints+".parquet"))
				stats = append(stats, st)
			}
			out := t.TempDir()
			got, err := Merge(context.Background(), Input{PostsPath: path}, p, parts, stats, out)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, schema.TableFingerprints+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, wantBytes) {
				t.Errorf("%d shards merged: %d bytes differ from one run's %d", shards, len(b), len(wantBytes))
			}
			if got != want {
				t.Errorf("stats %+v, want %+v", got, want)
			}
		})
	}
	// A shard file from another shard count is refused, naming the file.
	dir := t.TempDir()
	st, err := RunShard(context.Background(), Input{PostsPath: path}, p, 0, 2, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, schema.TableFingerprints+".parquet")
	_, err = Merge(context.Background(), Input{PostsPath: path}, p, []string{part, part, part}, []Stats{st, st, st}, t.TempDir())
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(part)) {
		t.Fatalf("merge of mismatched shards: %v, want an error naming %s", err, part)
	}
}
