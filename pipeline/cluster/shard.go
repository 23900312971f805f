package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/sysmem"
)

// ErrShards means the shards given to Merge are not the shards of one run
// cut one way (different --memory or --partitions, another run's shard).
var ErrShards = errkind.New(errkind.Mismatch, "shards do not fit together")

// ShardMeta is what a shard of a cluster run hands to the merge besides its
// hit files: the partitions the run was cut into, the hits it spilled per
// (signal, item partition, account range), and its sweeps' counts.
type ShardMeta struct {
	Partitions int `json:"partitions"`
	// HitFormat is hitFormat of the build that swept the shard: a shard
	// whose hit files another build laid out is refused, not misread.
	HitFormat int           `json:"hit_format"`
	Signals   []ShardSignal `json:"signals"`
}

// ShardSignal is one signal's part of a shard.
type ShardSignal struct {
	Name string `json:"name"`
	// Hits[q][r] is the number of hits of item partition q (one of the
	// shard's) in account range r; nil for the other shards' partitions.
	Hits         [][]int `json:"hits"`
	Items        int64   `json:"items"`
	BoundedItems int64   `json:"bounded_items"`
	BoundedPosts int64   `json:"bounded_posts"`
	Rejected     int64   `json:"rejected"`
}

// ShardInput is a published shard: its directory (the hit files) and meta.
type ShardInput struct {
	Dir  string
	Meta ShardMeta
}

// ShardMemory is the budget a shard plans its partitions with when neither
// --memory nor --partitions is given (DefaultMemory depends on the
// machine, and the shards of a run may run on different machines), or
// less in a memory cgroup whose limit leaves less (shardMemory).
const ShardMemory = 1 << 30

// shardMemory is ShardMemory, at most the Cap of m's cgroup limit: the
// shards of one plan run under the same --mem, so they still cut alike
// (and a merge refuses shards cut into different partition counts).
func shardMemory(m sysmem.Memory) int64 {
	if c := m.Cap(); c > 0 {
		return min(ShardMemory, c)
	}
	return ShardMemory
}

// hitFormat names how a shard's hit files are laid out: the record
// (hitBytes, writeRangeHits) and the account ranges (accountRanges). A
// shard meta without it is of format 1: 32-byte records without the post
// times, ranges of equal posts.
const hitFormat = 2

// shardParts is the partition count of a run in n shards: the plan's,
// rounded up to a multiple of n so that every shard sweeps as many
// partitions (the partitioned path writes the same bytes for any count).
func shardParts(planned, n int) int {
	p := (max(planned, 1) + n - 1) / n * n
	if p > MaxPartitions {
		p = max(MaxPartitions/n*n, n)
	}
	return p
}

// RunShard runs shard i of n of the partitioned path: it loads the
// fingerprints, cuts them into partitions as Run would with these
// Resources (a multiple of n), sweeps the item partitions q with q%n == i
// and writes their hits to outDir. Merge folds the shards' hits into the
// tables Run writes.
func RunShard(ctx context.Context, in Input, p Params, i, n int, outDir string, log *slog.Logger) (ShardMeta, error) {
	if err := p.Validate(); err != nil {
		return ShardMeta{}, err
	}
	if err := in.validate(p); err != nil {
		return ShardMeta{}, err
	}
	if err := in.Resources.Validate(); err != nil {
		return ShardMeta{}, err
	}
	if n < 1 || i < 0 || i >= n || n > MaxPartitions {
		return ShardMeta{}, fmt.Errorf("shard %d/%d: want 0 <= i < n <= %d", i, n, MaxPartitions)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer in.Resources.limitHeap()()
	res := in.Resources
	if res.Memory == 0 && res.Partitions == 0 {
		// Every shard must cut the run the same way, on whatever node it
		// runs: not from the machine's memory.
		res.Memory = shardMemory(sysmem.Read())
	}
	ls := &loadSpill{ctx: ctx, in: in, p: p, res: res, outDir: outDir}
	defer ls.remove()
	d, w, st, err := prepare(ctx, in, p, ls, log)
	if err != nil {
		return ShardMeta{}, err
	}
	planned, err := d.dropTimes(res, in.FingerprintsPath, 1)
	if err != nil {
		return ShardMeta{}, err
	}
	parts := shardParts(planned, n)
	sp, err := ls.spill()
	if err != nil {
		return ShardMeta{}, err
	}
	sp.hitDir = func(int) string { return outDir }
	mine := func(q int) bool { return q%n == i }
	occCount, results, err := spillOccs(ctx, d, in, sp, parts, &st, mine)
	if err != nil {
		return ShardMeta{}, err
	}
	hitCount, err := sweepParts(ctx, d, p, w, sp, parts, occCount, results, mine)
	if err == nil {
		err = d.posts.readErr() // the sweep's ties compare ids
	}
	if err != nil {
		return ShardMeta{}, err
	}
	meta := ShardMeta{Partitions: parts, HitFormat: hitFormat}
	for si, sd := range d.signals {
		r := results[si]
		meta.Signals = append(meta.Signals, ShardSignal{
			Name: sd.name, Hits: hitCount[si], Items: r.items - sd.singletons,
			BoundedItems: r.boundedItems, BoundedPosts: r.boundedPosts, Rejected: r.rejected,
		})
	}
	log.Info("swept shard", "shard", fmt.Sprintf("%d/%d", i, n), "partitions", parts, "spilled_bytes", sp.bytes.Load())
	return meta, nil
}

// Merge folds the hits of all n shards of a run (in shard order) into the
// edges, evidence and clusters tables, with the bytes and Stats of Run.
func Merge(ctx context.Context, in Input, p Params, shards []ShardInput, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if err := in.validate(p); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := len(shards)
	if n == 0 {
		return Stats{}, fmt.Errorf("internal: merge of no shards")
	}
	defer in.Resources.limitHeap()()
	// The merge needs the occurrences' counts only.
	ls := &loadSpill{ctx: ctx, in: in, p: p, res: in.Resources, outDir: outDir, discard: true}
	defer ls.remove() // the rows of loading (rowFile)
	d, w, st, err := prepare(ctx, in, p, ls, log)
	if err != nil {
		return Stats{}, err
	}
	parts := shards[0].Meta.Partitions
	for i, s := range shards {
		if err := s.Meta.check(d, parts, i, n); err != nil {
			return Stats{}, fmt.Errorf("%w: shard %d/%d (%s): %w", ErrShards, i, n, s.Dir, err)
		}
	}
	d.times = nil // the hits carry theirs
	results := startResults(d, &st)
	hitCount := make([][][]int, len(d.signals))
	for si := range d.signals {
		hitCount[si] = make([][]int, parts)
		for q := range parts {
			hitCount[si][q] = shards[q%n].Meta.Signals[si].Hits[q]
		}
		for _, s := range shards {
			ss := s.Meta.Signals[si]
			r := results[si]
			r.items += ss.Items
			r.boundedItems += ss.BoundedItems
			r.boundedPosts += ss.BoundedPosts
			r.rejected += ss.Rejected
		}
		d.signals[si].occ = nil
	}
	dir, err := os.MkdirTemp(outDir, ".spill-")
	if err != nil {
		return Stats{}, fmt.Errorf("cluster: spill directory: %w", err)
	}
	defer os.RemoveAll(dir)
	sp := &spill{dir: dir, hitDir: func(q int) string { return shards[q%n].Dir }}
	if err := foldParts(ctx, d, p, in.Resources, sp, parts, hitCount, results, outDir, &st, log); err != nil {
		return Stats{}, err
	}
	return finish(ctx, in, p, w, outDir, st, log)
}

// check says why m is not shard i of n of a run over d in parts partitions.
func (m ShardMeta) check(d *data, parts, i, n int) error {
	if m.HitFormat != hitFormat {
		return fmt.Errorf("was swept by a build that spills hits in format %d, this build's is %d: remove the shard's directory and run the shard again", m.HitFormat, hitFormat)
	}
	if m.Partitions != parts || parts%n != 0 {
		return fmt.Errorf("cut into %d partitions where shard 0 was cut into %d: run every shard with the same --memory or --partitions (a shard run again with other ones is computed again)", m.Partitions, parts)
	}
	if len(m.Signals) != len(d.signals) {
		return fmt.Errorf("has %d signals, the run has %d", len(m.Signals), len(d.signals))
	}
	for si, sd := range d.signals {
		ss := m.Signals[si]
		if ss.Name != sd.name || len(ss.Hits) != parts {
			return fmt.Errorf("signal %d is %s with %d partitions, the run's is %s with %d", si, ss.Name, len(ss.Hits), sd.name, parts)
		}
		for q, h := range ss.Hits {
			if h != nil && q%n != i {
				return fmt.Errorf("signal %s: partition %d is not this shard's", sd.name, q)
			}
			if h != nil && len(h) != parts {
				return fmt.Errorf("signal %s: partition %d has %d account ranges, want %d", sd.name, q, len(h), parts)
			}
		}
	}
	return nil
}
