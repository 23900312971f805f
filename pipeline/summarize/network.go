package summarize

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/schema"
)

// Limits of the network picture in report.html.
const (
	// netClusters is how many of the largest clusters are drawn.
	netClusters = 6
	// netMaxNodes is the most accounts drawn per cluster: those with the
	// highest degree in the clusters table, ties by account id.
	netMaxNodes = 150
	// netIterations is the number of layout steps.
	netIterations = 300
)

// Signal bits of a network edge.
const (
	sigText uint8 = 1 << iota
	sigRepost
	sigURL
	sigOther
)

func signalBit(sig string) uint8 {
	switch sig {
	case schema.SignalCoText:
		return sigText
	case schema.SignalCoRepost:
		return sigRepost
	case schema.SignalCoURL:
		return sigURL
	}
	return sigOther
}

// member is one account of a cluster as the clusters table lists it.
type member struct {
	id     string
	role   string
	degree int64
}

// netNode is one drawn account.
type netNode struct {
	id   string
	role string
	x, y float64 // in [0, 1] after layout
}

// netEdge joins two drawn accounts; signals is a set of signal bits.
type netEdge struct {
	a, b    int32
	signals uint8
}

// network is the picture of one cluster.
type network struct {
	clusterID string
	size      int64 // accounts in the cluster (may exceed len(nodes))
	nodes     []netNode
	index     map[string]int32
	pairs     map[[2]int32]uint8
	edges     []netEdge // sorted by (a, b) after finish
}

// pickNetworks chooses the clusters to draw (largest first, ties by id) and
// their nodes, before the edges are read.
func (s *state) pickNetworks() {
	cl := slices.Clone(s.clusters)
	slices.SortStableFunc(cl, func(a, b *clusterAgg) int { return cmp.Compare(b.size, a.size) })
	s.netOf = map[string][]netRef{}
	for _, c := range cl[:min(len(cl), netClusters)] {
		ms := slices.Clone(c.members)
		slices.SortFunc(ms, func(a, b member) int {
			if c := cmp.Compare(b.degree, a.degree); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
		ms = ms[:min(len(ms), netMaxNodes)]
		slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.id, b.id) })
		n := &network{clusterID: c.id, size: c.size, index: map[string]int32{}, pairs: map[[2]int32]uint8{}}
		for i, m := range ms {
			n.nodes = append(n.nodes, netNode{id: m.id, role: m.role})
			n.index[m.id] = int32(i)
			s.netOf[m.id] = append(s.netOf[m.id], netRef{n, int32(i)})
		}
		s.networks = append(s.networks, n)
	}
}

// netRef is one drawn node of an account.
type netRef struct {
	n *network
	i int32
}

// addNetEdge records an edge between two accounts in every picture that
// draws both.
func (s *state) addNetEdge(a, b, signal string) {
	ra := s.netOf[a]
	if len(ra) == 0 {
		return
	}
	for _, x := range ra {
		j, ok := x.n.index[b]
		if !ok {
			continue
		}
		i := x.i
		if j < i {
			i, j = j, i
		}
		if i == j {
			continue
		}
		x.n.pairs[[2]int32{i, j}] |= signalBit(signal)
	}
}

// finish sorts the edges and lays the picture out.
func (n *network) finish() {
	for k, sig := range n.pairs {
		n.edges = append(n.edges, netEdge{k[0], k[1], sig})
	}
	n.pairs = nil
	slices.SortFunc(n.edges, func(x, y netEdge) int {
		if c := cmp.Compare(x.a, y.a); c != 0 {
			return c
		}
		return cmp.Compare(x.b, y.b)
	})
	n.layout()
}

// seedPos derives a starting position in [0, 1) from an account id.
func seedPos(id string) (float64, float64) {
	h := fnv.New64a()
	h.Write([]byte(id))
	v := h.Sum64()
	return float64(v>>40) / (1 << 24), float64((v>>16)&0xffffff) / (1 << 24)
}

// layout places the nodes with the Fruchterman-Reingold force model, from
// starting positions hashed from the account ids, for a fixed number of
// steps, in one goroutine. Every product is rounded by an explicit float64
// conversion so no platform fuses it into a multiply-add, and only +, -, *,
// / and Sqrt (all correctly rounded in IEEE 754) are used: the positions are
// the same on every machine. The result is scaled into [0, 1].
func (n *network) layout() {
	N := len(n.nodes)
	if N == 0 {
		return
	}
	if N == 1 {
		n.nodes[0].x, n.nodes[0].y = 0.5, 0.5
		return
	}
	x := make([]float64, N)
	y := make([]float64, N)
	for i, nd := range n.nodes {
		x[i], y[i] = seedPos(nd.id)
	}
	k := math.Sqrt(1 / float64(N)) // ideal edge length in the unit square
	k2 := float64(k * k)
	dx := make([]float64, N)
	dy := make([]float64, N)
	temp := 0.1
	cool := temp / float64(netIterations+1)
	for range netIterations {
		clear(dx)
		clear(dy)
		for i := range N {
			for j := i + 1; j < N; j++ {
				ex, ey := x[i]-x[j], y[i]-y[j]
				d2 := float64(ex*ex) + float64(ey*ey)
				if d2 < 1e-9 {
					ex, ey, d2 = 1e-3, 0, 1e-6
				}
				f := k2 / d2 // repulsion k²/d, along the unit vector e/d
				fx, fy := float64(ex*f), float64(ey*f)
				dx[i] += fx
				dy[i] += fy
				dx[j] -= fx
				dy[j] -= fy
			}
		}
		for _, e := range n.edges {
			ex, ey := x[e.a]-x[e.b], y[e.a]-y[e.b]
			d := math.Sqrt(float64(ex*ex) + float64(ey*ey))
			f := d / k // attraction d²/k, along the unit vector e/d
			fx, fy := float64(ex*f), float64(ey*f)
			dx[e.a] -= fx
			dy[e.a] -= fy
			dx[e.b] += fx
			dy[e.b] += fy
		}
		for i := range N {
			// Gravity towards the centre keeps unconnected nodes in view.
			dx[i] -= float64((x[i] - 0.5) * 0.5)
			dy[i] -= float64((y[i] - 0.5) * 0.5)
			d := math.Sqrt(float64(dx[i]*dx[i]) + float64(dy[i]*dy[i]))
			if d > 0 {
				step := min(d, temp) / d
				x[i] += float64(dx[i] * step)
				y[i] += float64(dy[i] * step)
			}
		}
		temp -= cool
	}
	minX, maxX := slices.Min(x), slices.Max(x)
	minY, maxY := slices.Min(y), slices.Max(y)
	span := max(maxX-minX, maxY-minY, 1e-9)
	for i := range n.nodes {
		n.nodes[i].x = float64((x[i]-minX)/span) + float64((span-(maxX-minX))/span/2)
		n.nodes[i].y = float64((y[i]-minY)/span) + float64((span-(maxY-minY))/span/2)
	}
}
