package cluster

import (
	"bufio"
	"cmp"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// cntRow is the part of schema.Fingerprint the compat networks read.
type cntRow struct {
	PostID     string   `parquet:"post_id"`
	AccountID  string   `parquet:"account_id"`
	PostedAt   int64    `parquet:"posted_at,timestamp(millisecond:utc)"`
	URLKeys    []string `parquet:"url_keys,list"`
	RepostKey  string   `parquet:"repost_key"`
	CNTTextKey *uint64  `parquet:"cnt_text_key,optional"`
}

// cntOcc is one message carrying one item of a compat network.
type cntOcc struct {
	item uint64
	t    int64
	acc  uint32
}

// CNTEdge is one row of cnt_edges.csv: a directed edge of one of the
// toolkit's networks.
type CNTEdge struct {
	Source, Target string
	Weight         int64
	EdgeType       string
}

// cntNetworks computes the toolkit's co_tweet, co_retweet and co_link
// networks with its semantics (see docs/stages/cluster.md, "--compat cnt"):
// the weight of accounts u != v is the number of message pairs (one message
// of u, one of v) with the same item posted at most window ms apart,
// inclusive; both directions are listed with the same weight; edges below
// minWeight are dropped. Rows are sorted by (edge_type, source, target).
func cntNetworks(ctx context.Context, path string, window int64, minWeight int) ([]CNTEdge, error) {
	accIdx := map[string]uint32{}
	var accs []string
	urlIdx := map[string]uint64{}
	repIdx := map[string]uint64{}
	var link, retweet, tweet []cntOcc
	err := pqio.Each(path, func(batch []cntRow) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range batch {
			f := &batch[i]
			if f.AccountID == "" || f.PostID == "" {
				continue
			}
			a, ok := accIdx[f.AccountID]
			if !ok {
				a = uint32(len(accs))
				id := strings.Clone(f.AccountID)
				accIdx[id] = a
				accs = append(accs, id)
			}
			intern := func(m map[string]uint64, s string) uint64 {
				v, ok := m[s]
				if !ok {
					v = uint64(len(m))
					m[strings.Clone(s)] = v
				}
				return v
			}
			if f.RepostKey != "" {
				retweet = append(retweet, cntOcc{intern(repIdx, f.RepostKey), f.PostedAt, a})
				continue // the toolkit ignores the text and URLs of reposts
			}
			if f.CNTTextKey != nil {
				tweet = append(tweet, cntOcc{*f.CNTTextKey, f.PostedAt, a})
			}
			urls := slices.Clone(f.URLKeys)
			slices.Sort(urls)
			urls = slices.Compact(urls)
			if len(urls) == 0 {
				// The toolkit's CSV reader splits an empty urls field
				// into one empty URL, which then co-links every such
				// message.
				urls = []string{""}
			}
			for _, u := range urls {
				link = append(link, cntOcc{intern(urlIdx, u), f.PostedAt, a})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []CNTEdge
	for _, nw := range []struct {
		name string
		occ  []cntOcc
	}{{"co_link", link}, {"co_retweet", retweet}, {"co_tweet", tweet}} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		occ := nw.occ
		slices.SortFunc(occ, func(x, y cntOcc) int {
			if c := cmp.Compare(x.item, y.item); c != 0 {
				return c
			}
			return cmp.Compare(x.t, y.t)
		})
		var pairs []uint64
		for i := range occ {
			for j := i + 1; j < len(occ) && occ[j].item == occ[i].item && occ[j].t-occ[i].t <= window; j++ {
				a, b := occ[i].acc, occ[j].acc
				if a == b {
					continue
				}
				pairs = append(pairs, makePair(min(a, b), max(a, b)))
			}
		}
		slices.Sort(pairs)
		var es []CNTEdge
		for i := 0; i < len(pairs); {
			j := i + 1
			for j < len(pairs) && pairs[j] == pairs[i] {
				j++
			}
			if w := int64(j - i); w >= int64(minWeight) {
				a, b := unpair(pairs[i])
				es = append(es, CNTEdge{accs[a], accs[b], w, nw.name}, CNTEdge{accs[b], accs[a], w, nw.name})
			}
			i = j
		}
		slices.SortFunc(es, func(x, y CNTEdge) int {
			if c := strings.Compare(x.Source, y.Source); c != 0 {
				return c
			}
			return strings.Compare(x.Target, y.Target)
		})
		out = append(out, es...)
	}
	return out, nil
}

// writeCNT writes the compat networks as the toolkit's CSV
// (source,target,weight,edge_type) and as GraphML.
func writeCNT(edges []CNTEdge, outDir string) error {
	if err := writeFile(filepath.Join(outDir, CNTEdgesCSV), func(w *bufio.Writer) {
		w.WriteString("source,target,weight,edge_type\n")
		for _, e := range edges {
			fmt.Fprintf(w, "%s,%s,%d,%s\n", csvField(e.Source), csvField(e.Target), e.Weight, e.EdgeType)
		}
	}); err != nil {
		return err
	}
	nodes := make([]string, 0, 2*len(edges))
	for _, e := range edges {
		nodes = append(nodes, e.Source)
	}
	slices.Sort(nodes)
	nodes = slices.Compact(nodes)
	return writeFile(filepath.Join(outDir, CNTEdgesGraphML), func(w *bufio.Writer) {
		w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		w.WriteString(`<graphml xmlns="http://graphml.graphdrawing.org/xmlns">` + "\n")
		w.WriteString(`  <key id="weight" for="edge" attr.name="weight" attr.type="long"/>` + "\n")
		w.WriteString(`  <key id="edge_type" for="edge" attr.name="edge_type" attr.type="string"/>` + "\n")
		w.WriteString(`  <graph id="cnt" edgedefault="directed">` + "\n")
		for _, n := range nodes {
			fmt.Fprintf(w, "    <node id=\"%s\"/>\n", xmlEscape(n))
		}
		for _, e := range edges {
			fmt.Fprintf(w, "    <edge source=\"%s\" target=\"%s\"><data key=\"weight\">%d</data><data key=\"edge_type\">%s</data></edge>\n",
				xmlEscape(e.Source), xmlEscape(e.Target), e.Weight, e.EdgeType)
		}
		w.WriteString("  </graph>\n</graphml>\n")
	})
}

func writeFile(path string, fill func(w *bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// csvField quotes a field that needs it, as encoding/csv does.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") || strings.HasPrefix(s, " ") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}
