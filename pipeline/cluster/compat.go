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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/takedown-research/takedown/internal/csvfield"
	"github.com/takedown-research/takedown/internal/pqio"
)

// CompatToolkit is the Params.Compat value that also writes the
// coordination-network-toolkit's co_tweet, co_retweet and co_link networks.
// It is the toolkit's usual short name ("cnt" here and in the docs never
// means a count).
const CompatToolkit = "cnt"

// CompatToolkitLong is the toolkit's full name, which --compat accepts as
// CompatToolkit (ParseCompat).
const CompatToolkitLong = "coordination-network-toolkit"

// ParseCompat returns the Params.Compat value of a --compat flag value: the
// toolkit's full name becomes CompatToolkit (so that both spellings make the
// same run id); anything else is returned as it is, for Validate to check.
func ParseCompat(s string) string {
	if s == CompatToolkitLong {
		return CompatToolkit
	}
	return s
}

// Files written in --compat cnt mode, next to the three tables.
const (
	ToolkitEdgesCSV     = "cnt_edges.csv"
	ToolkitEdgesGraphML = "cnt_edges.graphml"
)

// Columns of the fingerprints table that only the compat networks read.
const (
	colRepostKey      = "repost_key"
	colToolkitTextKey = "cnt_text_key"
	colToolkitURLKeys = "cnt_url_keys"
)

// toolkitEdge is one row of cnt_edges.csv: a directed edge of one of the
// toolkit's networks, between accounts given by their rank (toolkitResult.names).
type toolkitEdge struct {
	src, tgt uint32
	weight   uint32
}

// toolkitResult holds the compat networks: the edges of each network, sorted by
// (source, target), in the order of toolkitNetworkNames.
type toolkitResult struct {
	names []string // account ids, sorted: an account's rank indexes it
	edges [3][]toolkitEdge
}

// toolkitNetworkNames are the toolkit's network names (its edge_type), in the
// order cnt_edges.csv lists them.
var toolkitNetworkNames = [3]string{"co_link", "co_retweet", "co_tweet"}

// counts returns the number of edges per network.
func (c *toolkitResult) counts() map[string]int64 {
	m := map[string]int64{}
	for i, es := range c.edges {
		m[toolkitNetworkNames[i]] = int64(len(es))
	}
	return m
}

// toolkitOcc is one message carrying one item of a compat network: msg is the
// message's number (its post id's, see toolkitNetworks), acc its account's rank.
type toolkitOcc struct {
	item uint64
	t    int64
	acc  uint32
	msg  uint32
}

// toolkitTable is what the compat networks read of the fingerprints table, by
// row.
type toolkitTable struct {
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

// readToolkitTable reads the columns the compat networks need, each on its own
// and concurrently (as load does).
func readToolkitTable(ctx context.Context, path string) (*toolkitTable, error) {
	n, checkRow, err := tableRows(ctx, path)
	if err != nil {
		return nil, err
	}
	total := int64(n)
	t := &toolkitTable{rows: n, acc: make([]int32, n), msg: make([]uint32, n), hasMsg: make([]bool, n),
		times: make([]int64, n), repost: make([]uint32, n), hasText: make([]bool, n), text: make([]uint64, n),
		urlEnd: make([]uint32, n)}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	wg.Go(func() {
		accs := newInternTable()
		for i := range t.acc {
			t.acc[i] = -1
		}
		errs[0] = pqio.EachBytes(path, colAccountID, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) > 0 {
				t.acc[row] = int32(accs.id(b))
			}
			return nil
		})
		t.accNames = accs.strings()
	})
	wg.Go(func() {
		msgs := newInternTable()
		errs[1] = pqio.EachBytes(path, colPostID, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) > 0 {
				t.msg[row], t.hasMsg[row] = msgs.id(b), true
			}
			return nil
		})
		t.msgs = msgs.len()
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
		reposts := newInternTable()
		errs[3] = pqio.EachBytes(path, colRepostKey, func(row int64, b []byte) error {
			if err := checkRow(row); err != nil {
				return err
			}
			if len(b) > 0 {
				t.repost[row] = reposts.id(b) + 1 // 0: not a repost
			}
			return nil
		})
	})
	wg.Go(func() {
		errs[4] = pqio.EachInt64(path, colToolkitTextKey, func(row, v int64) error {
			if err := checkRow(row); err != nil {
				return err
			}
			t.hasText[row], t.text[row] = true, uint64(v)
			return nil
		})
	})
	wg.Go(func() {
		last := int64(-1)
		errs[5] = pqio.EachInt64(path, colToolkitURLKeys, func(row, v int64) error {
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
		if col := []string{colToolkitTextKey, colToolkitURLKeys}[max(i-4, 0)]; i >= 4 && strings.Contains(err.Error(), fmt.Sprintf("no column %q", col)) {
			return nil, fmt.Errorf("%w (the fingerprints table predates the coordination-network-toolkit columns (cnt_text_key, cnt_url_keys): run `takedown fingerprint` again)", err)
		}
		return nil, err
	}
	return t, ctx.Err()
}

// rowURLs returns the cnt_url_keys of row r.
func (t *toolkitTable) rowURLs(r int) []uint64 {
	start := uint32(0)
	if r > 0 {
		start = t.urlEnd[r-1]
	}
	return t.urls[start:t.urlEnd[r]]
}

// toolkitNetworks computes the toolkit's co_tweet, co_retweet and co_link
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
func toolkitNetworks(ctx context.Context, path string, window int64, minWeight int) (*toolkitResult, error) {
	t, err := readToolkitTable(ctx, path)
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
	var link, retweet, tweet []toolkitOcc
	firstAcc := make([]uint32, t.msgs) // the account of post id m's first row
	seenURL := map[[2]uint64]bool{}    // (post id, URL) of duplicated post ids
	dupMsg := map[[2]uint32]uint32{}   // (post id, account) of a duplicate row -> message number
	for r := range t.rows {
		if !use(r) {
			continue
		}
		m, a, ts := t.msg[r], rank[t.acc[r]], t.times[r]
		first := firstRow[m] == int32(r)
		if first {
			firstAcc[m] = a
			switch {
			case t.repost[r] != 0:
				retweet = append(retweet, toolkitOcc{uint64(t.repost[r]), ts, a, m})
			case t.hasText[r]:
				tweet = append(tweet, toolkitOcc{t.text[r], ts, a, m})
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
		if !first && firstAcc[m] != a {
			k := [2]uint32{m, a}
			v, ok := dupMsg[k]
			if !ok {
				v = uint32(t.msgs + len(dupMsg))
				dupMsg[k] = v
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
			link = append(link, toolkitOcc{u, ts, a, id})
		}
	}

	res := &toolkitResult{names: names}
	nets := [3]struct {
		occ   []toolkitOcc
		multi bool // a message can have several occurrences
	}{{link, true}, {retweet, false}, {tweet, false}}
	var wg sync.WaitGroup
	errs := make([]error, len(nets))
	for i, nw := range nets {
		wg.Go(func() {
			res.edges[i], errs[i] = toolkitWeigh(ctx, nw.occ, nw.multi, len(names), window, minWeight)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// toolkitWeigh returns the edges of one network, sorted by (source, target):
// for each account u (by rank) and each other account v, the number of
// messages of u with an occurrence that an occurrence of v matches (the
// same item, at most window apart), kept when at least minWeight. With
// multi, a message's occurrences (one per URL) are taken together, so that
// it counts once per v. Like the toolkit's join this costs the number of
// occurrence pairs within the window (there is no viral bound here); the
// accounts are split among GOMAXPROCS workers.
func toolkitWeigh(ctx context.Context, occ []toolkitOcc, multi bool, accounts int, window int64, minWeight int) ([]toolkitEdge, error) {
	slices.SortFunc(occ, func(x, y toolkitOcc) int {
		if c := cmp.Compare(x.item, y.item); c != 0 {
			return c
		}
		return cmp.Compare(x.t, y.t)
	})
	// The occurrences of each account: pos[start[a]:start[a+1]], by
	// message when a message can have several.
	start := make([]uint32, accounts+1)
	for i := range occ {
		start[occ[i].acc+1]++
	}
	for a := range accounts {
		start[a+1] += start[a]
	}
	pos := make([]uint32, len(occ))
	fill := slices.Clone(start[:accounts])
	for i := range occ {
		a := occ[i].acc
		pos[fill[a]] = uint32(i)
		fill[a]++
	}
	fill = nil
	if multi {
		for a := range accounts {
			ps := pos[start[a]:start[a+1]]
			if len(ps) > 1 {
				slices.SortFunc(ps, func(x, y uint32) int { return cmp.Compare(occ[x].msg, occ[y].msg) })
			}
		}
	}

	// Accounts are weighed in chunks, taken in turn by the workers; the
	// chunks' edges are concatenated in account order.
	const chunkAccounts = 512
	chunks := make([][]toolkitEdge, (accounts+chunkAccounts-1)/chunkAccounts)
	var next sync.Mutex
	nextChunk := 0
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(chunks))) {
		wg.Go(func() {
			stamp := make([]uint32, accounts) // stamp[v] == cur: v already counted for the current message
			count := make([]uint32, accounts)
			var touched []uint32
			cur := uint32(0)
			for {
				next.Lock()
				c := nextChunk
				nextChunk++
				next.Unlock()
				if c >= len(chunks) || ctx.Err() != nil {
					return
				}
				var es []toolkitEdge
				for u := uint32(c * chunkAccounts); u < uint32(min((c+1)*chunkAccounts, accounts)); u++ {
					ps := pos[start[u]:start[u+1]]
					for k, p := range ps {
						o := &occ[p]
						if k == 0 || !multi || occ[ps[k-1]].msg != o.msg {
							cur++ // a new message of u
						}
						visit := func(j int) {
							v := occ[j].acc
							if v == u || stamp[v] == cur {
								return
							}
							stamp[v] = cur
							if count[v] == 0 {
								touched = append(touched, v)
							}
							count[v]++
						}
						for j := int(p) - 1; j >= 0 && occ[j].item == o.item && occ[j].t >= o.t-window; j-- {
							visit(j)
						}
						for j := int(p) + 1; j < len(occ) && occ[j].item == o.item && occ[j].t <= o.t+window; j++ {
							visit(j)
						}
					}
					slices.Sort(touched)
					for _, v := range touched {
						if int64(count[v]) >= int64(minWeight) {
							es = append(es, toolkitEdge{u, v, count[v]})
						}
						count[v] = 0
					}
					touched = touched[:0]
				}
				chunks[c] = es
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for _, es := range chunks {
		n += len(es)
	}
	out := make([]toolkitEdge, 0, n)
	for _, es := range chunks {
		out = append(out, es...)
	}
	return out, nil
}

// writeToolkit writes the compat networks as the toolkit's CSV
// (source,target,weight,edge_type) and as GraphML, concurrently.
func writeToolkit(c *toolkitResult, outDir string) error {
	var csvErr, gmlErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		csvErr = writeFile(filepath.Join(outDir, ToolkitEdgesCSV), func(w *bufio.Writer) {
			w.WriteString("source,target,weight,edge_type\n")
			var b []byte
			for i, es := range c.edges {
				for _, e := range es {
					b = csvfield.Append(b[:0], c.names[e.src], false)
					b = append(b, ',')
					b = csvfield.Append(b, c.names[e.tgt], false)
					b = append(b, ',')
					b = strconv.AppendUint(b, uint64(e.weight), 10)
					b = append(b, ',')
					b = append(b, toolkitNetworkNames[i]...)
					b = append(b, '\n')
					w.Write(b)
				}
			}
		})
	})
	wg.Go(func() {
		gmlErr = writeToolkitGraphML(c, filepath.Join(outDir, ToolkitEdgesGraphML))
	})
	wg.Wait()
	if csvErr != nil {
		return csvErr
	}
	return gmlErr
}

// writeToolkitGraphML writes one directed graph holding the edges of all three
// networks, in the order of cnt_edges.csv (a pair tied in several networks
// has one edge per network and direction); its nodes are the accounts of the
// edges, sorted.
func writeToolkitGraphML(c *toolkitResult, path string) error {
	inEdge := make([]bool, len(c.names))
	for _, es := range c.edges {
		for _, e := range es {
			inEdge[e.src], inEdge[e.tgt] = true, true
		}
	}
	return writeFile(path, func(w *bufio.Writer) {
		w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		w.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns">` + "\n")
		w.WriteString(`  <key id="weight" for="edge" attr.name="weight" attr.type="long"/>` + "\n")
		w.WriteString(`  <key id="edge_type" for="edge" attr.name="edge_type" attr.type="string"/>` + "\n")
		w.WriteString(`  <graph id="cnt" edgedefault="directed">` + "\n")
		b := writeGraphMLNodes(w, c.names, inEdge)
		for i, es := range c.edges {
			for _, e := range es {
				b = append(b[:0], `    <edge source="`...)
				b = appendXMLAttr(b, c.names[e.src])
				b = append(b, `" target="`...)
				b = appendXMLAttr(b, c.names[e.tgt])
				b = append(b, `"><data key="weight">`...)
				b = strconv.AppendUint(b, uint64(e.weight), 10)
				b = append(b, `</data><data key="edge_type">`...)
				b = append(b, toolkitNetworkNames[i]...)
				b = append(b, "</data></edge>\n"...)
				w.Write(b)
			}
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

// writeGraphMLNodes writes a GraphML node for each name that is in an
// edge, in rank order, and returns the scratch buffer for the edges.
func writeGraphMLNodes(w *bufio.Writer, names []string, inEdge []bool) []byte {
	var b []byte
	for r, n := range names {
		if !inEdge[r] {
			continue
		}
		b = append(b[:0], `    <node id="`...)
		b = appendXMLAttr(b, n)
		b = append(b, "\"/>\n"...)
		w.Write(b)
	}
	return b
}
