package cluster

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/community"

	"github.com/takedown-research/takedown/internal/schema"
)

// ClusterID returns the id of the cluster whose members are the given
// account ids: "c" followed by the first 12 hex digits of the SHA-256 of the
// sorted ids joined by newlines. It depends on the members only.
func ClusterID(members []string) string {
	sorted := slices.Clone(members)
	slices.Sort(sorted)
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return "c" + hex.EncodeToString(sum[:])[:12]
}

// link is a pair of the cluster graph: two account numbers and their
// combined score.
type link struct {
	a, b  uint32
	score float64
}

// pairScores combines the kept edges of every pair (edges sorted by pair,
// then signal): one link per pair, its combined score the sum of its edges'
// weights in signal order.
func pairScores(edges []*edge) []link {
	var all []link
	for i := 0; i < len(edges); {
		j, score := i, 0.0
		for ; j < len(edges) && edges[j].pair == edges[i].pair; j++ {
			score += edges[j].score
		}
		a, b := unpair(edges[i].pair)
		all = append(all, link{a, b, score})
		i = j
	}
	return all
}

// graphLinks returns the pairs of all (every scored pair, in pair order)
// that pass the cluster-graph filters, in pair order: a combined score of
// at least p.MinScore, an affinity (the score over the geometric mean of
// the two accounts' posts) of at least p.MinAffinity, and a combined score
// at or above the p.ScorePercentile quantile of all pairs' combined scores.
// It reuses all's memory.
func graphLinks(d *data, all []link, p Params, st *Stats) []link {
	st.ScoredPairs = int64(len(all))
	cut := p.MinScore
	if p.ScorePercentile > 0 && len(all) > 0 {
		scores := make([]float64, len(all))
		for i, l := range all {
			scores[i] = l.score
		}
		slices.Sort(scores)
		// The nearest-rank quantile: the smallest score with at least
		// the given share of scores at or below it.
		k := int(math.Ceil(p.ScorePercentile*float64(len(scores)))) - 1
		q := scores[min(max(k, 0), len(scores)-1)]
		st.PercentileScore = q
		cut = max(cut, q)
	}
	kept := all[:0]
	for _, l := range all {
		if l.score < cut {
			continue
		}
		if affinity(l.score, d.postCount[l.a], d.postCount[l.b]) < p.MinAffinity {
			st.LowAffinityPairs++
			continue
		}
		kept = append(kept, l)
	}
	return kept
}

// affinity returns a pair's combined score divided by the geometric mean of
// the two accounts' post counts: the cosine-style normalisation that tells a
// squad (few posts, most of them co-shared) from two hyperactive accounts
// that co-share many popular items by chance among thousands of posts.
func affinity(score float64, postsA, postsB int32) float64 {
	return score / math.Sqrt(float64(postsA)*float64(postsB))
}

// components returns the cluster rows: the groups, with two or more
// accounts, of the cluster graph (the pairs graphLinks keeps): its connected
// components, or with p.Communities "louvain" the Louvain communities of
// each component, sorted by (cluster_id, account_id). scored are the scored
// pairs in pair order (pairScores). first and inRows count, per account, the evidence rows it is in and
// those in which its post came first.
func components(d *data, scored []link, first, inRows []int32, p Params, st *Stats) ([]schema.ClusterMember, error) {
	links := graphLinks(d, scored, p, st)
	n := d.accounts.len()
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	strength := make([]float64, n)
	degree := make([]int64, n)
	for _, l := range links {
		st.ClusterPairs++
		strength[l.a] += l.score
		strength[l.b] += l.score
		degree[l.a]++
		degree[l.b]++
		ra, rb := find(int32(l.a)), find(int32(l.b))
		if ra != rb {
			// The smaller number becomes the root, so roots do not
			// depend on edge order.
			if ra < rb {
				parent[rb] = ra
			} else {
				parent[ra] = rb
			}
		}
	}

	groups := map[int32][]int32{}
	var roots []int32
	for i := range n {
		if degree[i] == 0 {
			continue
		}
		r := find(int32(i))
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], int32(i))
	}
	var sets [][]int32 // member account numbers, ascending
	for _, r := range roots {
		sets = append(sets, groups[r])
	}
	if p.Communities == CommunitiesLouvain {
		sets = louvain(sets, links, p.Resolution, st)
		// Strength and degree count the pairs inside the member's
		// community only.
		comm := make([]int32, n)
		for ci, ms := range sets {
			for _, m := range ms {
				comm[m] = int32(ci) + 1
			}
		}
		clear(strength)
		clear(degree)
		for _, l := range links {
			if comm[l.a] != 0 && comm[l.a] == comm[l.b] {
				strength[l.a] += l.score
				strength[l.b] += l.score
				degree[l.a]++
				degree[l.b]++
			}
		}
	}

	type cluster struct {
		id      string
		members []int32
	}
	clusters := make([]cluster, 0, len(sets))
	var ids []string
	for _, ms := range sets {
		if len(ms) < 2 {
			continue
		}
		ids = ids[:0]
		for _, m := range ms {
			ids = append(ids, d.accounts.at(int(m)))
		}
		clusters = append(clusters, cluster{id: ClusterID(ids), members: ms})
	}
	slices.SortFunc(clusters, func(x, y cluster) int { return cmp.Compare(x.id, y.id) })
	var rows []schema.ClusterMember
	for i, c := range clusters {
		if i > 0 && clusters[i-1].id == c.id {
			return nil, fmt.Errorf("cluster id collision: %s names two clusters", c.id)
		}
		st.Clusters++
		st.ClusteredAccounts += int64(len(c.members))
		st.LargestCluster = max(st.LargestCluster, int64(len(c.members)))
		for _, m := range c.members {
			role := RoleAmplifier
			if 2*first[m] > inRows[m] {
				role = RoleOriginator
				st.Originators++
			} else {
				st.Amplifiers++
			}
			rows = append(rows, schema.ClusterMember{
				ClusterID: c.id, AccountID: d.accounts.at(int(m)), Role: role,
				Degree: degree[m], Strength: strength[m],
			})
		}
	}
	return rows, nil
}

// louvainSeed seeds the Louvain node order; a constant, so that runs are
// reproducible.
const louvainSeed = 1

// louvain splits every connected component into its Louvain communities
// (gonum's graph/community.Modularize at the given resolution, seeded with
// louvainSeed). Each component is modularized on its own, over a graph
// whose nodes are numbered 0..k-1 in account order and whose neighbours are
// listed in ascending order, so the result depends on the links only, not
// on map order or GOMAXPROCS. Every community is returned with its members
// ascending, the communities in order of their smallest member.
func louvain(sets [][]int32, links []link, resolution float64, st *Stats) [][]int32 {
	local := map[int32]int32{} // account number -> index within its component
	compOf := map[int32]int{}
	for ci, ms := range sets {
		for i, m := range ms {
			local[m] = int32(i)
			compOf[m] = ci
		}
	}
	graphs := make([]*sortedGraph, len(sets))
	for ci, ms := range sets {
		graphs[ci] = newSortedGraph(len(ms))
	}
	for _, l := range links {
		ci := compOf[int32(l.a)]
		graphs[ci].add(local[int32(l.a)], local[int32(l.b)], l.score)
	}
	var out [][]int32
	for ci, ms := range sets {
		g := graphs[ci]
		if len(ms) <= 2 {
			out = append(out, ms)
			continue
		}
		g.finish()
		red := community.Modularize(g, resolution, rand.NewPCG(louvainSeed, louvainSeed))
		for _, c := range red.Communities() {
			part := make([]int32, 0, len(c))
			for _, nd := range c {
				part = append(part, ms[nd.ID()])
			}
			slices.Sort(part)
			out = append(out, part)
		}
	}
	slices.SortFunc(out, func(x, y []int32) int { return cmp.Compare(x[0], y[0]) })
	st.LouvainSplits = int64(len(out) - len(sets))
	return out
}

// sortedGraph is a weighted undirected graph on nodes 0..n-1 whose
// iterators list nodes and neighbours in ascending order, so that gonum's
// Louvain, which is seeded, visits them in a reproducible order.
type sortedGraph struct {
	adj [][]int32
	w   [][]float64
}

func newSortedGraph(n int) *sortedGraph {
	return &sortedGraph{adj: make([][]int32, n), w: make([][]float64, n)}
}

func (g *sortedGraph) add(a, b int32, w float64) {
	g.adj[a] = append(g.adj[a], b)
	g.w[a] = append(g.w[a], w)
	g.adj[b] = append(g.adj[b], a)
	g.w[b] = append(g.w[b], w)
}

// finish sorts every adjacency list by neighbour.
func (g *sortedGraph) finish() {
	for i := range g.adj {
		idx := make([]int, len(g.adj[i]))
		for k := range idx {
			idx[k] = k
		}
		slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(g.adj[i][x], g.adj[i][y]) })
		adj, w := make([]int32, len(idx)), make([]float64, len(idx))
		for k, j := range idx {
			adj[k], w[k] = g.adj[i][j], g.w[i][j]
		}
		g.adj[i], g.w[i] = adj, w
	}
}

func (g *sortedGraph) find(a, b int64) int {
	if a < 0 || b < 0 || a >= int64(len(g.adj)) || b >= int64(len(g.adj)) {
		return -1
	}
	k, ok := slices.BinarySearch(g.adj[a], int32(b))
	if !ok {
		return -1
	}
	return k
}

type gnode int64

func (n gnode) ID() int64 { return int64(n) }

type gedge struct {
	f, t gnode
	w    float64
}

func (e gedge) From() graph.Node         { return e.f }
func (e gedge) To() graph.Node           { return e.t }
func (e gedge) ReversedEdge() graph.Edge { return gedge{e.t, e.f, e.w} }
func (e gedge) Weight() float64          { return e.w }

// nodeIter iterates over a list of node ids.
type nodeIter struct {
	ids []int64
	i   int
}

func (it *nodeIter) Next() bool {
	if it.i >= len(it.ids) {
		return false
	}
	it.i++
	return true
}
func (it *nodeIter) Len() int         { return len(it.ids) - it.i }
func (it *nodeIter) Reset()           { it.i = 0 }
func (it *nodeIter) Node() graph.Node { return gnode(it.ids[it.i-1]) }

func (g *sortedGraph) Node(id int64) graph.Node {
	if id < 0 || id >= int64(len(g.adj)) {
		return nil
	}
	return gnode(id)
}

func (g *sortedGraph) Nodes() graph.Nodes {
	ids := make([]int64, len(g.adj))
	for i := range ids {
		ids[i] = int64(i)
	}
	return &nodeIter{ids: ids}
}

func (g *sortedGraph) From(id int64) graph.Nodes {
	if id < 0 || id >= int64(len(g.adj)) {
		return graph.Empty
	}
	ids := make([]int64, len(g.adj[id]))
	for i, v := range g.adj[id] {
		ids[i] = int64(v)
	}
	return &nodeIter{ids: ids}
}

func (g *sortedGraph) HasEdgeBetween(x, y int64) bool { return g.find(x, y) >= 0 }

func (g *sortedGraph) Edge(u, v int64) graph.Edge { return g.WeightedEdge(u, v) }

func (g *sortedGraph) EdgeBetween(x, y int64) graph.Edge { return g.WeightedEdge(x, y) }

func (g *sortedGraph) WeightedEdge(u, v int64) graph.WeightedEdge {
	k := g.find(u, v)
	if k < 0 {
		return nil
	}
	return gedge{gnode(u), gnode(v), g.w[u][k]}
}

func (g *sortedGraph) WeightedEdgeBetween(x, y int64) graph.WeightedEdge {
	return g.WeightedEdge(x, y)
}

// Weight returns the weight of the edge x-y: 0 for a node with itself (no
// self loops), false when there is no edge.
func (g *sortedGraph) Weight(x, y int64) (float64, bool) {
	if x == y {
		return 0, true
	}
	k := g.find(x, y)
	if k < 0 {
		return 0, false
	}
	return g.w[x][k], true
}
