package cluster

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/schema"
	"github.com/takedown-research/takedown/internal/sysmem"
)

// Resources bound what a run may use. They do not change its outputs (the
// partitioned path writes the bytes of the in-memory one, whatever the
// number of partitions), so they are not parameters: they are not in the
// run id and not in the manifest.
type Resources struct {
	// Memory is the budget in bytes for the stage's data (--memory); 0
	// means DefaultMemory.
	Memory int64
	// Partitions, when above 0, is the number of partitions (--partitions),
	// whatever Memory says; 1 is the in-memory path.
	Partitions int
}

// MaxPartitions bounds --partitions.
const MaxPartitions = 256

// ErrMemory means --memory is below what the stage needs to make progress.
var ErrMemory = errkind.New(errkind.Usage, "not enough memory")

// Validate reports a usage error naming the flag.
func (r Resources) Validate() error {
	if r.Memory < 0 {
		return fmt.Errorf("--memory must be >= 0, got %d", r.Memory)
	}
	if r.Partitions < 0 || r.Partitions > MaxPartitions {
		return fmt.Errorf("--partitions must be 0 (from --memory) or 1 to %d, got %d", MaxPartitions, r.Partitions)
	}
	return nil
}

// MaxDefaultMemory caps the default budget: on a large machine the stage
// still works in partitions once its data outgrow it, so that the peak
// memory of a whole-archive release stays near it without a flag; a larger
// --memory keeps more in memory.
const MaxDefaultMemory = 3 << 29 // 1.5 GiB

// DefaultMemory is the budget when --memory is not given: half of the
// memory the process may take (sysmem.Memory.Usable: the machine's, or its
// memory cgroup's limit), at least 1 GiB (1 GiB where it is unknown), at
// most MaxDefaultMemory, and under a cgroup's limit at most the limit less
// sysmem.Headroom (half). A run whose resident data leave it less than
// defaultWork raises it (defaultBudget).
func DefaultMemory() int64 { return defaultMemory(sysmem.Read()) }

func defaultMemory(m sysmem.Memory) int64 { return min(half(m), MaxDefaultMemory) }

// half is half the memory m says the process may take, at least 1 GiB,
// and at most its cgroup's Cap.
func half(m sysmem.Memory) int64 {
	h := max(m.Usable()/2, 1<<30)
	if c := m.Cap(); c > 0 {
		h = min(h, c)
	}
	return h
}

// defaultWork is the working memory the default budget leaves at least,
// within half the memory (half).
const defaultWork = 4 * minWork

// defaultBudget is the budget of a run given neither --memory nor
// --partitions: DefaultMemory, raised to the resident data plus
// defaultWork (at most half the memory, half: the machine's or its
// cgroup's) when they outgrow it, so that a large release needs no flag
// where the machine has the memory.
func defaultBudget(resident int64) int64 { return budgetOf(sysmem.Read(), resident) }

func budgetOf(m sysmem.Memory, resident int64) int64 {
	return max(defaultMemory(m), min(resident+defaultWork, half(m)))
}

// Memory model of the plan, in bytes. Resident: what the stage keeps for
// the whole run, per post and per distinct account or string item (see
// residentBytes). Work: per occurrence of an item that occurs more than
// once, what the sweep and the fold hold at the same time (the occurrence,
// its sort, the hits it makes, twice during their counting sort, and the
// kept edges and evidence) on the synthetic populations and the reference
// toolkit's benchmark file. A sweep's numbering of an item's accounts
// (sweepScratch) grows with the item it sweeps, at most 57 bytes an
// occurrence, where the item's occurrences and hits take more: it is not
// counted apart. Nor are a near_text sweep's shingle sets (shingleBatch:
// at most 32 MB of values read from files and 24 MB of headers, or the
// sets of one larger item; the cache they replace held 16 MB) and the
// evidence's chunk of post ids (64 MB, taken once the fold's work is
// freed).
const (
	workPerOcc = 96
	minWork    = 64 << 20 // the least working memory a partition may have
)

// budget is --memory, else DefaultMemory: what the shares of the budget
// that loading keeps in memory are of.
func (r Resources) budget() int64 {
	if r.Memory > 0 {
		return r.Memory
	}
	return DefaultMemory()
}

// planBudget is the budget plan divides and the fold keeps to
// (foldParts): --memory, else the default budget for d's resident data; 0
// for a run given only --partitions, which has none.
func (r Resources) planBudget(d *data) int64 {
	switch {
	case r.Memory > 0:
		return r.Memory
	case r.Partitions > 0:
		return 0
	}
	return defaultBudget(d.residentBytes())
}

// limitHeap sets the Go runtime's soft memory limit to the budget, so that
// the collector holds the heap near it rather than at twice the live data,
// and returns what restores the old limit. The budget is --memory, or
// DefaultMemory when --partitions is not given either (a run given only
// --partitions has no budget).
func (r Resources) limitHeap() func() {
	mem := r.Memory
	if mem <= 0 && r.Partitions == 0 {
		mem = DefaultMemory()
	}
	if mem <= 0 {
		return func() {}
	}
	old := debug.SetMemoryLimit(min(mem, debug.SetMemoryLimit(-1)))
	return func() { debug.SetMemoryLimit(old) }
}

// residentBytes estimates what d keeps whatever the partitions: the post
// ids (a string header and the bytes), the times while it holds them (a
// run in partitions drops them, dropTimes), the account ids and string
// items, near_text's shingle sets once they are read (a run spilled while
// loading reads them then). The sweeps' working memory follows their
// items (sweepScratch), so it is part of a partition's work.
func (d *data) residentBytes() int64 {
	b := d.timeBytes() + d.shingles.bytes()
	if d.posts != nil {
		b += d.posts.residentBytes()
	} else {
		b += d.postBytes // while loading, before they are read
	}
	b += d.accounts.bytes() + 4*int64(d.accounts.len()) // and the posts per account
	for _, sd := range d.signals {
		b += sd.strs.bytes()
		if sd.strFile != nil {
			b += sd.strFile.bytes()
		}
	}
	return b
}

// timeBytes is the memory of the times by post: held, or owed by a load
// that kept them in its rowFile, which the in-memory path reads them back
// from (restoreTimes), until dropTimes.
func (d *data) timeBytes() int64 {
	if d.times != nil {
		return int64(cap(d.times)) * 8
	}
	if d.rowFile == nil {
		return 0
	}
	b := d.rows * 8
	if d.images != nil {
		b += int64(len(d.images.times)) * 8
	}
	return b
}

// restoreTimes reads the times by post back for the in-memory path after a
// load that kept them in its rowFile.
func (d *data) restoreTimes() error {
	if d.times != nil || d.rowFile == nil {
		return nil
	}
	t, err := d.rowFile.times()
	if err != nil {
		return err
	}
	if d.images != nil {
		t = append(t, d.images.times...)
		d.images.times = nil
	}
	d.times = t
	return nil
}

// workBytes estimates the working memory of the in-memory path.
func (d *data) workBytes() int64 {
	var n int64
	for _, sd := range d.signals {
		n += sd.occCount()
	}
	return n * workPerOcc
}

// plan returns the number of partitions for d: r.Partitions when given,
// else the fewest that keep each partition's work within what the budget
// (r.Memory, else defaultBudget, which it sets the heap limit to) leaves
// after the resident data. A budget below the resident data plus
// minWork is a usage error that names the minimum.
func plan(d *data, r Resources, path string) (int, error) {
	if r.Partitions > 0 {
		return r.Partitions, nil
	}
	resident := d.residentBytes()
	mem := r.planBudget(d)
	if r.Memory == 0 {
		// The heap limit limitHeap set follows the default budget both
		// ways: up for resident data that outgrow DefaultMemory, and down
		// again when dropTimes plans without the times (a limit left at
		// the budget with them let the sweeps and the fold of 217M posts
		// run to 2.8 GiB under a budget of 1.5 GiB).
		if cur := debug.SetMemoryLimit(-1); mem > DefaultMemory() || cur > DefaultMemory() {
			debug.SetMemoryLimit(mem)
		}
	}
	if need := resident + minWork; mem < need {
		what, give := "--memory "+sysmem.FormatBytes(mem), "give --memory "+sysmem.FormatBytes(roundUpMiB(need))+" or more"
		if r.Memory == 0 {
			m := sysmem.Read()
			what = fmt.Sprintf("the default budget, %s (%s),", sysmem.FormatBytes(mem), m)
			if m.Limit > 0 {
				give = fmt.Sprintf("raise that limit (a Slurm task's --mem, a container's memory limit) to %s or more", sysmem.FormatBytes(roundUpMiB(need+sysmem.Headroom)))
			}
		}
		return 0, fmt.Errorf("%w: %s is below what clustering %s needs to make progress: its %d posts, %d accounts and string items take about %s in memory, and each partition needs %s more; %s",
			ErrMemory, what, path, d.rows, d.accounts.len(), sysmem.FormatBytes(resident), sysmem.FormatBytes(minWork), give)
	}
	avail := mem - resident
	work := d.workBytes()
	p := int((work + avail - 1) / avail)
	return min(max(p, 1), MaxPartitions), nil
}

// dropTimes drops d's times by post for a run in partitions, whose hits
// carry their times (sweepOccs with carry, wideHit) so that the room the
// times took goes to the partitions, and plans again without them: it
// returns the partitions, at least atLeast.
func (d *data) dropTimes(r Resources, path string, atLeast int) (int, error) {
	d.times = nil
	if d.rowFile != nil {
		os.Remove(d.rowFile.path)
		d.rowFile = nil
	}
	if d.images != nil {
		d.images.times = nil
	}
	parts, err := plan(d, r, path)
	return max(parts, atLeast), err
}

func roundUpMiB(b int64) int64 { return (b + 1<<20 - 1) &^ (1<<20 - 1) }

// runPartitioned sweeps and folds d in parts partitions, spilled to a
// directory inside outDir that is removed before it returns, and writes the
// three tables with the bytes of the in-memory path (write). Occurrences
// are sorted and cut into runs of whole items; each partition is swept
// alone and its
// hits spilled by ranges of the first account (ranges that hold about the
// same number of posts), so that a pair's hits from every item partition
// meet in one range; each range is folded into its edges and evidence, its
// edges written in (pair, signal) order, its evidence spilled by signal, and
// its scored pairs kept for the cluster graph, whose components are found
// over all ranges at the end.
func runPartitioned(ctx context.Context, d *data, in Input, p Params, w int64, parts int, sp *spill, outDir string, st *Stats, log *slog.Logger) error {
	all := func(int) bool { return true }
	occCount, results, err := spillOccs(ctx, d, in, sp, parts, st, all)
	if err != nil {
		return err
	}
	hitCount, err := sweepParts(ctx, d, p, w, sp, parts, occCount, results, all)
	if err != nil {
		return err
	}
	return foldParts(ctx, d, p, in.Resources, sp, parts, hitCount, results, outDir, st, log)
}

// startResults counts each signal's occurrences into st and starts its
// result with its singleton items (items no partition sweeps).
func startResults(d *data, st *Stats) []*signalResult {
	results := make([]*signalResult, len(d.signals))
	for si, sd := range d.signals {
		results[si] = &signalResult{items: sd.singletons}
		st.Occurrences[sd.name] = sd.occCount() + sd.singletons
	}
	return results
}

// spillOccs sorts every signal's occurrences by (item, time, account, post)
// as the in-memory sweep sorts them, cuts them into parts runs of about the
// same length at item boundaries, and writes the runs of the partitions
// keep selects to their own files, already in sweep order. It returns the
// occurrences per (signal, partition) and the signals' started results.
func spillOccs(ctx context.Context, d *data, in Input, sp *spill, parts int, st *Stats, keep func(q int) bool) ([][]int, []*signalResult, error) {
	for _, sd := range d.signals {
		if sd.name == SignalNearText && d.shingles == nil {
			if err := d.loadShingles(ctx, in.FingerprintsPath, in.ShingleSize, sd, shingleSpillOf(sp, in.Resources)); err != nil {
				return nil, nil, err
			}
		}
	}
	results := startResults(d, st)
	occCount := make([][]int, len(d.signals))
	// The spilled signals are cut concurrently, GOMAXPROCS at a time (a
	// merge of runs and a stream each); those in memory one at a time
	// (a sort may need a copy).
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for si, sd := range d.signals {
		if sd.spilled {
			g.Go(func() error {
				counts, err := sp.splitSorted(si, sd, parts, keep)
				occCount[si] = counts
				return err
			})
		}
	}
	cutInMemory := func() error {
		for si, sd := range d.signals {
			if sd.spilled {
				continue
			}
			occs := sd.occ
			sortOccs(occs)
			occCount[si] = cutOccs(occs, parts)
			s := 0
			for q, n := range occCount[si] {
				if n > 0 && keep(q) {
					if err := sp.writeOccs(si, q, occs[s:s+n]); err != nil {
						return err
					}
				}
				s += n
			}
			sd.occ = nil
		}
		return nil
	}
	if err := errors.Join(cutInMemory(), g.Wait()); err != nil {
		return nil, nil, err
	}
	return occCount, results, ctx.Err()
}

// cutOccs cuts sorted occurrences into parts runs of about the same length
// at item boundaries and returns their lengths.
func cutOccs(occs []occ, parts int) []int {
	counts := make([]int, parts)
	s := 0
	for q := range parts {
		e := len(occs) * (q + 1) / parts
		for e > s && e < len(occs) && occs[e].item == occs[e-1].item {
			e++
		}
		e = max(e, s)
		counts[q] = e - s
		s = e
	}
	return counts
}

// sweepParts sweeps every (signal, item partition) keep selects, a few at a
// time; their hits go to (signal, item partition, account range) files. It
// returns the hits per [signal][item partition][account range] (nil for
// the partitions not swept) and adds the sweeps' counts to results.
func sweepParts(ctx context.Context, d *data, p Params, w int64, sp *spill, parts int, occCount [][]int, results []*signalResult, keep func(q int) bool) ([][][]int, error) {
	d.meter().Phase("sweep", progress.Items, -1)
	nsig := len(d.signals)
	rangeOf := accountRanges(d.postCount, parts)
	type job struct{ si, q int }
	var jobs []job
	for si := range nsig {
		for q := range parts {
			if occCount[si][q] > 0 && keep(q) {
				jobs = append(jobs, job{si, q})
			}
		}
	}
	hitCount := make([][][]int, nsig) // [signal][item partition][range]
	for si := range hitCount {
		hitCount[si] = make([][]int, parts)
	}
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	workers := max(1, runtime.GOMAXPROCS(0)/2)
	errs := make([]error, workers)
	for wi := range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) || errs[wi] != nil || ctx.Err() != nil {
					return
				}
				j := jobs[k]
				sd := d.signals[j.si]
				occs, err := sp.readOccs(j.si, j.q, occCount[j.si][j.q])
				if err != nil {
					errs[wi] = err
					return
				}
				sortOccs(occs)
				part, err := sweepOccs(ctx, sd.name, occs, d, p, w, true)
				if err != nil {
					errs[wi] = err
					return
				}
				occs = nil
				counts, err := sp.writeHits(j.si, j.q, part, rangeOf, parts)
				if err != nil {
					errs[wi] = err
					return
				}
				mu.Lock()
				r := results[j.si]
				r.items += part.items
				r.boundedItems += part.boundedItems
				r.boundedPosts += part.boundedPosts
				r.rejected += part.rejected
				hitCount[j.si][j.q] = counts
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return hitCount, ctx.Err()
}

// foldParts folds the swept hits into the edges, evidence and clusters
// tables (see runPartitioned).
func foldParts(ctx context.Context, d *data, p Params, r Resources, sp *spill, parts int, hitCount [][][]int, results []*signalResult, outDir string, st *Stats, log *slog.Logger) error {
	nsig := len(d.signals)
	// The hits a signal's fold holds at a time: its share of what the
	// budget leaves after the resident data and the fold's per-account
	// counts, halved for the collector (the heap's limit is the budget).
	// A range's hits beyond it are folded in runs of its first accounts
	// (foldRangeSignal).
	maxHits := 0
	if mem := r.planBudget(d); mem > 0 {
		room := (mem - d.residentBytes() - 8*int64(d.accounts.len())) / int64(2*runtime.GOMAXPROCS(0))
		maxHits = int(max(room, minWork/2) / foldHitBytes)
	}
	if foldMaxHits > 0 {
		maxHits = foldMaxHits
	}
	// The ranges' first accounts, for runs of them; the sweeps' cut,
	// computed again only when a range may be folded in runs (a merge of
	// shards did not sweep in this process).
	bounds := make([]uint32, parts+1)
	if maxHits > 0 {
		bounds = rangeBounds(accountRanges(d.postCount, parts), parts)
	}
	// Fold the account ranges in order: their edges are in pair order
	// across ranges.
	ew, err := pqio.Create[schema.Edge](filepath.Join(outDir, schema.TableEdges+".parquet"))
	if err != nil {
		return err
	}
	psw, err := newPairScoreWriter(filepath.Join(outDir, schema.TablePairScores+".parquet"))
	if err != nil {
		ew.Abort()
		return err
	}
	edgeRows := make([]schema.Edge, 0, 4096)
	flushEdges := func() error {
		err := ew.Write(edgeRows...)
		edgeRows = edgeRows[:0]
		return err
	}
	var hits int64
	for _, bySignal := range hitCount {
		for _, byRange := range bySignal {
			for _, n := range byRange {
				hits += int64(n)
			}
		}
	}
	d.meter().Phase("fold", progress.Hits, hits)
	nAcc := d.accounts.len()
	first := make([]int32, nAcc)
	inRows := make([]int32, nAcc)
	var scored []link
	evCount := make([][]int, nsig) // [signal][range]
	for si := range evCount {
		evCount[si] = make([]int, parts)
	}
	foldRange := func(r int) error {
		edges := make([][]edge, nsig)
		cands := make([]*candScores, nsig)
		ferrs := make([]error, nsig)
		// GOMAXPROCS signals at a time, the most hits first: a signal's
		// hits are the most the fold holds, so that the range's peak is
		// that of a few signals, not of all.
		order := make([]int, nsig)
		rangeHits := make([]int, nsig)
		for si := range nsig {
			order[si] = si
			for q := range hitCount[si] {
				if hitCount[si][q] != nil {
					rangeHits[si] += hitCount[si][q][r]
				}
			}
		}
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(rangeHits[y], rangeHits[x]) })
		var fg errgroup.Group
		fg.SetLimit(runtime.GOMAXPROCS(0))
		for _, si := range order {
			cands[si] = &candScores{}
			fg.Go(func() error {
				edges[si], ferrs[si] = foldRangeSignal(ctx, sp, d, p, si, r, hitCount[si], results[si], cands[si], bounds[r], bounds[r+1], maxHits)
				return nil
			})
		}
		fg.Wait()
		if err := errors.Join(ferrs...); err != nil {
			return err
		}
		parts := make([][]candScores, nsig)
		for si, c := range cands {
			parts[si] = []candScores{*c}
		}
		if err := psw.add(d, parts); err != nil {
			return err
		}
		// Merge the signals' edges by (pair, signal).
		pos := make([]int, nsig)
		for {
			best := -1
			for si := range nsig {
				if pos[si] < len(edges[si]) && (best < 0 || edges[si][pos[si]].pair < edges[best][pos[best]].pair) {
					best = si
				}
			}
			if best < 0 {
				break
			}
			pair := edges[best][pos[best]].pair
			score := 0.0
			for si := range nsig {
				if pos[si] >= len(edges[si]) || edges[si][pos[si]].pair != pair {
					continue
				}
				e := &edges[si][pos[si]]
				pos[si]++
				score += e.score
				a, b := unpair(e.pair)
				edgeRows = append(edgeRows, schema.Edge{
					AccountA: d.accounts.at(int(a)), AccountB: d.accounts.at(int(b)), Signal: d.signals[si].name,
					SharedItems: e.items, FirstAt: e.first, LastAt: e.last, Weight: e.score,
				})
				if len(edgeRows) == cap(edgeRows) {
					if err := flushEdges(); err != nil {
						return err
					}
				}
				for _, c := range e.ev {
					inRows[a]++
					inRows[b]++
					switch {
					case c.tA < c.tB:
						first[a]++
					case c.tB < c.tA:
						first[b]++
					}
				}
			}
			a, b := unpair(pair)
			scored = append(scored, link{a, b, score})
		}
		for si := range nsig {
			st.Edges[d.signals[si].name] += int64(len(edges[si]))
			st.EdgeRows += int64(len(edges[si]))
			d.sortImageEvidence(d.signals[si], edges[si])
			n, err := sp.writeEvidence(si, r, edges[si])
			if err != nil {
				return err
			}
			evCount[si][r] = n
		}
		return nil
	}
	for r := range parts {
		if err := foldRange(r); err != nil {
			ew.Abort()
			psw.abort()
			return err
		}
	}
	if err := flushEdges(); err != nil {
		ew.Abort()
		psw.abort()
		return err
	}
	if err := ew.Close(); err != nil {
		psw.abort()
		return err
	}
	if st.PairScoreRows, err = psw.close(); err != nil {
		return err
	}
	for si, sd := range d.signals {
		r := results[si]
		st.Items[sd.name] = r.items
		st.CandidateEdges[sd.name] = r.candidates
		st.BoundedItems += r.boundedItems
		st.BoundedPosts += r.boundedPosts
		st.BoundedBySignal[sd.name] = r.boundedItems
		st.NearRejected += r.rejected
	}

	// Evidence from its spill, in (signal, range) order, while the
	// clusters are found.
	var (
		ewg          sync.WaitGroup
		evidenceRows int64
		evidenceErr  error
	)
	ewg.Go(func() {
		evidenceRows, evidenceErr = sp.writeEvidenceTable(d, evCount, filepath.Join(outDir, schema.TableEvidence+".parquet"))
	})
	members, err := components(d, scored, first, inRows, p, st)
	if err == nil {
		_, err = pqio.WriteFile(filepath.Join(outDir, schema.TableClusters+".parquet"), members)
	}
	ewg.Wait()
	st.EvidenceRows = evidenceRows
	if err := errors.Join(evidenceErr, err); err != nil {
		return err
	}
	log.Info("clustered in partitions", "partitions", parts, "spilled_bytes", sp.bytes.Load())
	return nil
}

// accountRanges assigns every account number to one of parts ranges of
// consecutive numbers that hold about the same number of hits. A hit goes
// to the range of the pair's first (smaller) account, so ranges of equal
// posts would not do: the first range would take most pairs, those of its
// accounts with every later one. An account's share is estimated as its
// posts times the posts of the accounts after it. Integer arithmetic, so
// that shards cut on any machine agree (Merge reads their ranges as one).
func accountRanges(postCount []int32, parts int) []uint16 {
	var total uint64
	for _, c := range postCount {
		total += uint64(c)
	}
	// Below 2^63 in all: the posts are fewer than 2^32 (tableRows).
	weight := func(c int32, after uint64) uint64 { return uint64(c)*after + uint64(c)*uint64(c)/2 }
	var sum, seen uint64
	for _, c := range postCount {
		seen += uint64(c)
		sum += weight(c, total-seen)
	}
	out := make([]uint16, len(postCount))
	var cum uint64
	seen = 0
	for a, c := range postCount {
		if sum > 0 {
			hi, lo := bits.Mul64(cum, uint64(parts))
			q, _ := bits.Div64(hi, lo, sum)
			out[a] = uint16(min(q, uint64(parts-1))) // the last accounts may weigh nothing

		}
		seen += uint64(c)
		cum += weight(c, total-seen)
	}
	return out
}

// wideHit is a hit with its item, rarity weight and post times, as
// spilled.
type wideHit struct {
	a, b, postA, postB uint32
	item               uint64
	weight             float64
	tA, tB             int64
}

const (
	occBytes  = 24
	hitBytes  = 48
	evBytes   = 32
	spillSpan = 1 << 16 // records decoded or encoded at a time
)

// foldHitBytes is what folding a hit holds: the hit (hitBytes), its
// candidate score (16 bytes) and its share of the kept edges and evidence;
// measured at 217M posts, where a range's fold held 1.1 GB for about 12M
// hits.
const foldHitBytes = 96

// foldMaxHits, when above 0, replaces the hits a signal's fold holds at a
// time (tests lower it).
var foldMaxHits = 0

// rangeBounds returns, for account ranges as accountRanges numbers them
// (consecutive accounts, ranges ascending), the first account of each
// range and, last, the number of accounts.
func rangeBounds(rangeOf []uint16, parts int) []uint32 {
	b := make([]uint32, parts+1)
	r := 0
	for a, q := range rangeOf {
		for r < int(q) {
			r++
			b[r] = uint32(a)
		}
	}
	for r < parts {
		r++
		b[r] = uint32(len(rangeOf))
	}
	return b
}

// foldRangeSignal reads one signal's hits of one account range (accounts
// [lo, hi)) from every item partition and folds them into the range's
// edges, in pair order, as sweep does for all of a signal's hits. When the
// range has more than maxHits hits (maxHits > 0), it counts them by first
// account in one read of the files and then reads and folds them in runs
// of first accounts of at most maxHits hits each (an account with more is
// a run of its own), one read of the files a run: the pairs of a run are
// those of its first accounts, in the same order, so the edges and scores
// are the same as in one piece.
func foldRangeSignal(ctx context.Context, sp *spill, d *data, p Params, si, r int, counts [][]int, res *signalResult, cs *candScores, lo, hi uint32, maxHits int) ([]edge, error) {
	total := 0
	for q := range counts {
		if counts[q] != nil {
			total += counts[q][r]
		}
	}
	if total == 0 {
		return nil, nil
	}
	defer d.meter().Add(int64(total))
	read := func(n int, keep func(a uint32) bool) ([]wideHit, error) {
		hits := make([]wideHit, 0, n)
		for q := range counts {
			if counts[q] == nil || counts[q][r] == 0 {
				continue
			}
			var err error
			if hits, err = sp.readHits(si, q, r, counts[q][r], hits, keep); err != nil {
				return nil, err
			}
		}
		return hits, ctx.Err()
	}
	if maxHits <= 0 || total <= maxHits {
		hits, err := read(total, nil)
		if err != nil {
			return nil, err
		}
		return foldHits(d, p, si, hits, res, cs, nil), nil
	}
	perAcc := make([]int, hi-lo)
	for q := range counts {
		if counts[q] == nil || counts[q][r] == 0 {
			continue
		}
		if err := sp.readFile(sp.hitPath(si, q, r), counts[q][r], hitBytes, func(b []byte) { perAcc[le.Uint32(b)-lo]++ }); err != nil {
			return nil, err
		}
	}
	var edges []edge
	for from := 0; from < len(perAcc); {
		to, n := from, 0
		for to < len(perAcc) && (n == 0 || n+perAcc[to] <= maxHits) {
			n += perAcc[to]
			to++
		}
		if n > 0 {
			a0, a1 := lo+uint32(from), lo+uint32(to)
			hits, err := read(n, func(a uint32) bool { return a >= a0 && a < a1 })
			if err != nil {
				return nil, err
			}
			edges = foldHits(d, p, si, hits, res, cs, edges)
		}
		from = to
	}
	return slices.Clip(edges), nil
}

// foldHits folds hits, a signal's hits of whole first accounts, into their
// edges (appended to edges, in pair order) and candidate scores (cs).
func foldHits(d *data, p Params, si int, hits []wideHit, res *signalResult, cs *candScores, edges []edge) []edge {
	byPairItem := func(x, y wideHit) int {
		if x.a != y.a {
			return cmp.Compare(x.a, y.a)
		}
		if x.b != y.b {
			return cmp.Compare(x.b, y.b)
		}
		return cmp.Compare(x.item, y.item)
	}
	if d.signals[si].name == SignalNearText {
		// onePerPostPair's sort, split.
		sortHits(hits, func(x, y wideHit) int {
			if c := cmpPostPair(x.a, x.b, x.postA, x.postB, y.a, y.b, y.postA, y.postB); c != 0 {
				return c
			}
			return cmp.Compare(x.item, y.item)
		})
		hits = slices.CompactFunc(hits, func(x, y wideHit) bool { return x.a == y.a && x.b == y.b && x.postA == y.postA && x.postB == y.postB })
	}
	sortHits(hits, byPairItem)

	pairs := 0
	for i := range hits {
		if i == 0 || hits[i].a != hits[i-1].a || hits[i].b != hits[i-1].b {
			pairs++
		}
	}
	cs.grow(pairs, len(hits))
	k := p.MaxEvidencePerEdge
	var ev []cand
	var candidates int64
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].a == hits[i].a && hits[j].b == hits[i].b {
			j++
		}
		run := hits[i:j]
		i = j
		candidates++
		cs.open(makePair(run[0].a, run[0].b))
		for _, h := range run {
			cs.item(absDiff(h.tA, h.tB), h.weight)
		}
		if len(run) < p.MinWeight {
			continue
		}
		ed := edge{pair: makePair(run[0].a, run[0].b), items: int64(len(run)), first: math.MaxInt64, last: math.MinInt64}
		ev = ev[:0]
		for _, h := range run {
			tA, tB := h.tA, h.tB
			ed.score += h.weight
			ed.first = min(ed.first, tA, tB)
			ed.last = max(ed.last, tA, tB)
			ev = append(ev, cand{item: h.item, postA: h.postA, postB: h.postB, tA: tA, tB: tB})
		}
		ed.ev = d.keepEvidence(ev, k, d.candCmp)
		edges = append(edges, ed)
	}
	atomic.AddInt64(&res.candidates, candidates)
	return edges
}

// splitSortMin is the least number of hits sortHits and sortHitsSplit sort
// in two parts.
const splitSortMin = 1 << 16

// sortHits sorts hits by order, a total order that begins with the first
// account. When the hits' first accounts span at most a quarter as many
// numbers as there are hits (a range's signals with many hits), it places
// them by first account in place (an American flag sort: the hits of each
// account counted, then each swapped into its account's run, 8 bytes an
// account number) and sorts each account's run by order, the runs in two
// halves concurrently with GOMAXPROCS above 1: runs of a few hits each
// instead of one comparison sort of them all (33 of the 491 CPU s of the
// 100M run). Otherwise it sorts them as sortHitsSplit does. Either gives
// the one order.
func sortHits(hits []wideHit, order func(x, y wideHit) int) {
	if len(hits) < 2 || len(hits) >= math.MaxInt32 {
		sortHitsSplit(hits, order)
		return
	}
	lo, hi := hits[0].a, hits[0].a
	for _, h := range hits {
		lo, hi = min(lo, h.a), max(hi, h.a)
	}
	span := int(hi-lo) + 1
	if span > len(hits)/4 {
		sortHitsSplit(hits, order)
		return
	}
	// end[k]: where the run of account lo+k ends; pos[k]: its next hit
	// not yet in place.
	end := make([]int32, span)
	for _, h := range hits {
		end[h.a-lo]++
	}
	pos := make([]int32, span)
	var at int32
	for k, n := range end {
		pos[k] = at
		at += n
		end[k] = at
	}
	for k := range span {
		for pos[k] < end[k] {
			h := hits[pos[k]]
			for t := h.a - lo; int(t) != k; t = h.a - lo {
				hits[pos[t]], h = h, hits[pos[t]]
				pos[t]++
			}
			hits[pos[k]] = h
			pos[k]++
		}
	}
	sortRuns := func(from, to int) { // the runs of accounts lo+from to lo+to-1
		start := int32(0)
		if from > 0 {
			start = end[from-1]
		}
		for _, e := range end[from:to] {
			if e-start > 1 {
				slices.SortFunc(hits[start:e], order)
			}
			start = e
		}
	}
	if len(hits) < splitSortMin || runtime.GOMAXPROCS(0) < 2 {
		sortRuns(0, span)
		return
	}
	// Two halves of about as many hits each.
	mid, _ := slices.BinarySearch(end, int32(len(hits)/2))
	mid = min(mid+1, span)
	var wg sync.WaitGroup
	wg.Go(func() { sortRuns(0, mid) })
	sortRuns(mid, span)
	wg.Wait()
}

// sortHitsSplit sorts hits by order, a total order that begins with the
// first account: with GOMAXPROCS above 1 and enough hits, it cuts them in
// place at the median first account of a sample (those before it, then
// the others) and sorts the two parts concurrently, which gives the one
// order. A range's largest signal (near_text's band keys) otherwise sorted
// on one core while the others were done.
func sortHitsSplit(hits []wideHit, order func(x, y wideHit) int) {
	if len(hits) < splitSortMin || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(hits, order)
		return
	}
	sample := make([]uint32, 0, 257)
	for i := 0; i < len(hits); i += len(hits) / 256 {
		sample = append(sample, hits[i].a)
	}
	slices.Sort(sample)
	pivot := sample[len(sample)/2]
	cut := func(below func(a uint32) bool) int {
		i := 0
		for j := range hits {
			if below(hits[j].a) {
				hits[i], hits[j] = hits[j], hits[i]
				i++
			}
		}
		return i
	}
	m := cut(func(a uint32) bool { return a < pivot })
	if m == 0 { // pivot is the least account: cut after it
		m = cut(func(a uint32) bool { return a <= pivot })
	}
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(hits[:m], order) })
	slices.SortFunc(hits[m:], order)
	wg.Wait()
}

// spill writes and reads the partitions' files in one directory, each a
// zstd stream of fixed-size little-endian records.
type spill struct {
	dir string
	// hitDir, when set, is the directory of the hit files of an item
	// partition (a shard's output, or the shards' outputs at merge);
	// otherwise they are in dir.
	hitDir func(q int) string
	bytes  atomic.Int64 // compressed bytes written
}

// path is where a spill file of the run's own lives.
func (s *spill) path(name string) string { return filepath.Join(s.dir, name) }

// hitPath is where the hits of (signal, item partition, account range) live.
func (s *spill) hitPath(si, q, r int) string {
	name := fmt.Sprintf("hit-%d-%d-%d.zst", si, q, r)
	if s.hitDir != nil {
		return filepath.Join(s.hitDir(q), name)
	}
	return s.path(name)
}

var encoders = sync.Pool{New: func() any {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
}}

var decoders = sync.Pool{New: func() any {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		panic(err)
	}
	return dec
}}

// spillCreate creates a spill file; tests replace it to simulate a full
// disk.
var spillCreate = os.Create

// writeFile writes n records of size bytes each, put(i, buf) encoding
// record i into buf.
func (s *spill) writeFile(path string, n, size int, put func(i int, b []byte)) error {
	return s.writeStream(path, func(w io.Writer) error {
		bp := spillBufs.Get().(*[]byte)
		defer spillBufs.Put(bp)
		buf := slices.Grow((*bp)[:0], min(n, spillSpan)*size)
		*bp = buf
		buf = buf[: 0 : min(n, spillSpan)*size]
		for i := range n {
			buf = buf[:len(buf)+size]
			put(i, buf[len(buf)-size:])
			if len(buf) == cap(buf) || i == n-1 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		return nil
	})
}

// writeStream creates the spill file path and calls write with its zstd
// stream; it counts the file's bytes once it is closed.
func (s *spill) writeStream(path string, write func(w io.Writer) error) (err error) {
	f, err := spillCreate(path)
	if err != nil {
		return fmt.Errorf("cluster: spill: %w", err)
	}
	enc := encoders.Get().(*zstd.Encoder)
	enc.Reset(f)
	defer func() {
		enc.Reset(nil)
		encoders.Put(enc)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("cluster: spill %s: %w", path, cerr)
		}
		if err == nil {
			if fi, serr := os.Stat(path); serr == nil {
				s.bytes.Add(fi.Size())
			}
		}
	}()
	if err := write(enc); err != nil {
		return fmt.Errorf("cluster: spill %s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("cluster: spill %s: %w", path, err)
	}
	return nil
}

// spillBufs holds the buffers of writeFile and readFile, a span of
// records each.
var spillBufs = sync.Pool{New: func() any { return new([]byte) }}

// readFile reads the n records of a spill file, calling get for each.
func (s *spill) readFile(path string, n, size int, get func(b []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cluster: spill: %w", err)
	}
	defer f.Close()
	dec := decoders.Get().(*zstd.Decoder)
	defer func() {
		dec.Reset(nil)
		decoders.Put(dec)
	}()
	if err := dec.Reset(f); err != nil {
		return fmt.Errorf("cluster: spill %s: %w", path, err)
	}
	bp := spillBufs.Get().(*[]byte)
	defer spillBufs.Put(bp)
	*bp = slices.Grow((*bp)[:0], max(1, min(n, spillSpan))*size)
	buf := (*bp)[:max(1, min(n, spillSpan))*size]
	for {
		n, err := io.ReadFull(dec, buf)
		for off := 0; off+size <= n; off += size {
			get(buf[off : off+size])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if n%size != 0 {
				return fmt.Errorf("cluster: spill %s: truncated", path)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("cluster: spill %s: %w", path, err)
		}
	}
}

var le = binary.LittleEndian

func (s *spill) writeOccs(si, q int, occs []occ) error {
	return s.writeOccsTo(s.path(fmt.Sprintf("occ-%d-%d.zst", si, q)), occs)
}

// putOcc encodes o as one spill record of occBytes (decodeOcc reads it).
func putOcc(b []byte, o *occ) {
	le.PutUint64(b, o.item)
	le.PutUint64(b[8:], uint64(o.t))
	le.PutUint32(b[16:], o.acc)
	le.PutUint32(b[20:], o.post)
}

func (s *spill) writeOccsTo(path string, occs []occ) error {
	return s.writeFile(path, len(occs), occBytes, func(i int, b []byte) {
		putOcc(b, &occs[i])
	})
}

// decodeOcc decodes an occurrence writeOccsTo encoded.
func decodeOcc(b []byte) occ {
	return occ{item: le.Uint64(b), t: int64(le.Uint64(b[8:])), acc: le.Uint32(b[16:]), post: le.Uint32(b[20:])}
}

func (s *spill) readOccs(si, q, n int) ([]occ, error) {
	occs := make([]occ, 0, n)
	err := s.readFile(s.path(fmt.Sprintf("occ-%d-%d.zst", si, q)), n, occBytes, func(b []byte) {
		occs = append(occs, decodeOcc(b))
	})
	if err == nil && len(occs) != n {
		err = fmt.Errorf("cluster: spill occ-%d-%d.zst: %d occurrences, wrote %d", si, q, len(occs), n)
	}
	return occs, err
}

// writeHits writes a swept partition's hits, one file per account range
// of their first account, and returns the count per range. The files are
// written concurrently, GOMAXPROCS at a time.
func (s *spill) writeHits(si, q int, part *sweepPart, rangeOf []uint16, parts int) ([]int, error) {
	counts := make([]int, parts)
	for _, c := range part.hits.chunks {
		for i := range c {
			counts[rangeOf[c[i].a]]++
		}
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for r := range parts {
		if counts[r] > 0 {
			g.Go(func() error { return s.writeRangeHits(si, q, r, counts[r], part, rangeOf) })
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return counts, nil
}

// writeRangeHits writes the n hits of part whose first account is in range r.
func (s *spill) writeRangeHits(si, q, r, n int, part *sweepPart, rangeOf []uint16) error {
	ci, i := 0, 0
	return s.writeFile(s.hitPath(si, q, r), n, hitBytes, func(_ int, b []byte) {
		for {
			if i == len(part.hits.chunks[ci]) {
				ci, i = ci+1, 0
				continue
			}
			h := &part.hits.chunks[ci][i]
			t := &part.hits.times[ci][i]
			i++
			if int(rangeOf[h.a]) != r {
				continue
			}
			le.PutUint32(b, h.a)
			le.PutUint32(b[4:], h.b)
			le.PutUint32(b[8:], h.postA)
			le.PutUint32(b[12:], h.postB)
			le.PutUint64(b[16:], part.hitItem.item[h.g])
			le.PutUint64(b[24:], math.Float64bits(part.hitItem.weight[h.g]))
			le.PutUint64(b[32:], uint64(t.tA))
			le.PutUint64(b[40:], uint64(t.tB))
			return
		}
	})
}

// readHits appends the n hits of (signal si, item partition q, range r)
// to hits, those whose first account keep passes when keep is not nil.
func (s *spill) readHits(si, q, r, n int, hits []wideHit, keep func(a uint32) bool) ([]wideHit, error) {
	err := s.readFile(s.hitPath(si, q, r), n, hitBytes, func(b []byte) {
		if keep != nil && !keep(le.Uint32(b)) {
			return
		}
		hits = append(hits, wideHit{a: le.Uint32(b), b: le.Uint32(b[4:]), postA: le.Uint32(b[8:]), postB: le.Uint32(b[12:]),
			item: le.Uint64(b[16:]), weight: math.Float64frombits(le.Uint64(b[24:])),
			tA: int64(le.Uint64(b[32:])), tB: int64(le.Uint64(b[40:]))})
	})
	return hits, err
}

// writeEvidence spills the evidence of one signal's edges of one range, in
// edge order, and returns the row count.
func (s *spill) writeEvidence(si, r int, edges []edge) (int, error) {
	n := 0
	for i := range edges {
		n += len(edges[i].ev)
	}
	if n == 0 {
		return 0, nil
	}
	ei, ci := 0, 0
	err := s.writeFile(s.path(fmt.Sprintf("ev-%d-%d.zst", si, r)), n, evBytes, func(_ int, b []byte) {
		for ci == len(edges[ei].ev) {
			ei, ci = ei+1, 0
		}
		e := &edges[ei]
		c := &e.ev[ci]
		ci++
		a, bb := unpair(e.pair)
		le.PutUint32(b, a)
		le.PutUint32(b[4:], bb)
		le.PutUint32(b[8:], c.postA)
		le.PutUint32(b[12:], c.postB)
		le.PutUint64(b[16:], c.item)
		le.PutUint64(b[24:], uint64(absDiff(c.tA, c.tB)))
	})
	return n, err
}

// writeEvidenceTable writes the evidence table from the spilled evidence,
// signal by signal and range by range: the rows and the order of
// writeEvidence.
func (s *spill) writeEvidenceTable(d *data, counts [][]int, path string) (int64, error) {
	vw, err := createEvidence(path, d.posts)
	if err != nil {
		return 0, err
	}
	// The records of a chunk of rows, whose post ids are looked up at once
	// (postIDs.nums): a whole-archive release's ids are in a file, and
	// its evidence names posts in no order.
	chunkRows := evidenceChunk
	if d.posts.file == nil {
		chunkRows = evidenceBatchRows
	}
	recs := make([]byte, 0, chunkRows*evBytes)
	posts := make([]uint32, 0, 2*chunkRows)
	nums := make([]uint64, 2*chunkRows)
	var keys []uint64
	var werr error
	flush := func(sd *signalData) {
		if werr != nil || len(recs) == 0 {
			recs = recs[:0]
			return
		}
		posts = posts[:0]
		for b := recs; len(b) > 0; b = b[evBytes:] {
			posts = append(posts, le.Uint32(b[8:]), le.Uint32(b[12:]))
		}
		keys = d.posts.nums(posts, nums, keys)
		for i, b := 0, recs; len(b) > 0 && werr == nil; i, b = i+2, b[evBytes:] {
			a, bb := le.Uint32(b), le.Uint32(b[4:])
			postA, postB := posts[i], posts[i+1]
			werr = vw.addNums(schema.Evidence{
				Signal: sd.name, AccountA: d.accounts.at(int(a)), AccountB: d.accounts.at(int(bb)),
				ItemKey: d.evidenceKey(sd, le.Uint64(b[16:]), postA, postB), DtMillis: int64(le.Uint64(b[24:])),
			}, postA, postB, nums[i], nums[i+1])
		}
		recs = recs[:0]
	}
	for si, sd := range d.signals {
		for r, n := range counts[si] {
			if n == 0 {
				continue
			}
			err := s.readFile(s.path(fmt.Sprintf("ev-%d-%d.zst", si, r)), n, evBytes, func(b []byte) {
				recs = append(recs, b...)
				if len(recs) == cap(recs) {
					flush(sd)
				}
			})
			if err = errors.Join(err, werr, sd.keyErr(), d.posts.readErr()); err != nil {
				vw.abort()
				return 0, err
			}
		}
		flush(sd)
		if err := errors.Join(werr, sd.keyErr(), d.posts.readErr()); err != nil {
			vw.abort()
			return 0, err
		}
	}
	return vw.close()
}

// evidenceChunk is the most evidence rows writeEvidenceTable looks the
// post ids of up at once when they are in a file: 1M rows, 64 MB with
// their records, as the fold's working memory is free by then. Fewer
// rows a chunk would read the file more often: each chunk reads the runs
// of it that hold its posts, most of the file at whole-archive scale.
var evidenceChunk = 1 << 20
