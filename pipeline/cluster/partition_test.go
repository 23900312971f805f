package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/sysmem"
)

// partitionFixture is TestDeterministicBytes' table: three row groups,
// every signal, near_text over band keys derived from the text keys.
func partitionFixture(t testing.TB, n int, seed uint64) string {
	return writeFPs(t, pairScoreFixture(n, seed))
}

func runResources(t testing.TB, path string, p Params, r Resources) output {
	t.Helper()
	return runInput(t, Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: r}, p)
}

// TestPartitionsSameBytes: the partitioned path writes the bytes and stats
// of the in-memory one for any number of partitions and GOMAXPROCS.
func TestPartitionsSameBytes(t *testing.T) {
	rows := pairScoreFixture(2*pqio.RowGroupRows+5000, 3)
	for i := range rows {
		// Decimal post ids of 1 to 11 digits, which compare as strings,
		// not as numbers, and some that are no numbers.
		switch {
		case i%11 == 0:
		case i%2 == 1:
			rows[i].PostID = fmt.Sprint(uint64(i)*1_000_003 + 1)
		default:
			rows[i].PostID = fmt.Sprint(i + 1)
		}
	}
	path := writeFPs(t, rows)
	for _, tc := range []struct {
		comm   string
		procs  int
		parts  []int
		onDisk bool // the rows' accounts and times, the post ids, near_text's shingles and the string items in spill files
	}{
		{CommunitiesComponents, 1, []int{4}, false},
		{CommunitiesComponents, 4, []int{16}, false},
		{CommunitiesLouvain, 2, []int{7}, false},
		{CommunitiesComponents, 2, []int{5}, true},
	} {
		p := DefaultParams()
		p.Signals = slices.Clone(Signals)
		p.Communities = tc.comm
		p.ScorePercentile = 0.5
		old := runtime.GOMAXPROCS(tc.procs)
		want := runResources(t, path, p, Resources{Partitions: 1})
		runtime.GOMAXPROCS(old)
		if len(want.edges) == 0 || len(want.evidence) == 0 || len(want.clusters) == 0 {
			t.Fatalf("fixture too small: %d edges, %d evidence, %d cluster rows", len(want.edges), len(want.evidence), len(want.clusters))
		}
		procsList := []int{1, 4}
		if testing.Short() {
			// The race detector's run: the concurrent case only.
			procsList = []int{4}
		}
		for _, parts := range tc.parts {
			for _, procs := range procsList {
				old, shares := runtime.GOMAXPROCS(procs), [4]int64{rowFileShare, shingleShare, strShare, postIDShare}
				batch := [4]int{batchValues, batchOccs, int(batchRead), evidenceChunk}
				if tc.onDisk {
					rowFileShare, shingleShare, strShare, postIDShare = 1<<62, 1<<62, 1<<62, 1<<62
					// near_text's sets read a few items at a time, a few
					// values a read; the evidence's post ids a few rows at
					// a time.
					batchValues, batchOccs, batchRead, evidenceChunk = 40, 12, 8, 7
					// The fold reads a range's hits in runs of first
					// accounts: 5 to 25 runs a range here, each a read of
					// the range's files (runs of a few hits, as
					// TestPartitionsProperty folds, made this test take
					// minutes under the race detector).
					foldMaxHits = 2000
				}
				got := runResources(t, path, p, Resources{Partitions: parts})
				runtime.GOMAXPROCS(old)
				rowFileShare, shingleShare, strShare, postIDShare = shares[0], shares[1], shares[2], shares[3]
				batchValues, batchOccs, batchRead, evidenceChunk = batch[0], batch[1], uint32(batch[2]), batch[3]
				foldMaxHits = 0
				for name, b := range want.files {
					if !bytes.Equal(got.files[name], b) {
						t.Errorf("%s, GOMAXPROCS %d, %d partitions: %s differs from one partition (GOMAXPROCS %d)", tc.comm, procs, parts, name, tc.procs)
					}
				}
				if fmt.Sprint(got.stats) != fmt.Sprint(want.stats) {
					t.Errorf("%s, %d partitions: stats differ:\n%+v\n%+v", tc.comm, parts, got.stats, want.stats)
				}
			}
		}
	}
}

// TestPartitionsProperty: on small random tables with random parameters,
// any number of partitions gives the bytes of one.
func TestPartitionsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 8 {
		seed := r.Uint64()
		path := partitionFixture(t, 200+r.IntN(3000), seed)
		p := DefaultParams()
		p.Signals = slices.Clone(Signals)
		p.MinWeight = 1 + r.IntN(3)
		p.MinScore = float64(r.IntN(3))
		p.MinAffinity = 0
		p.MaxEvidencePerEdge = 1 + r.IntN(4)
		p.MaxItemAccounts = []int{0, 2, 5, 50}[r.IntN(4)]
		want := runResources(t, path, p, Resources{Partitions: 1})
		parts := 2 + r.IntN(40)
		if i%2 == 1 {
			foldMaxHits = 1 + r.IntN(50) // ranges folded in runs of first accounts
		}
		got := runResources(t, path, p, Resources{Partitions: parts})
		foldMaxHits = 0
		for name, b := range want.files {
			if !bytes.Equal(got.files[name], b) {
				t.Errorf("case %d (seed %d, %d partitions, %+v): %s differs", i, seed, parts, p, name)
			}
		}
		if fmt.Sprint(got.stats) != fmt.Sprint(want.stats) {
			t.Errorf("case %d: stats differ", i)
		}
	}
}

// TestMemoryPlan: the budget picks the partitions; a budget too small to
// hold the resident data is a usage error naming the minimum; the spill
// directory is gone after the run.
func TestMemoryPlan(t *testing.T) {
	path := partitionFixture(t, 20000, 5)
	p := DefaultParams()
	want := runResources(t, path, p, Resources{Partitions: 1})

	d, err := load(context.Background(), path, p.Signals, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resident, work := d.residentBytes(), d.workBytes()
	tests := []struct {
		mem   int64
		parts int
	}{
		{resident + work + minWork, 1},
		{resident + minWork, int((work + minWork - 1) / minWork)},
		{1 << 40, 1},
	}
	for _, tc := range tests {
		got, err := plan(d, Resources{Memory: tc.mem}, path)
		if err != nil || got != min(tc.parts, MaxPartitions) {
			t.Errorf("plan(%d): %d, %v; want %d", tc.mem, got, err, tc.parts)
		}
	}
	if got, _ := plan(d, Resources{Memory: 1, Partitions: 3}, path); got != 3 {
		t.Errorf("--partitions 3 gave %d", got)
	}

	dir := t.TempDir()
	_, err = Run(context.Background(), Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Memory: 1 << 20}}, p, dir, nil)
	if !errors.Is(err, ErrMemory) || errkind.Of(err) != errkind.Usage {
		t.Fatalf("--memory 1MiB: %v, want a usage error", err)
	}
	minimum := sysmem.FormatBytes(roundUpMiB(resident + minWork))
	if !strings.Contains(err.Error(), "give --memory "+minimum+" or more") {
		t.Errorf("error does not name the minimum %s: %v", minimum, err)
	}

	// A budget just above the minimum partitions the run and gives the
	// same bytes; nothing is left in the output directory but the tables.
	dir = t.TempDir()
	in := Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Memory: resident + minWork}}
	if _, err := Run(context.Background(), in, p, dir, nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[clusters.parquet edges.parquet evidence.parquet pair_scores.parquet]" {
		t.Errorf("output dir holds %v", names)
	}
	for name, b := range want.files {
		if got, _ := os.ReadFile(filepath.Join(dir, name+".parquet")); !bytes.Equal(got, b) {
			t.Errorf("%s differs", name)
		}
	}
}

// TestSpillDiskFull: a spill write that fails for lack of space is a
// DiskFull error and leaves no spill behind, whichever file it is: the
// first (a run written while loading), a partition's occurrences (written
// as the runs are merged), a partition's hits or the row file of loading.
func TestSpillDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	path := partitionFixture(t, 5000, 9)
	old := spillCreate
	defer func() { spillCreate = old }()
	shares := [4]int64{rowFileShare, shingleShare, strShare, postIDShare}
	defer func() { rowFileShare, shingleShare, strShare, postIDShare = shares[0], shares[1], shares[2], shares[3] }()
	for _, prefix := range []string{"", "occ-", "hit", "rows", "shingles-", "strs-", "ids"} {
		rowFileShare, shingleShare, strShare, postIDShare = shares[0], shares[1], shares[2], shares[3]
		switch prefix {
		case "ids":
			postIDShare = 1 << 62 // the post ids in a spill file
		case "rows":
			rowFileShare = 1 << 62 // the rows' accounts and times in a row file
		case "shingles-":
			shingleShare = 1 << 62 // near_text's shingle sets in spill files
		case "strs-":
			strShare = 1 << 62 // the string items in spill files
		}
		var full atomic.Int64
		spillCreate = func(name string) (*os.File, error) {
			if !strings.HasPrefix(filepath.Base(name), prefix) {
				return old(name)
			}
			full.Add(1)
			return os.OpenFile("/dev/full", os.O_WRONLY, 0)
		}
		dir := t.TempDir()
		_, err := Run(context.Background(), Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: 4}}, DefaultParams(), dir, nil)
		if full.Load() == 0 {
			t.Fatalf("files %q*: none written", prefix)
		}
		if errkind.Of(err) != errkind.DiskFull {
			t.Fatalf("files %q*: got %v (kind %v), want disk full", prefix, err, errkind.Of(err))
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".spill-*")); len(m) != 0 {
			t.Errorf("files %q*: spill left behind: %v", prefix, m)
		}
	}
	// A partition file that cannot be created at all: the merge that
	// feeds it stops with the error (it does not wait on the writer).
	spillCreate = func(name string) (*os.File, error) {
		if strings.HasPrefix(filepath.Base(name), "occ-") {
			return nil, os.ErrPermission
		}
		return old(name)
	}
	if _, err := Run(context.Background(), Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: 4}}, DefaultParams(), t.TempDir(), nil); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("occ- files not created: got %v", err)
	}
}

// TestDefaultMemory: the default budget is half the memory, within 1 GiB
// and MaxDefaultMemory; in a memory cgroup, half of its limit and at most
// the limit less sysmem.Headroom, so that a Slurm task's --mem or a
// container's limit is not passed (the kernel kills the process: a 10M-post
// run in a 1 GiB cgroup was, with the machine's 1.5 GiB). Resident data
// that outgrow it raise it, up to half the memory.
func TestDefaultMemory(t *testing.T) {
	const M, G = int64(1 << 20), int64(1 << 30)
	for _, tc := range []struct {
		name                 string
		m                    sysmem.Memory
		half, dflt           int64
		resident, withResids int64 // budget(resident)
	}{
		{"24 GiB machine", sysmem.Memory{Total: 24 * G}, 12 * G, 3 * G / 2, 2 * G, 2*G + defaultWork},
		{"3 GiB machine", sysmem.Memory{Total: 3 * G}, 3 * G / 2, 3 * G / 2, 2 * G, 3 * G / 2},
		{"1 GiB machine", sysmem.Memory{Total: G}, G, G, 0, G},
		{"unknown", sysmem.Memory{}, G, G, 10 * G, G},
		{"1 GiB cgroup", sysmem.Memory{Total: 24 * G, Limit: G}, 768 * M, 768 * M, 600 * M, 768 * M},
		{"2 GiB cgroup", sysmem.Memory{Total: 24 * G, Limit: 2 * G}, G, G, 900 * M, G},
		{"8 GiB cgroup", sysmem.Memory{Total: 24 * G, Limit: 8 * G}, 4 * G, 3 * G / 2, 2 * G, 2*G + defaultWork},
		{"300 MiB cgroup", sysmem.Memory{Total: 24 * G, Limit: 300 * M}, 150 * M, 150 * M, 0, 150 * M},
		{"cgroup, machine unknown", sysmem.Memory{Limit: G}, 768 * M, 768 * M, 0, 768 * M},
		{"cgroup above the machine", sysmem.Memory{Total: G, Limit: 8 * G}, G, G, 0, G},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := half(tc.m); got != tc.half {
				t.Errorf("half() = %s, want %s", sysmem.FormatBytes(got), sysmem.FormatBytes(tc.half))
			}
			if got := defaultMemory(tc.m); got != tc.dflt {
				t.Errorf("defaultMemory() = %s, want %s", sysmem.FormatBytes(got), sysmem.FormatBytes(tc.dflt))
			}
			if got := budgetOf(tc.m, tc.resident); got != tc.withResids {
				t.Errorf("budget(%s) = %s, want %s", sysmem.FormatBytes(tc.resident), sysmem.FormatBytes(got), sysmem.FormatBytes(tc.withResids))
			}
			if got := budgetOf(tc.m, 0); got != tc.dflt {
				t.Errorf("budget(0) = %s, want the default %s", sysmem.FormatBytes(got), sysmem.FormatBytes(tc.dflt))
			}
			if got := budgetOf(tc.m, 1<<50); got != max(tc.half, tc.dflt) {
				t.Errorf("budget(1 PiB) = %s, want half the memory, %s", sysmem.FormatBytes(got), sysmem.FormatBytes(tc.half))
			}
		})
	}
	if got, want := DefaultMemory(), defaultMemory(sysmem.Read()); got != want {
		t.Errorf("DefaultMemory() = %s, want %s (%s)", sysmem.FormatBytes(got), sysmem.FormatBytes(want), sysmem.Read())
	}
}

// TestPlanDefaultTooSmall: resident data beyond the default budget are a
// usage error that says the budget was the default and where it came
// from, not a --memory the user did not give.
func TestPlanDefaultTooSmall(t *testing.T) {
	defer Resources{}.limitHeap()()
	d := &data{rows: 1 << 40, rowFile: &rowFile{path: filepath.Join(t.TempDir(), "rows")}}
	_, err := plan(d, Resources{}, "fingerprints.parquet")
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("plan of %d posts with the default budget: got %v, want ErrMemory", d.rows, err)
	}
	for _, want := range []string{"the default budget, " + sysmem.FormatBytes(half(sysmem.Read())) + " (" + sysmem.Read().String() + "),", "fingerprints.parquet needs to make progress"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := plan(d, Resources{Memory: 1 << 30}, "fingerprints.parquet"); err == nil || !strings.Contains(err.Error(), "--memory 1.0 GiB is below") {
		t.Errorf("plan with --memory 1GiB: got %v, want it to name --memory", err)
	}
}

// TestHeapLimitFollowsPlan: times by post that raise the default budget
// raise the heap limit while the first plan counts them, and a run in
// partitions, which drops them, lowers it again to the budget planned
// without them. (It stayed raised: at 217M posts the sweeps and the fold
// ran to 2.8 GiB under a budget of 1.5 GiB.)
func TestHeapLimitFollowsPlan(t *testing.T) {
	defer Resources{}.limitHeap()()
	d := &data{rows: 1 << 28, rowFile: &rowFile{path: filepath.Join(t.TempDir(), "rows")}}
	withTimes := defaultBudget(d.residentBytes())
	if withTimes <= DefaultMemory() {
		t.Skipf("half of this machine's memory (%s) leaves no room to raise the default budget", sysmem.FormatBytes(half(sysmem.Read())))
	}
	if _, err := plan(d, Resources{}, "fingerprints.parquet"); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != withTimes {
		t.Errorf("heap limit with the times: %s, want %s", sysmem.FormatBytes(got), sysmem.FormatBytes(withTimes))
	}
	if _, err := d.dropTimes(Resources{}, "fingerprints.parquet", 2); err != nil {
		t.Fatal(err)
	}
	if got, want := debug.SetMemoryLimit(-1), defaultBudget(d.residentBytes()); got != want {
		t.Errorf("heap limit without the times: %s, want %s", sysmem.FormatBytes(got), sysmem.FormatBytes(want))
	}
}

// BenchmarkRun200kPartitions is BenchmarkRun200k with 8 partitions: the
// cost of the spill and the second fold.
func BenchmarkRun200kPartitions(b *testing.B) {
	path := writeFPs(b, synthetic(200_000, 42))
	b.ResetTimer()
	for b.Loop() {
		in := Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: 8}}
		if _, err := Run(context.Background(), in, DefaultParams(), b.TempDir(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAccountRanges: ranges are consecutive account numbers, all parts of
// them used, and they share the pairs of accounts (each counted at its
// first account, as hits are) about evenly, for posts spread evenly, with
// a long tail, or all on few accounts.
func TestAccountRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name     string
		accounts int
		posts    func(a int) int32
		parts    int
		slack    float64 // most a range's pairs may differ from the mean, relatively
	}{
		{"even", 2000, func(int) int32 { return 5 }, 4, 0.02},
		{"even many", 2000, func(int) int32 { return 5 }, 16, 0.05},
		{"tail", 3000, func(int) int32 { return int32(1 + r.IntN(4)*r.IntN(30)) }, 6, 0.10},
		{"one part", 50, func(int) int32 { return 3 }, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postCount := make([]int32, tc.accounts)
			var total int64
			for a := range postCount {
				postCount[a] = tc.posts(a)
				total += int64(postCount[a])
			}
			out := accountRanges(postCount, tc.parts)
			pairs := make([]float64, tc.parts)
			after := total
			for a, c := range postCount {
				after -= int64(c)
				if a > 0 && out[a] < out[a-1] {
					t.Fatalf("account %d in range %d after range %d", a, out[a], out[a-1])
				}
				if int(out[a]) >= tc.parts {
					t.Fatalf("account %d in range %d of %d", a, out[a], tc.parts)
				}
				pairs[out[a]] += float64(c) * float64(after)
			}
			var sum float64
			for _, p := range pairs {
				sum += p
			}
			mean := sum / float64(tc.parts)
			for q, p := range pairs {
				if math.Abs(p-mean) > tc.slack*mean {
					t.Errorf("range %d has %.0f post pairs, the mean is %.0f", q, p, mean)
				}
			}
		})
	}
}

// phaseMeter records every phase's total and count.
type phaseMeter struct {
	mu          sync.Mutex
	cur         string
	total, done map[string]int64
}

func (m *phaseMeter) Phase(name string, _ progress.Unit, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.total == nil {
		m.total, m.done = map[string]int64{}, map[string]int64{}
	}
	m.cur, m.total[name] = name, total
}

func (m *phaseMeter) Add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[m.cur] += n
}

// TestFoldProgress: a run in partitions reports its fold, whose count of
// hits reaches the total of the hits it spilled exactly.
func TestFoldProgress(t *testing.T) {
	path := partitionFixture(t, pqio.RowGroupRows+5000, 3)
	p := DefaultParams()
	p.Signals = slices.Clone(Signals)
	for _, parts := range []int{2, 5} {
		m := &phaseMeter{}
		runInput(t, Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: parts}, Progress: m}, p)
		if m.total["fold"] <= 0 || m.done["fold"] != m.total["fold"] {
			t.Errorf("--partitions %d: fold counted %d of %d hits", parts, m.done["fold"], m.total["fold"])
		}
	}
	m := &phaseMeter{}
	runInput(t, Input{FingerprintsPath: path, ShingleSize: testShingleSize, Resources: Resources{Partitions: 1}, Progress: m}, p)
	if _, ok := m.total["fold"]; ok {
		t.Error("the in-memory path reported a fold phase")
	}
}

// TestRangeBounds: the first account of each range accountRanges numbers,
// empty ranges included, and the account count last.
func TestRangeBounds(t *testing.T) {
	for _, tc := range []struct {
		rangeOf []uint16
		parts   int
		want    []uint32
	}{
		{[]uint16{0, 0, 1, 1, 2}, 3, []uint32{0, 2, 4, 5}},
		{[]uint16{0, 0, 0}, 3, []uint32{0, 3, 3, 3}},
		{[]uint16{0, 2, 2}, 4, []uint32{0, 1, 1, 3, 3}},
		{nil, 2, []uint32{0, 0, 0}},
	} {
		if got := rangeBounds(tc.rangeOf, tc.parts); !slices.Equal(got, tc.want) {
			t.Errorf("rangeBounds(%v, %d) = %v, want %v", tc.rangeOf, tc.parts, got, tc.want)
		}
	}
}
