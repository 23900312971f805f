package cluster

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/takedown-research/takedown/internal/csvfield"
	"github.com/takedown-research/takedown/internal/pqio"
)

// CompatCooRTweet is the Params.Compat value that also writes CooRTweet's
// coordinated network (its detect_groups then generate_coordinated_network)
// of the co-shares of reposted posts (repost_key).
const CompatCooRTweet = "coortweet"

// Files written in --compat coortweet mode, next to the three tables.
const (
	CooRTweetEdgesCSV     = "coortweet_edges.csv"
	CooRTweetEdgesGraphML = "coortweet_edges.graphml"
)

// CooRTweetParams are the arguments of CooRTweet's detect_groups and
// generate_coordinated_network that --compat coortweet takes (fast_net and
// objects are not offered). They are recorded in the run's parameters only
// in that mode (Params.MarshalJSON), and must keep their defaults otherwise
// (Validate).
type CooRTweetParams struct {
	// WindowSeconds is detect_groups' time_window: two shares of one
	// object at most this many seconds apart (inclusive) are a co-share.
	WindowSeconds float64 `json:"time_window"`
	// MinParticipation is detect_groups' min_participation.
	MinParticipation int `json:"min_participation"`
	// RemoveLoops is detect_groups' remove_loops.
	RemoveLoops bool `json:"remove_loops"`
	// EdgeWeight is generate_coordinated_network's edge_weight: the
	// quantile (R's type 7) of the edge weights above which an edge has
	// weight_threshold 1.
	EdgeWeight float64 `json:"edge_weight"`
	// Subgraph is generate_coordinated_network's subgraph: 0 (the whole
	// network) or 1 (only the edges with weight_threshold 1).
	Subgraph int `json:"subgraph"`
}

// DefaultCooRTweetParams returns CooRTweet's own defaults (2.1.x).
func DefaultCooRTweetParams() CooRTweetParams {
	return CooRTweetParams{WindowSeconds: 10, MinParticipation: 2, RemoveLoops: true, EdgeWeight: 0.5}
}

// Values of the --coortweet-loops flag.
const (
	CooRTweetLoopsRemove = "remove"
	CooRTweetLoopsKeep   = "keep"
)

// ParseCooRTweetLoops parses --coortweet-loops: remove (CooRTweet's
// remove_loops = TRUE) or keep.
func ParseCooRTweetLoops(s string) (remove bool, err error) {
	switch s {
	case CooRTweetLoopsRemove:
		return true, nil
	case CooRTweetLoopsKeep:
		return false, nil
	}
	return false, fmt.Errorf("--coortweet-loops must be %q or %q, got %q", CooRTweetLoopsRemove, CooRTweetLoopsKeep, s)
}

// CooRTweetLoopsFlag returns the --coortweet-loops value of remove.
func CooRTweetLoopsFlag(remove bool) string {
	if remove {
		return CooRTweetLoopsRemove
	}
	return CooRTweetLoopsKeep
}

// validate reports a usage error naming the flag.
func (c CooRTweetParams) validate() error {
	if math.IsNaN(c.WindowSeconds) || math.IsInf(c.WindowSeconds, 0) || c.WindowSeconds < 0 || c.WindowSeconds > 365*24*3600 {
		return fmt.Errorf("--coortweet-window must be a number of seconds from 0 to 31536000 (a year), got %v", c.WindowSeconds)
	}
	if c.MinParticipation < 0 {
		return fmt.Errorf("--coortweet-min-participation must be >= 0, got %d", c.MinParticipation)
	}
	if math.IsNaN(c.EdgeWeight) || c.EdgeWeight < 0 || c.EdgeWeight > 1 {
		return fmt.Errorf("--coortweet-edge-weight must be in [0, 1], got %v", c.EdgeWeight)
	}
	if c.Subgraph != 0 && c.Subgraph != 1 {
		return fmt.Errorf("--coortweet-subgraph must be 0 or 1 (CooRTweet's subgraphs 2 and 3 need its fast_net, which is not reproduced), got %d", c.Subgraph)
	}
	return nil
}

// MarshalJSON writes the parameters with the CooRTweet block only in
// --compat coortweet mode, so that the run ids of the other modes are what
// they were before it existed.
func (p Params) MarshalJSON() ([]byte, error) {
	type plain Params
	var out struct {
		plain
		CooRTweet *CooRTweetParams `json:"coortweet,omitempty"`
	}
	out.plain = plain(p)
	if p.Compat == CompatCooRTweet {
		c := p.CooRTweet
		out.CooRTweet = &c
	}
	return json.Marshal(out)
}

// coortweetEdge is one edge of CooRTweet's undirected network between the
// accounts of rank lo <= hi (coortweetResult.names).
type coortweetEdge struct {
	lo, hi     uint32
	weight     int64
	sumMillis  int64 // sum of the co-shares' time deltas
	nOlder     int64 // n_content_id: distinct contents of the earlier shares
	nNewer     int64 // n_content_id_y: distinct contents of the later shares
	overThresh bool  // weight_threshold
}

func (e *coortweetEdge) avgTimeDelta() float64 {
	return float64(e.sumMillis) / (1000 * float64(e.weight))
}

func (e *coortweetEdge) symmetry() float64 {
	return float64(min(e.nOlder, e.nNewer)) / float64(max(e.nOlder, e.nNewer))
}

// coortweetResult is the network written in --compat coortweet mode.
type coortweetResult struct {
	names    []string // account ids, sorted: an account's rank indexes it
	edges    []coortweetEdge
	coShares int64 // rows of detect_groups' result
}

// coortweetEvent is one row of detect_groups' result: a co-share of one
// object by the accounts of pair (ranks, lo << 32 | hi), older and newer
// being the content numbers of the earlier and the later share.
type coortweetEvent struct {
	pair         uint64
	older, newer uint32
	delta        int64 // ms
}

// coortweetTable is what the CooRTweet network reads of the fingerprints
// table: its rows with an account, a post id and a repost_key, in table
// order (CooRTweet's input rows).
type coortweetTable struct {
	acc          []uint32 // account number, numbered in order of first appearance
	accNames     []string
	content      []uint32 // post_id number
	contents     int      // distinct post ids
	object       []uint32 // repost_key number
	objAsContent []int64  // by object number: the content number of the same string, or -1
	times        []int64
}

func readCooRTweetTable(ctx context.Context, path string) (*coortweetTable, error) {
	n, checkRow, err := tableRows(ctx, path)
	if err != nil {
		return nil, err
	}
	acc := make([]int32, n)
	post := make([]int32, n)
	obj := make([]int32, n)
	times := make([]int64, n)
	accs, posts, objs := newInternTable(), newInternTable(), newInternTable()
	intern := func(col string, tab *internTable, dst []int32) func() error {
		return func() error {
			for i := range dst {
				dst[i] = -1
			}
			return pqio.EachBytes(path, col, func(row int64, b []byte) error {
				if err := checkRow(row); err != nil {
					return err
				}
				if len(b) > 0 {
					dst[row] = int32(tab.id(b))
				}
				return nil
			})
		}
	}
	fns := []func() error{
		intern(colAccountID, accs, acc),
		intern(colPostID, posts, post),
		intern(colRepostKey, objs, obj),
		func() error {
			return pqio.EachInt64(path, colPostedAt, func(row, v int64) error {
				if err := checkRow(row); err != nil {
					return err
				}
				times[row] = v
				return nil
			})
		},
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &coortweetTable{}
	accNum := make([]int32, accs.len())
	for i := range accNum {
		accNum[i] = -1
	}
	for r := range n {
		if acc[r] < 0 || post[r] < 0 || obj[r] < 0 {
			continue
		}
		a := acc[r]
		if accNum[a] < 0 {
			accNum[a] = int32(len(t.accNames))
			t.accNames = append(t.accNames, accs.str(uint32(a)))
		}
		t.acc = append(t.acc, uint32(accNum[a]))
		t.content = append(t.content, uint32(post[r]))
		t.object = append(t.object, uint32(obj[r]))
		t.times = append(t.times, times[r])
	}
	t.contents = posts.len()
	t.objAsContent = make([]int64, objs.len())
	for o := range t.objAsContent {
		t.objAsContent[o] = -1
		if c, ok := posts.find(objs.str(uint32(o))); ok {
			t.objAsContent[o] = int64(c)
		}
	}
	return t, nil
}

// coortweetNetwork computes CooRTweet's network (see docs/stages/cluster.md,
// "CooRTweet compatibility"): detect_groups(x, time_window, min_participation,
// remove_loops) then generate_coordinated_network(edge_weight, subgraph),
// x being the rows with a repost_key (object_id = repost_key, account_id,
// content_id = post_id, timestamp_share = posted_at).
func coortweetNetwork(ctx context.Context, path string, c CooRTweetParams) (*coortweetResult, error) {
	t, err := readCooRTweetTable(ctx, path)
	if err != nil {
		return nil, err
	}
	return coortweetCompute(ctx, t, c)
}

// coortweetCompute is coortweetNetwork on the rows read: the co-shares are
// listed, filtered as detect_groups does and aggregated per account pair as
// generate_coordinated_network does. Edges are sorted by (from, to).
func coortweetCompute(ctx context.Context, t *coortweetTable, c CooRTweetParams) (*coortweetResult, error) {
	nAcc := len(t.accNames)
	// Pre-filter: the rows of accounts with at least min_participation rows.
	rowsOf := make([]int64, nAcc)
	for _, a := range t.acc {
		rowsOf[a]++
	}
	var keep []uint32
	for r, a := range t.acc {
		if rowsOf[a] >= int64(c.MinParticipation) {
			keep = append(keep, uint32(r))
		}
	}
	// Its grouping by account_id leaves the rows grouped by account, in
	// order of the accounts' first rows (account numbers are that order),
	// then in table order: within an object, a tie in time is oriented by
	// this order. ord[r] is row r's position in it (a counting sort).
	start := make([]uint32, nAcc+1)
	for _, r := range keep {
		start[t.acc[r]+1]++
	}
	for a := range nAcc {
		start[a+1] += start[a]
	}
	ord := make([]uint32, len(t.acc))
	for _, r := range keep {
		ord[r] = start[t.acc[r]]
		start[t.acc[r]]++
	}
	// Each object's shares by time, ties by that order: a pair (i, j), i
	// first, is the co-share whose content_id is i's.
	byObj := slices.Clone(keep)
	slices.SortFunc(byObj, func(x, y uint32) int {
		if c := cmp.Compare(t.object[x], t.object[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(t.times[x], t.times[y]); c != 0 {
			return c
		}
		return cmp.Compare(ord[x], ord[y])
	})

	// Accounts are ranked by id (R's pmin/pmax in the C locale).
	order := make([]uint32, nAcc)
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(t.accNames[a], t.accNames[b]) })
	rank := make([]uint32, nAcc)
	names := make([]string, nAcc)
	for r, a := range order {
		rank[a] = uint32(r)
		names[r] = t.accNames[a]
	}

	w := int64(math.Round(c.WindowSeconds * 1000))
	var events []coortweetEvent
	for i, ri := range byObj {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o := t.object[ri]
		for _, rj := range byObj[i+1:] {
			if t.object[rj] != o || t.times[rj]-t.times[ri] > w {
				break
			}
			ci, cj := t.content[ri], t.content[rj]
			if c.RemoveLoops {
				oc := t.objAsContent[o]
				if oc == int64(ci) || oc == int64(cj) || ci == cj || t.acc[ri] == t.acc[rj] {
					continue
				}
			}
			a, b := rank[t.acc[ri]], rank[t.acc[rj]]
			events = append(events, coortweetEvent{pair: makePair(min(a, b), max(a, b)), older: ci, newer: cj, delta: t.times[rj] - t.times[ri]})
		}
	}

	// The refined participation filter: an account passes when at least
	// min_participation of its rows have a content of the co-shares; a
	// co-share stays when either content is that of a passing account's row.
	if c.MinParticipation >= 1 {
		inS := make([]bool, t.contents)
		for _, e := range events {
			inS[e.older], inS[e.newer] = true, true
		}
		n := make([]int64, nAcc)
		for _, r := range keep {
			if inS[t.content[r]] {
				n[t.acc[r]]++
			}
		}
		inFilt := make([]bool, t.contents)
		for _, r := range keep {
			if inS[t.content[r]] && n[t.acc[r]] >= int64(c.MinParticipation) {
				inFilt[t.content[r]] = true
			}
		}
		events = slices.DeleteFunc(events, func(e coortweetEvent) bool { return !inFilt[e.older] && !inFilt[e.newer] })
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &coortweetResult{names: names, coShares: int64(len(events))}
	slices.SortFunc(events, func(x, y coortweetEvent) int {
		if c := cmp.Compare(x.pair, y.pair); c != 0 {
			return c
		}
		return cmp.Compare(x.older, y.older)
	})
	var newer []uint32
	for i := 0; i < len(events); {
		j := i
		e := coortweetEdge{}
		e.lo, e.hi = unpair(events[i].pair)
		newer = newer[:0]
		for ; j < len(events) && events[j].pair == events[i].pair; j++ {
			e.weight++
			e.sumMillis += events[j].delta
			if j == i || events[j].older != events[j-1].older {
				e.nOlder++
			}
			newer = append(newer, events[j].newer)
		}
		slices.Sort(newer)
		e.nNewer = int64(len(slices.Compact(newer)))
		res.edges = append(res.edges, e)
		i = j
	}

	// weight_threshold: above R's quantile(weights, edge_weight) (type 7).
	ws := make([]float64, len(res.edges))
	for i, e := range res.edges {
		ws[i] = float64(e.weight)
	}
	if len(ws) > 0 {
		q := quantileType7(ws, c.EdgeWeight)
		for i := range res.edges {
			res.edges[i].overThresh = float64(res.edges[i].weight) > q
		}
	}
	if c.Subgraph == 1 {
		res.edges = slices.DeleteFunc(res.edges, func(e coortweetEdge) bool { return !e.overThresh })
	}
	return res, nil
}

// quantileType7 is R 4.2's quantile(x, p, type = 7) of a non-empty x, with
// its arithmetic: index = 1 + (n-1)p, and between the order statistics
// x[lo] != x[hi], (1-h) x[lo] + h x[hi].
func quantileType7(x []float64, p float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	index := 1 + float64(len(x)-1)*p
	lo := math.Floor(index)
	hi := math.Ceil(index)
	qs := x[int(lo)-1]
	if xh := x[int(hi)-1]; index > lo && xh != qs {
		h := index - lo
		qs = (1-h)*qs + h*xh
	}
	return qs
}

// coortweetColumns is the header of coortweet_edges.csv: the columns of
// igraph's as_data_frame(g, "edges") of generate_coordinated_network's graph.
const coortweetColumns = "from,to,weight,avg_time_delta,n_content_id,n_content_id_y,edge_symmetry_score,weight_threshold"

// appendR15 appends v as R's sprintf("%.15g") writes it.
func appendR15(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', 15, 64) }

// writeCooRTweet writes the network as CSV and GraphML.
func writeCooRTweet(c *coortweetResult, outDir string) error {
	var csvErr, gmlErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		csvErr = writeFile(filepath.Join(outDir, CooRTweetEdgesCSV), func(w *bufio.Writer) {
			w.WriteString(coortweetColumns + "\n")
			var b []byte
			for i := range c.edges {
				e := &c.edges[i]
				b = csvfield.Append(b[:0], c.names[e.lo], false)
				b = append(b, ',')
				b = csvfield.Append(b, c.names[e.hi], false)
				b = append(b, ',')
				b = strconv.AppendInt(b, e.weight, 10)
				b = append(b, ',')
				b = appendR15(b, e.avgTimeDelta())
				b = append(b, ',')
				b = strconv.AppendInt(b, e.nOlder, 10)
				b = append(b, ',')
				b = strconv.AppendInt(b, e.nNewer, 10)
				b = append(b, ',')
				b = appendR15(b, e.symmetry())
				b = append(b, ',')
				b = append(b, boolDigit(e.overThresh))
				b = append(b, '\n')
				w.Write(b)
			}
		})
	})
	wg.Go(func() { gmlErr = writeCooRTweetGraphML(c, filepath.Join(outDir, CooRTweetEdgesGraphML)) })
	wg.Wait()
	if csvErr != nil {
		return csvErr
	}
	return gmlErr
}

func boolDigit(v bool) byte {
	if v {
		return '1'
	}
	return '0'
}

// writeCooRTweetGraphML writes one undirected graph with the rows of
// coortweet_edges.csv as edges, in the same order, and their columns as
// attributes; its nodes are the accounts of the edges, sorted.
func writeCooRTweetGraphML(c *coortweetResult, path string) error {
	inEdge := make([]bool, len(c.names))
	for _, e := range c.edges {
		inEdge[e.lo], inEdge[e.hi] = true, true
	}
	return writeFile(path, func(w *bufio.Writer) {
		w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		w.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns">` + "\n")
		for _, k := range [][2]string{{"weight", "long"}, {"avg_time_delta", "double"}, {"n_content_id", "long"},
			{"n_content_id_y", "long"}, {"edge_symmetry_score", "double"}, {"weight_threshold", "long"}} {
			fmt.Fprintf(w, "  <key id=%q for=\"edge\" attr.name=%q attr.type=%q/>\n", k[0], k[0], k[1])
		}
		w.WriteString(`  <graph id="coortweet" edgedefault="undirected">` + "\n")
		b := writeGraphMLNodes(w, c.names, inEdge)
		for i := range c.edges {
			e := &c.edges[i]
			b = append(b[:0], `    <edge source="`...)
			b = appendXMLAttr(b, c.names[e.lo])
			b = append(b, `" target="`...)
			b = appendXMLAttr(b, c.names[e.hi])
			b = append(b, `"><data key="weight">`...)
			b = strconv.AppendInt(b, e.weight, 10)
			b = append(b, `</data><data key="avg_time_delta">`...)
			b = appendR15(b, e.avgTimeDelta())
			b = append(b, `</data><data key="n_content_id">`...)
			b = strconv.AppendInt(b, e.nOlder, 10)
			b = append(b, `</data><data key="n_content_id_y">`...)
			b = strconv.AppendInt(b, e.nNewer, 10)
			b = append(b, `</data><data key="edge_symmetry_score">`...)
			b = appendR15(b, e.symmetry())
			b = append(b, `</data><data key="weight_threshold">`...)
			b = append(b, boolDigit(e.overThresh))
			b = append(b, "</data></edge>\n"...)
			w.Write(b)
		}
		w.WriteString("  </graph>\n</graphml>\n")
	})
}
