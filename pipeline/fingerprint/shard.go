package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
)

// groupRange selects the posts table's row groups a run fingerprints: shard
// Index of Count takes the Index-th of Count runs of consecutive groups
// (Count 0: all of them).
type groupRange struct{ Index, Count int }

var allGroups = groupRange{}

// bounds returns the first group and the end of the range among n groups.
func (g groupRange) bounds(n int) (lo, hi int) {
	if g.Count <= 0 {
		return 0, n
	}
	return n * g.Index / g.Count, n * (g.Index + 1) / g.Count
}

// RunShard fingerprints shard i of n of the posts table: the i-th of n runs
// of consecutive row groups, written to outDir/fingerprints.parquet in
// input order with the writer calls of Run, so that Merge can write the
// bytes Run writes. Its Stats are the shard's counts, summed by Merge.
func RunShard(ctx context.Context, in Input, p Params, i, n int, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if n < 1 || i < 0 || i >= n {
		return Stats{}, fmt.Errorf("shard %d/%d: want 0 <= i < n", i, n)
	}
	w, err := pqio.Create[schema.Fingerprint](filepath.Join(outDir, schema.TableFingerprints+".parquet"))
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	m := progress.Or(in.Progress)
	m.Phase("", progress.Rows, -1)
	if err := fingerprintAll(ctx, in.PostsPath, groupRange{i, n}, p, w, &st, m); err != nil {
		w.Abort()
		return Stats{}, err
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	if log != nil {
		log.Info("fingerprinted shard", "shard", fmt.Sprintf("%d/%d", i, n), "posts", st.Posts)
	}
	return st, nil
}

// Merge writes outDir/fingerprints.parquet from the n shards' files (in
// shard order) and returns the run's Stats: the bytes and the counts of an
// unsharded Run. A release's images (in.Images) are hashed here, whole. The rows are written with the writer calls Run makes (one
// per writeBatch rows of each posts row group), which set the pages.
func Merge(ctx context.Context, in Input, p Params, parts []string, stats []Stats, outDir string) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if len(parts) != len(stats) || len(parts) == 0 {
		return Stats{}, fmt.Errorf("internal: merge of %d files with %d stats", len(parts), len(stats))
	}
	g, err := pqio.OpenGroups(in.PostsPath)
	if err != nil {
		return Stats{}, err
	}
	sizes := make([]int, g.Len())
	for gi := range sizes {
		sizes[gi] = g.Rows(gi)
	}
	g.Close()
	outPath := filepath.Join(outDir, schema.TableFingerprints+".parquet")
	w, err := pqio.Create[schema.Fingerprint](outPath)
	if err != nil {
		return Stats{}, err
	}
	m := progress.Or(in.Progress)
	m.Phase("", progress.Rows, -1)
	buf := make([]schema.Fingerprint, writeBatch)
	n := len(parts)
	for i, path := range parts {
		if err := copyShard(ctx, w, path, sizes, groupRange{i, n}, buf, m); err != nil {
			w.Abort()
			return Stats{}, fmt.Errorf("merge shard %d/%d: %w", i, n, err)
		}
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	st := Stats{MinTextRunes: p.MinTextRunes, NormalizerVersion: p.NormalizerVersion,
		MinHashRows: p.MinHashPermutations / p.MinHashBands}
	for _, s := range stats {
		st.add(s)
	}
	// The images of a release's media are not sharded: the merge hashes
	// them, as Run does after the posts.
	if in.Images.MediaPath != "" {
		ist, err := fingerprintImages(ctx, in.Images, in.PostsPath, outDir, imageRoute(p), m)
		if err != nil {
			return Stats{}, fmt.Errorf("fingerprint images: %w", err)
		}
		st.Images = ist
	}
	return st, nil
}

// copyShard writes the rows of one shard's file, in the batches Run wrote
// them: writeBatch rows at a time from the start of each row group.
func copyShard(ctx context.Context, w *pqio.Writer[schema.Fingerprint], path string, sizes []int, groups groupRange, buf []schema.Fingerprint, m progress.Meter) error {
	r, err := pqio.Open[schema.Fingerprint](path)
	if err != nil {
		return err
	}
	defer r.Close()
	lo, hi := groups.bounds(len(sizes))
	for gi := lo; gi < hi; gi++ {
		for first := 0; first < sizes[gi]; first += writeBatch {
			if err := ctx.Err(); err != nil {
				return err
			}
			want := min(writeBatch, sizes[gi]-first)
			clear(buf)
			got, err := r.ReadFull(buf[:want])
			if got < want {
				if err == nil || errors.Is(err, io.EOF) {
					err = fmt.Errorf("%s has fewer rows than its row groups of the posts table", path)
				}
				return err
			}
			if err := w.Write(buf[:want]...); err != nil {
				return err
			}
			m.Add(int64(want))
		}
	}
	var extra [1]schema.Fingerprint
	if k, _ := r.ReadFull(extra[:]); k > 0 {
		return fmt.Errorf("%s has more rows than its row groups of the posts table", path)
	}
	return nil
}
