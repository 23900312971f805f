package evaluate

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

const synthTruth = `account_id,group,role,behaviours
a1,squad-001,originator,copy_paste
a2,squad-001,amplifier,copy_paste
a3,squad-001,amplifier,copy_paste
b1,squad-002,originator,co_retweet
b2,squad-002,amplifier,co_retweet
o1,,organic,
o2,,organic,
o3,,organic,
`

func TestScore(t *testing.T) {
	truth, err := ParseTruth(strings.NewReader(synthTruth))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pred map[string]string
		want Scores
	}{
		{
			name: "perfect",
			pred: map[string]string{"a1": "x", "a2": "x", "a3": "x", "b1": "y", "b2": "y"},
			want: Scores{Accounts: 8, PlantedAccounts: 5, PlantedGroups: 2, OrganicAccounts: 3, Clusters: 2, Clustered: 5,
				GroupsRecovered: 2, BCubedP: 1, BCubedR: 1, BCubedF1: 1, PairP: 1, PairR: 1, PairF1: 1},
		},
		{
			name: "one organic chained in, one planted missed",
			pred: map[string]string{"a1": "x", "a2": "x", "o1": "x", "b1": "y", "b2": "y"},
			want: Scores{Accounts: 8, PlantedAccounts: 5, PlantedGroups: 2, OrganicAccounts: 3, Clusters: 2, Clustered: 5,
				OrganicInClust: 1, OrganicFPShare: 1.0 / 3, GroupsRecovered: 2,
				BCubedP: 14.0 / 18, BCubedR: 14.0 / 18, BCubedF1: 14.0 / 18, PairP: 0.5, PairR: 0.5, PairF1: 0.5},
		},
		{
			name: "nothing clustered",
			pred: map[string]string{},
			want: Scores{Accounts: 8, PlantedAccounts: 5, PlantedGroups: 2, OrganicAccounts: 3,
				BCubedP: 1, BCubedR: 0.4, BCubedF1: 2 * 0.4 / 1.4},
		},
		{
			name: "two groups merged, unknown account clustered",
			pred: map[string]string{"a1": "x", "a2": "x", "a3": "x", "b1": "x", "b2": "x", "zz": "x"},
			want: Scores{Accounts: 9, PlantedAccounts: 5, PlantedGroups: 2, OrganicAccounts: 4, Clusters: 1, Clustered: 6,
				OrganicInClust: 1, OrganicFPShare: 0.25, GroupsRecovered: 0, UnknownInClust: 1, // 3 of 6 is no majority
				// a*: 3/6 precision, 1 recall; b*: 2/6, 1; zz: 1/6, 1.
				BCubedP: (3*0.5 + 2*(2.0/6) + 1.0/6) / 6, BCubedR: 1,
				BCubedF1: f1((3*0.5+2*(2.0/6)+1.0/6)/6, 1),
				PairP:    4.0 / 15, PairR: 1, PairF1: f1(4.0/15, 1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.pred, truth, nil)
			if !close(got, tt.want) {
				t.Errorf("Score =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func close(a, b Scores) bool {
	fl := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	ai, bi := a, b
	for _, p := range []*Scores{&ai, &bi} {
		p.OrganicFPShare, p.BCubedP, p.BCubedR, p.BCubedF1, p.PairP, p.PairR, p.PairF1 = 0, 0, 0, 0, 0, 0, 0
	}
	return ai == bi && fl(a.OrganicFPShare, b.OrganicFPShare) && fl(a.BCubedP, b.BCubedP) && fl(a.BCubedR, b.BCubedR) &&
		fl(a.BCubedF1, b.BCubedF1) && fl(a.PairP, b.PairP) && fl(a.PairR, b.PairR) && fl(a.PairF1, b.PairF1)
}

func TestCNTTruthNeedsUniverse(t *testing.T) {
	truth, err := ParseTruth(strings.NewReader("user_id,group\nu10,0\nu11,0\nu12,1\nu13,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if truth.Format != FormatCNT || truth.Complete {
		t.Fatalf("format %s complete %v", truth.Format, truth.Complete)
	}
	pred := map[string]string{"u10": "x", "u11": "x", "u12": "y", "u13": "y", "u1": "y"}
	got := Score(pred, truth, []string{"u1", "u2", "u3", "u4", "u10", "u11", "u12", "u13"})
	if got.OrganicAccounts != 4 || got.OrganicInClust != 1 || got.OrganicFPShare != 0.25 || got.UnknownInClust != 0 {
		t.Errorf("organic: %+v", got)
	}
	if got.PlantedGroups != 2 || got.GroupsRecovered != 2 {
		t.Errorf("groups: %+v", got)
	}
}

func TestParseTruthErrors(t *testing.T) {
	for _, in := range []string{"", "id,cluster\n1,2\n", "user_id,group\nu1,\n", "account_id,group\nonly\n"} {
		if _, err := ParseTruth(strings.NewReader(in)); err == nil {
			t.Errorf("ParseTruth(%q): no error", in)
		}
	}
	_, err := ParseTruth(strings.NewReader("x,y\n"))
	if !errors.Is(err, ErrTruthFormat) {
		t.Errorf("unknown header: %v, want ErrTruthFormat", err)
	}
}

func TestReadClusters(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "clusters.parquet")
	if _, err := pqio.WriteFile(p, []schema.ClusterMember{
		{ClusterID: "c1", AccountID: "a"}, {ClusterID: "c1", AccountID: "b"}, {ClusterID: "c2", AccountID: "a"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadClusters(p); err == nil || !strings.Contains(err.Error(), "account a is in clusters c1 and c2") {
		t.Errorf("ReadClusters: %v", err)
	}
}
