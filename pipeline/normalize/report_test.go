package normalize

import (
	"strings"
	"testing"
)

func TestStatsTable(t *testing.T) {
	first, last := int64(1500000000000), int64(1500086400000)
	s := Stats{
		Files: []FileStats{
			{File: "a.zip", Entry: "inner.csv", Format: FormatTwitterIO, Kind: "tweets", RowsIn: 10, RowsWritten: 8, RowsRejected: 2,
				RejectsByReason: map[string]int64{ReasonBadTime: 1, ReasonBadQuote: 1}, Warnings: map[string]int64{WarnUTF8Repaired: 3}},
			{File: "users.csv", Format: FormatTwitterIO, Kind: "users", RowsIn: 5, RowsWritten: 5,
				RejectsByReason: map[string]int64{}, Warnings: map[string]int64{}},
		},
		Accounts: 6, AccountsOnlyInPosts: 1, Posts: 8, Rejects: 2, IDHashFamily: FamilyBase64,
		FirstPostAt: &first, LastPostAt: &last, TimeDisagreements: 4,
	}
	got := s.Table()
	for _, want := range []string{
		"a.zip!inner.csv", "bad_quote=1 bad_time=1 utf8_repaired~3", "users.csv",
		"accounts 6 (1 only in posts or seed lists), posts 8, rejects 2, id hash family base64",
		"posts from 2017-07-14 02:40 to 2017-07-15 02:40 UTC", "4 time disagreements",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 4 {
		t.Errorf("%d lines, want 4:\n%s", n, got)
	}
	many := Stats{IDHashFamily: FamilyNone}
	for i := 0; i < maxTableFiles+3; i++ {
		many.Files = append(many.Files, FileStats{File: "f", RowsIn: 2, RowsWritten: 1, RowsRejected: 1})
	}
	got = many.Table()
	var moreLine string
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(l, "more files") {
			moreLine = l
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}
	if f := strings.Fields(moreLine); strings.Join(f, " ") != "(3 more files) 6 3 3" {
		t.Errorf("long table:\n%s", got)
	}
}
