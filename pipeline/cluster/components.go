package cluster

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/pipeline/schema"
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

// components returns the cluster rows: the connected components, with two
// or more accounts, of the graph of account pairs whose combined score (the
// sum of their kept edges' weights over all signals) is at least minScore,
// sorted by (cluster_id, account_id). edges are sorted by pair. first and
// inRows count, per account, the evidence rows it is in and those in which
// its post came first.
func components(d *data, edges []*edge, first, inRows []int32, minScore float64, st *Stats) ([]schema.ClusterMember, error) {
	n := len(d.accounts)
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
	for i := 0; i < len(edges); {
		j, score := i, 0.0
		for ; j < len(edges) && edges[j].pair == edges[i].pair; j++ {
			score += edges[j].score
		}
		pair := edges[i].pair
		i = j
		if score < minScore {
			continue
		}
		st.ClusterPairs++
		a, b := unpair(pair)
		strength[a] += score
		strength[b] += score
		degree[a]++
		degree[b]++
		ra, rb := find(int32(a)), find(int32(b))
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

	type cluster struct {
		id      string
		members []int32
	}
	clusters := make([]cluster, 0, len(roots))
	var ids []string
	for _, r := range roots {
		ms := groups[r]
		ids = ids[:0]
		for _, m := range ms {
			ids = append(ids, d.accounts[m])
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
				ClusterID: c.id, AccountID: d.accounts[m], Role: role,
				Degree: degree[m], Strength: strength[m],
			})
		}
	}
	return rows, nil
}
