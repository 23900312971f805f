// Package evaluate scores a clustering (the cluster stage's clusters table)
// against a ground-truth assignment of accounts to planted groups: pairwise
// and B-cubed precision, recall and F1, and the share of organic accounts
// that were put into any cluster. It is not a stage: it reads tables and
// writes nothing.
package evaluate

import (
	"github.com/takedown-research/takedown/internal/errkind"

	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// Truth formats ReadTruth recognises by their header.
const (
	// FormatSynth is the synth generator's truth file:
	// account_id,group,role,behaviours; an empty group is organic.
	FormatSynth = "synth"
	// FormatCNT is the truth file of takedown_like_csv.py: user_id,group,
	// listing only planted accounts; every other account is organic.
	FormatCNT = "cnt"
)

// ErrTruthFormat means a truth file has a header this package does not know.
var ErrTruthFormat = errkind.New(errkind.BadInput, "unknown truth file layout")

// Truth maps account ids to planted groups.
type Truth struct {
	// Format is FormatSynth or FormatCNT.
	Format string
	// Group maps an account id to its group; "" is organic.
	Group map[string]string
	// Complete is true when the file lists every account (synth), so
	// organic accounts are known without a list of all accounts.
	Complete bool
}

// ReadTruth reads a truth file in either known layout.
func ReadTruth(path string) (*Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read truth file: %w", err)
	}
	defer f.Close()
	t, err := ParseTruth(f)
	if err != nil {
		return nil, fmt.Errorf("read truth file %s: %w", path, err)
	}
	return t, nil
}

// ParseTruth parses a truth file in either known layout.
func ParseTruth(r io.Reader) (*Truth, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	t := &Truth{Group: map[string]string{}}
	idCol, groupCol := -1, -1
	switch {
	case len(header) >= 2 && header[0] == "account_id" && header[1] == "group":
		t.Format, t.Complete = FormatSynth, true
		idCol, groupCol = 0, 1
	case len(header) >= 2 && header[0] == "user_id" && header[1] == "group":
		t.Format = FormatCNT
		idCol, groupCol = 0, 1
	default:
		return nil, fmt.Errorf("header %q: want account_id,group,... (synth) or user_id,group (takedown_like_csv.py): %w",
			strings.Join(header, ","), ErrTruthFormat)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) <= max(idCol, groupCol) {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("line %d: %d fields, want at least %d", line, len(rec), max(idCol, groupCol)+1)
		}
		id := rec[idCol]
		if id == "" {
			continue
		}
		g := strings.TrimSpace(rec[groupCol])
		if t.Format == FormatCNT && g == "" {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("line %d: empty group for %s", line, id)
		}
		t.Group[id] = g
	}
	return t, nil
}

// ReadClusters reads a clusters table into a map from account id to cluster
// id. An account listed in two clusters is an error.
func ReadClusters(path string) (map[string]string, error) {
	rows, err := pqio.ReadAll[schema.ClusterMember](path)
	if err != nil {
		return nil, fmt.Errorf("read clusters %s: %w", path, err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		if prev, ok := m[r.AccountID]; ok && prev != r.ClusterID {
			return nil, fmt.Errorf("read clusters %s: account %s is in clusters %s and %s", path, r.AccountID, prev, r.ClusterID)
		}
		m[r.AccountID] = r.ClusterID
	}
	return m, nil
}

// Scores are the quality figures of one clustering.
type Scores struct {
	Accounts        int     `json:"accounts"`          // accounts scored (the universe)
	PlantedAccounts int     `json:"planted_accounts"`  // accounts in a truth group
	PlantedGroups   int     `json:"planted_groups"`    // truth groups
	OrganicAccounts int     `json:"organic_accounts"`  // accounts in no truth group
	Clusters        int     `json:"clusters"`          // predicted clusters
	Clustered       int     `json:"clustered"`         // accounts in a predicted cluster
	OrganicInClust  int     `json:"organic_clustered"` // organic accounts in a predicted cluster
	OrganicFPShare  float64 `json:"organic_fp_share"`  // OrganicInClust / OrganicAccounts
	GroupsRecovered int     `json:"groups_recovered"`  // groups with a majority in one cluster they dominate
	BCubedP         float64 `json:"bcubed_precision"`
	BCubedR         float64 `json:"bcubed_recall"`
	BCubedF1        float64 `json:"bcubed_f1"`
	PairP           float64 `json:"pairwise_precision"`
	PairR           float64 `json:"pairwise_recall"`
	PairF1          float64 `json:"pairwise_f1"`
	UnknownInClust  int     `json:"unknown_clustered"` // clustered accounts absent from a complete truth file
}

// Score compares predicted clusters (account id -> cluster id) with the
// truth. universe lists every account of the dataset; it may be nil when
// the truth is complete (then the truth's accounts are the universe).
// Clustered accounts outside the universe are added to it as organic.
//
// B-cubed figures average over the accounts that are planted or clustered
// (an organic account left unclustered is trivially right and would only
// dilute them); an unclustered account is its own predicted cluster and an
// organic account its own truth class. Pairwise figures count account pairs
// that share a predicted cluster (precision) or a truth group (recall).
func Score(pred map[string]string, truth *Truth, universe []string) Scores {
	group := map[string]string{}
	for id, g := range truth.Group {
		group[id] = g
	}
	var s Scores
	unknown := 0
	if universe != nil {
		for _, id := range universe {
			if _, ok := group[id]; !ok {
				group[id] = ""
			}
		}
	}
	for id := range pred {
		if _, ok := group[id]; !ok {
			group[id] = ""
			unknown++
		}
	}
	if truth.Complete {
		s.UnknownInClust = unknown
	}
	ids := make([]string, 0, len(group))
	for id := range group {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	groupSize := map[string]int{}
	clusterSize := map[string]int{}
	inter := map[[2]string]int{} // (cluster, group) -> accounts
	for _, id := range ids {
		g, c := group[id], pred[id]
		s.Accounts++
		if g == "" {
			s.OrganicAccounts++
			if c != "" {
				s.OrganicInClust++
			}
		} else {
			s.PlantedAccounts++
			groupSize[g]++
		}
		if c != "" {
			s.Clustered++
			clusterSize[c]++
			if g != "" {
				inter[[2]string{c, g}]++
			}
		}
	}
	s.PlantedGroups = len(groupSize)
	s.Clusters = len(clusterSize)
	if s.OrganicAccounts > 0 {
		s.OrganicFPShare = float64(s.OrganicInClust) / float64(s.OrganicAccounts)
	}

	// B-cubed.
	var sumP, sumR float64
	n := 0
	for _, id := range ids {
		g, c := group[id], pred[id]
		if g == "" && c == "" {
			continue
		}
		n++
		both := 1 // the account itself
		if g != "" && c != "" {
			both = inter[[2]string{c, g}]
		}
		csz, gsz := 1, 1
		if c != "" {
			csz = clusterSize[c]
		}
		if g != "" {
			gsz = groupSize[g]
		}
		sumP += float64(both) / float64(csz)
		sumR += float64(both) / float64(gsz)
	}
	if n > 0 {
		s.BCubedP, s.BCubedR = sumP/float64(n), sumR/float64(n)
	}
	s.BCubedF1 = f1(s.BCubedP, s.BCubedR)

	// Pairwise.
	var tp, predPairs, truePairs float64
	for _, k := range clusterSize {
		predPairs += pairs(k)
	}
	for _, k := range groupSize {
		truePairs += pairs(k)
	}
	for _, k := range inter {
		tp += pairs(k)
	}
	if predPairs > 0 {
		s.PairP = tp / predPairs
	}
	if truePairs > 0 {
		s.PairR = tp / truePairs
	}
	s.PairF1 = f1(s.PairP, s.PairR)

	// A group is recovered when more than half of its members sit in one
	// cluster and they are more than half of that cluster.
	type gc struct {
		g, c string
		k    int
	}
	var cells []gc
	for k, v := range inter {
		cells = append(cells, gc{k[1], k[0], v})
	}
	slices.SortFunc(cells, func(a, b gc) int { return cmp.Or(cmp.Compare(a.g, b.g), cmp.Compare(a.c, b.c)) })
	recovered := map[string]bool{}
	for _, x := range cells {
		if 2*x.k > groupSize[x.g] && 2*x.k > clusterSize[x.c] {
			recovered[x.g] = true
		}
	}
	s.GroupsRecovered = len(recovered)
	return s
}

func pairs(k int) float64 { return float64(k) * float64(k-1) / 2 }

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Matched counts the truth file's account ids that are in universe (the
// accounts of the dataset being scored). A truth file of another dataset
// matches few or none.
func (t *Truth) Matched(universe []string) int {
	in := make(map[string]bool, len(universe))
	for _, id := range universe {
		in[id] = true
	}
	n := 0
	for id := range t.Group {
		if in[id] {
			n++
		}
	}
	return n
}
