package cluster

import (
	"bufio"
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/takedown-research/takedown/pipeline/pqio"
)

// CompatCNT is the Params.Compat value that also writes the
// coordination-network-toolkit's co_tweet, co_retweet and co_link networks.
const CompatCNT = "cnt"

// Files written in --compat cnt mode, next to the three tables.
const (
	CNTEdgesCSV     = "cnt_edges.csv"
	CNTEdgesGraphML = "cnt_edges.graphml"
)

// Columns of the fingerprints table that only the compat networks read.
const (
	colRepostKey  = "repost_key"
	colCNTTextKey = "cnt_text_key"
	colCNTURLKeys = "cnt_url_keys"
)

// CNTEdge is one row of cnt_edges.csv: a directed edge of one of the
// toolkit's networks.
type CNTEdge struct {
	Source, Target string
	Weight         int64
	EdgeType       string
}

// cntOcc is one message carrying one item of a compat network: msg is the
// message's number (its post id's, see cntNetworks), acc its account's rank.
type cntOcc struct {
	item uint64
	t    int64
	acc  uint32
	msg  uint32
}

// cntTable is what the compat networks read of the fingerprints table, by
// row.
type cntTable struct {
	rows     int
	acc      []int32  // account number, -1 for an empty account_id
	accNames []string // by account number
	msg      []uint32 // number of the row's post_id (first-seen order)
	msgs     int      // distinct post ids
	hasMsg   []bool   // post_id not empty
	times    []int64
	repost   []uint32 // repost_key number + 1, 0 for none
	hasText  []bool
	text     []uint64
	urlEnd   []uint32 // end of the row's keys in urls
	urls     []uint64
}

// readCNTTable reads the columns the compat networks need, each on its own
// and concurrently (as load does).
func readCNTTable(ctx context.Context, path string) (*cntTable, error) {
	total, err := pqio.NumRows(path)
	if err != nil {
		return nil, err
	}
	if total >= math.MaxUint32 {
		return nil, fmt.Errorf("read %s: %d posts, more than %d", path, total, uint32(math.MaxUint32)-1)
	}
	n := int(total)
	t := &cntTable{rows: n, acc: make([]int32, n), msg: make([]uint32, n), hasMsg: make([]bool, n),
		times: make([]int64, n), repost: make([]uint32, n), hasText: make([]bool, n), text: make([]uint64, n),
		urlEnd: make([]uint32, n)}
	checkRow := func(row int64) error {
		if row >= total {
			return fmt.Errorf("read %s: more rows than the footer's %d", path, total)
		}
		if row%65536 == 0 {
			return ctx.Err()
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	wg.Go(func() {
		idx := map[string]int32{}
		for i := range t.acc {
			t.acc[i] = -1
		}
		errs[0] = pqio.EachBytes(path, colAccountID, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) == 0 {
				return nil
			}
			a, ok := idx[string(b)]
			if !ok {
				a = int32(len(t.accNames))
				s := string(b)
				idx[s] = a
				t.accNames = append(t.accNames, s)
			}
			t.acc[row] = a
			return nil
		})
	})
	wg.Go(func() {
		idx := map[string]uint32{}
		errs[1] = pqio.EachBytes(path, colPostID, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) == 0 {
				return nil
			}
			m, ok := idx[string(b)]
			if !ok {
				m = uint32(len(idx))
				idx[string(b)] = m
			}
			t.msg[row], t.hasMsg[row] = m, true
			return nil
		})
		t.msgs = len(idx)
	})
	wg.Go(func() {
		errs[2] = pqio.EachInt64(path, colPostedAt, func(row, v int64) error {
			if err := checkRow(row); err != nil {
				return err
			}
			t.times[row] = v
			return nil
		})
	})
	wg.Go(func() {
		idx := map[string]uint32{}
		errs[3] = pqio.EachBytes(path, colRepostKey, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) == 0 {
				return nil
			}
			r, ok := idx[string(b)]
			if !ok {
				r = uint32(len(idx)) + 1
				idx[string(b)] = r
			}
			t.repost[row] = r
			return nil
		})
	})
	wg.Go(func() {
		errs[4] = pqio.EachInt64(path, colCNTTextKey, func(row, v int64) error {
			if err := checkRow(row); err != nil {
				return err
			}
			t.hasText[row], t.text[row] = true, uint64(v)
			return nil
		})
	})
	wg.Go(func() {
		last := int64(-1)
		errs[5] = pqio.EachInt64(path, colCNTURLKeys, func(row, v int64) error {
			if err := checkRow(row); err != nil {
				return err
			}
			for r := last + 1; r < row; r++ {
				t.urlEnd[r] = uint32(len(t.urls))
			}
			if len(t.urls) == math.MaxUint32 {
				return fmt.Errorf("read %s: more than %d cnt_url_keys", path, uint32(math.MaxUint32))
			}
			t.urls = append(t.urls, uint64(v))
			t.urlEnd[row] = uint32(len(t.urls))
			last = row
			return nil
		})
		for r := last + 1; r < total; r++ {
			t.urlEnd[r] = uint32(len(t.urls))
		}
	})
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		if col := []string{colCNTTextKey, colCNTURLKeys}[max(i-4, 0)]; i >= 4 && strings.Contains(err.Error(), fmt.Sprintf("no column %q", col)) {
			return nil, fmt.Errorf("%w (the fingerprints table predates the CNT columns: run `takedown fingerprint` again)", err)
		}
		return nil, err
	}
	return t, ctx.Err()
}

// rowURLs returns the cnt_url_keys of row r.
func (t *cntTable) rowURLs(r int) []uint64 {
	start := uint32(0)
	if r > 0 {
		start = t.urlEnd[r-1]
	}
	return t.urls[start:t.urlEnd[r]]
}

// cntNetworks computes the toolkit's co_tweet, co_retweet and co_link
// networks with the semantics of its compute_networks.py and CSV
// preprocessing (see docs/stages/cluster.md, "--compat cnt"): the weight of
// the directed edge u -> v (u != v) is the number of distinct messages of u
// that have at least one message of v with the same item posted at most
// window ms before or after (inclusive); a co_link message counts once
// however many of its URLs match. Edges below minWeight are dropped, each
// direction on its own. Rows are sorted by (edge_type, source, target).
//
// Messages are identified by post_id, as the toolkit's tables are keyed by
// message_id: of rows sharing a post_id, only the first counts for co_tweet
// and co_retweet (its edge table keeps the first row), and for co_link each
// (post_id, URL) pair counts once, with the first row that has it (its
// message_url table), a message counting once per account.
func cntNetworks(ctx context.Context, path string, window int64, minWeight int) ([]CNTEdge, error) {
	t, err := readCNTTable(ctx, path)
	if err != nil {
		return nil, err
	}
	// Accounts are ranked by id, so that pair keys sort like the ids.
	order := make([]int32, len(t.accNames))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(t.accNames[a], t.accNames[b]) })
	rank := make([]uint32, len(order))
	names := make([]string, len(order))
	for r, a := range order {
		rank[a] = uint32(r)
		names[r] = t.accNames[a]
	}

	// Occurrences, in row order. Rows without an account or a post id are
	// left out, as by the stage's own signals. firstRow[m] is the first
	// row left in with post id m (-1 for none); dup marks the post ids with
	// more than one such row.
	use := func(r int) bool { return t.hasMsg[r] && t.acc[r] >= 0 }
	firstRow := make([]int32, t.msgs)
	for m := range firstRow {
		firstRow[m] = -1
	}
	dup := map[uint32]bool{}
	for r := range t.rows {
		if !use(r) {
			continue
		}
		if m := t.msg[r]; firstRow[m] < 0 {
			firstRow[m] = int32(r)
		} else {
			dup[m] = true
		}
	}
	// co_link messages are numbered m for the first row of post id m; a
	// later row of the same post id and another account is another message
	// to the toolkit's join (it counts distinct message ids per account),
	// numbered from t.msgs on.
	var link, retweet, tweet []cntOcc
	accOf := make([]uint32, t.msgs)    // the account of each co_link message
	linkCount := make([]uint8, t.msgs) // co_link occurrences per message (saturating)
	seenURL := map[[2]uint64]bool{}    // (post id, URL) of duplicated post ids
	dupMsg := map[[2]uint32]uint32{}   // (post id, account) of a duplicate row -> message number
	for r := range t.rows {
		if !use(r) {
			continue
		}
		m, a, ts := t.msg[r], rank[t.acc[r]], t.times[r]
		first := firstRow[m] == int32(r)
		if first {
			accOf[m] = a
			switch {
			case t.repost[r] != 0:
				retweet = append(retweet, cntOcc{uint64(t.repost[r]), ts, a, m})
			case t.hasText[r]:
				tweet = append(tweet, cntOcc{t.text[r], ts, a, m})
			}
		}
		urls := t.rowURLs(r)
		if t.repost[r] == 0 && t.hasText[r] && len(urls) == 0 {
			return nil, fmt.Errorf("read %s row %d: a post that is not a repost has no cnt_url_keys (the table predates the column: run `takedown fingerprint` again)", path, r+1)
		}
		if len(urls) == 0 {
			continue
		}
		id := m
		if !first && accOf[m] != a {
			k := [2]uint32{m, a}
			v, ok := dupMsg[k]
			if !ok {
				v = uint32(len(accOf))
				dupMsg[k] = v
				accOf = append(accOf, a)
				linkCount = append(linkCount, 0)
			}
			id = v
		}
		for _, u := range urls {
			if dup[m] {
				k := [2]uint64{uint64(m), u}
				if seenURL[k] {
					continue
				}
				seenURL[k] = true
			}
			link = append(link, cntOcc{u, ts, a, id})
			if linkCount[id] < 2 {
				linkCount[id]++
			}
		}
	}

	nets := []struct {
		name  string
		occ   []cntOcc
		multi []uint8 // occurrences per message, when a message can have several
	}{{"co_link", link, linkCount}, {"co_retweet", retweet, nil}, {"co_tweet", tweet, nil}}
	// Each network's pairs, then the edges of all three in one slice
	// allocated once (the CSV of a large table has millions of rows).
	pairs := make([][]uint64, len(nets))
	counts := make([]int, len(nets))
	var wg sync.WaitGroup
	for i, nw := range nets {
		wg.Go(func() {
			pairs[i] = cntPairs(ctx, nw.occ, nw.multi, accOf, len(names), window)
			counts[i] = cntEdges(pairs[i], names, nw.name, minWeight, nil)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]CNTEdge, 0, counts[0]+counts[1]+counts[2])
	for i, nw := range nets {
		out = out[:len(out)+counts[i]]
		cntEdges(pairs[i], names, nw.name, minWeight, out[len(out)-counts[i]:])
		pairs[i] = nil
	}
	return out, nil
}

// cntPairs returns, sorted, one key source<<32|target per (message,
// target account) pair of the toolkit's join: a message of account source
// with an item that a message of another account target also has within
// window. With multi nil every message has one occurrence; otherwise
// multi[msg] counts them (up to 2), and the pairs of a message of several
// are deduplicated across its items, accOf[msg] giving its account. Like
// the toolkit's join it costs the number of message pairs within the window
// (there is no viral bound here). It returns nil when ctx is done.
func cntPairs(ctx context.Context, occ []cntOcc, multi []uint8, accOf []uint32, accounts int, window int64) []uint64 {
	slices.SortFunc(occ, func(x, y cntOcc) int {
		if c := cmp.Compare(x.item, y.item); c != 0 {
			return c
		}
		return cmp.Compare(x.t, y.t)
	})
	stamp := make([]uint32, accounts) // stamp[acc] == i+1: acc already a target of occ[i]
	var pairs, msgPairs []uint64
	for gs := 0; gs < len(occ); {
		ge := gs + 1
		for ge < len(occ) && occ[ge].item == occ[gs].item {
			ge++
		}
		lo, hi := gs, gs
		for i := gs; i < ge && ge-gs > 1; i++ {
			if i%65536 == 0 && ctx.Err() != nil {
				return nil
			}
			o := &occ[i]
			for occ[lo].t < o.t-window {
				lo++
			}
			for hi+1 < ge && occ[hi+1].t <= o.t+window {
				hi++
			}
			several := multi != nil && multi[o.msg] > 1
			for j := lo; j <= hi; j++ {
				b := occ[j].acc
				if b == o.acc || stamp[b] == uint32(i+1) {
					continue
				}
				stamp[b] = uint32(i + 1)
				if several {
					msgPairs = append(msgPairs, uint64(o.msg)<<32|uint64(b))
				} else {
					pairs = append(pairs, uint64(o.acc)<<32|uint64(b))
				}
			}
		}
		gs = ge
	}
	if len(msgPairs) > 0 {
		slices.Sort(msgPairs)
		for _, p := range slices.Compact(msgPairs) {
			pairs = append(pairs, uint64(accOf[p>>32])<<32|p&math.MaxUint32)
		}
	}
	slices.Sort(pairs)
	return pairs
}

// cntEdges turns sorted (source, target) keys, one per counted message,
// into the edges of weight >= minWeight: it fills out (when not nil, which
// must have room) and returns their number.
func cntEdges(pairs []uint64, names []string, edgeType string, minWeight int, out []CNTEdge) int {
	n := 0
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j] == pairs[i] {
			j++
		}
		if w := int64(j - i); w >= int64(minWeight) {
			if out != nil {
				out[n] = CNTEdge{names[pairs[i]>>32], names[pairs[i]&math.MaxUint32], w, edgeType}
			}
			n++
		}
		i = j
	}
	return n
}

// writeCNT writes the compat networks as the toolkit's CSV
// (source,target,weight,edge_type) and as GraphML, concurrently.
func writeCNT(edges []CNTEdge, outDir string) error {
	var csvErr, gmlErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		csvErr = writeFile(filepath.Join(outDir, CNTEdgesCSV), func(w *bufio.Writer) {
			w.WriteString("source,target,weight,edge_type\n")
			var b []byte
			for _, e := range edges {
				b = appendCSVField(b[:0], e.Source)
				b = append(b, ',')
				b = appendCSVField(b, e.Target)
				b = append(b, ',')
				b = strconv.AppendInt(b, e.Weight, 10)
				b = append(b, ',')
				b = append(b, e.EdgeType...)
				b = append(b, '\n')
				w.Write(b)
			}
		})
	})
	wg.Go(func() {
		gmlErr = writeCNTGraphML(edges, filepath.Join(outDir, CNTEdgesGraphML))
	})
	wg.Wait()
	if csvErr != nil {
		return csvErr
	}
	return gmlErr
}

// writeCNTGraphML writes one directed graph holding the edges of all three
// networks (a pair tied in several networks has one edge per network and
// direction); its nodes are the accounts of the edges, sorted.
func writeCNTGraphML(edges []CNTEdge, path string) error {
	seen := map[string]bool{}
	var nodes []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			nodes = append(nodes, s)
		}
	}
	for i, e := range edges {
		if i == 0 || e.Source != edges[i-1].Source {
			add(e.Source)
		}
		add(e.Target)
	}
	slices.Sort(nodes)
	return writeFile(path, func(w *bufio.Writer) {
		w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		w.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns">` + "\n")
		w.WriteString(`  <key id="weight" for="edge" attr.name="weight" attr.type="long"/>` + "\n")
		w.WriteString(`  <key id="edge_type" for="edge" attr.name="edge_type" attr.type="string"/>` + "\n")
		w.WriteString(`  <graph id="cnt" edgedefault="directed">` + "\n")
		var b []byte
		for _, n := range nodes {
			b = append(b[:0], `    <node id="`...)
			b = appendXMLAttr(b, n)
			b = append(b, "\"/>\n"...)
			w.Write(b)
		}
		for _, e := range edges {
			b = append(b[:0], `    <edge source="`...)
			b = appendXMLAttr(b, e.Source)
			b = append(b, `" target="`...)
			b = appendXMLAttr(b, e.Target)
			b = append(b, `"><data key="weight">`...)
			b = strconv.AppendInt(b, e.Weight, 10)
			b = append(b, `</data><data key="edge_type">`...)
			b = append(b, e.EdgeType...)
			b = append(b, "</data></edge>\n"...)
			w.Write(b)
		}
		w.WriteString("  </graph>\n</graphml>\n")
	})
}

func writeFile(path string, fill func(w *bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// appendCSVField appends s, quoted when it needs it, as encoding/csv does.
func appendCSVField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") && !strings.HasPrefix(s, " ") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// appendXMLAttr appends s escaped for a double-quoted XML attribute, as
// xml.EscapeText does, plus the double quote.
func appendXMLAttr(b []byte, s string) []byte {
	plain := true
	for _, r := range s {
		if r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\'' || r == '"' || r >= 0xFFFD {
			plain = false
			break
		}
	}
	if plain {
		return append(b, s...)
	}
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(s))
	return append(b, strings.ReplaceAll(sb.String(), `"`, "&#34;")...)
}
