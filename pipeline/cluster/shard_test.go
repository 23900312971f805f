package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/sysmem"
)

// runShards runs n shards of a run (each meta through JSON, as the store
// keeps it) and merges them; it returns the merged tables and stats.
func runShards(t *testing.T, in Input, p Params, n int, res func(i int) Resources) (output, error) {
	t.Helper()
	var shards []ShardInput
	for i := range n {
		dir := t.TempDir()
		sin := in
		sin.Resources = res(i)
		meta, err := RunShard(context.Background(), sin, p, i, n, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(meta)
		if err != nil {
			t.Fatal(err)
		}
		var back ShardMeta
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "hit-") {
				t.Fatalf("shard %d/%d left %s in its output", i, n, e.Name())
			}
		}
		shards = append(shards, ShardInput{Dir: dir, Meta: back})
	}
	dir := t.TempDir()
	st, err := Merge(context.Background(), in, p, shards, dir, nil)
	if err != nil {
		return output{}, err
	}
	out := output{stats: st, files: map[string][]byte{}}
	for _, name := range []string{schema.TableEdges, schema.TableEvidence, schema.TablePairScores, schema.TableClusters} {
		b, err := os.ReadFile(filepath.Join(dir, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		out.files[name] = b
	}
	return out, nil
}

// TestShardsMergeToRun: shards run apart and merged write the bytes and
// stats of one in-memory run, for several shard counts and partition
// plans (given, or from a memory budget).
func TestShardsMergeToRun(t *testing.T) {
	path := partitionFixture(t, pqio.RowGroupRows+5000, 5)
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	p.ScorePercentile = 0.5
	in := Input{FingerprintsPath: path, ShingleSize: testShingleSize}
	want := runResources(t, path, p, Resources{Partitions: 1})
	for _, tc := range []struct {
		shards int
		res    Resources
	}{
		{1, Resources{Partitions: 1}},
		{2, Resources{Partitions: 4}},
		{3, Resources{Partitions: 7}}, // rounded up to 9
		{5, Resources{}},              // planned with ShardMemory: 1 partition, rounded up to 5
	} {
		got, err := runShards(t, in, p, tc.shards, func(int) Resources { return tc.res })
		if err != nil {
			t.Fatalf("%d shards: %v", tc.shards, err)
		}
		for name, b := range want.files {
			if !bytes.Equal(got.files[name], b) {
				t.Errorf("%d shards (%+v): %s differs from one in-memory run", tc.shards, tc.res, name)
			}
		}
		if fmt.Sprint(got.stats) != fmt.Sprint(want.stats) {
			t.Errorf("%d shards: stats differ:\n%+v\n%+v", tc.shards, got.stats, want.stats)
		}
	}
	// Shards cut into different partitions are refused, naming the shard.
	_, err := runShards(t, in, p, 2, func(i int) Resources { return Resources{Partitions: 2 + 2*i} })
	if err == nil || !strings.Contains(err.Error(), "shard 1/2") || !strings.Contains(err.Error(), "--partitions") {
		t.Fatalf("merge of shards cut differently: %v", err)
	}
}

// TestShardMetaHitFormat: a shard whose hit files another build laid out
// (or one before the format had a name) is refused, not misread.
func TestShardMetaHitFormat(t *testing.T) {
	d := &data{signals: []*signalData{{name: schema.SignalCoURL}}}
	for _, tc := range []struct {
		format int
		ok     bool
	}{
		{hitFormat, true},
		{1, false},
		{0, false}, // a meta without the field
	} {
		m := ShardMeta{Partitions: 2, HitFormat: tc.format, Signals: []ShardSignal{{Name: schema.SignalCoURL, Hits: [][]int{{3, 1}, nil}}}}
		err := m.check(d, 2, 0, 2)
		if tc.ok != (err == nil) {
			t.Fatalf("hit_format %d: %v", tc.format, err)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("in format %d,", tc.format)) {
			t.Errorf("hit_format %d: error does not name the format: %v", tc.format, err)
		}
	}
}

// TestShardMemory: a shard given neither --memory nor --partitions plans
// with ShardMemory whatever the machine, and with the cgroup's cap when
// that is less (a plan's tasks share one --mem, so they cut alike).
func TestShardMemory(t *testing.T) {
	const M, G = int64(1 << 20), int64(1 << 30)
	for _, tc := range []struct {
		m    sysmem.Memory
		want int64
	}{
		{sysmem.Memory{Total: 24 * G}, ShardMemory},
		{sysmem.Memory{}, ShardMemory},
		{sysmem.Memory{Total: 24 * G, Limit: 8 * G}, ShardMemory},
		{sysmem.Memory{Total: 24 * G, Limit: G}, 768 * M},
		{sysmem.Memory{Total: 24 * G, Limit: 600 * M}, 344 * M},
	} {
		if got := shardMemory(tc.m); got != tc.want {
			t.Errorf("shardMemory(%+v) = %s, want %s", tc.m, sysmem.FormatBytes(got), sysmem.FormatBytes(tc.want))
		}
	}
}
