package cluster

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGroupBucket: a bucket's items on two rows or more are handed on
// with every row once, complete (the account and time of their records); the others, and a row's repeats of an
// item once, count as singletons; whatever the number of groups.
func TestGroupBucket(t *testing.T) {
	defer func(g int) { groupRecs = g }(groupRecs)
	rowAcc := []int32{0, 1, 2, 3, 4, 5}
	times := []int64{10, 11, 12, 13, 14, 15}
	rec := func(item uint64, row uint32) bucketRec {
		return bucketRec{item: item, row: row, acc: uint32(rowAcc[row]), t: times[row]}
	}
	for _, tc := range []struct {
		name   string
		recs   []bucketRec // in row order
		want   []occ       // sorted
		single int64
	}{
		{"empty", nil, nil, 0},
		{"two rows", []bucketRec{rec(7, 0), rec(7, 2)}, []occ{{7, 10, 0, 0}, {7, 12, 2, 2}}, 0},
		{"once", []bucketRec{rec(7, 0), rec(8, 1)}, nil, 2},
		{"a row's repeats count once", []bucketRec{rec(7, 1), rec(7, 1), rec(7, 1)}, nil, 1},
		{"repeats and another row", []bucketRec{rec(7, 1), rec(9, 1), rec(7, 1), rec(7, 4)}, []occ{{7, 11, 1, 1}, {7, 14, 4, 4}}, 1},
		{"three rows", []bucketRec{rec(5, 0), rec(5, 3), rec(6, 3), rec(5, 5)}, []occ{{5, 10, 0, 0}, {5, 13, 3, 3}, {5, 15, 5, 5}}, 1},
	} {
		for _, gr := range []int{1 << 13, 1} {
			groupRecs = gr
			part := &rowItems{row: -1, runs: &occRuns{room: 1 << 40, runLen: 1 << 20}}
			(&grouper{}).group(slices.Clone(tc.recs), 0, part)
			var got []occ
			for _, c := range part.chunks {
				got = append(got, c...)
			}
			sortOccs(got)
			if !slices.Equal(got, tc.want) || part.singletons != tc.single {
				t.Errorf("%s, groups of %d: %v and %d singletons, want %v and %d", tc.name, gr, got, part.singletons, tc.want, tc.single)
			}
		}
	}
}

// TestGroupBucketRandom: on random records, grouping in many groups keeps
// the occurrences and singletons a map of items to rows gives.
func TestGroupBucketRandom(t *testing.T) {
	defer func(g int) { groupRecs = g }(groupRecs)
	groupRecs = 16
	rng := rand.New(rand.NewPCG(1, 2))
	const rows = 3000
	rowAcc := make([]int32, rows)
	times := make([]int64, rows)
	for r := range rows {
		rowAcc[r], times[r] = int32(r%97), int64(r*3)
	}
	var recs []bucketRec
	for r := range uint32(rows) {
		for range rng.IntN(4) {
			recs = append(recs, bucketRec{item: uint64(rng.IntN(2000)), row: r, acc: uint32(rowAcc[r]), t: times[r]})
		}
	}
	itemRows := map[uint64][]uint32{}
	for _, rec := range recs {
		if rs := itemRows[rec.item]; len(rs) == 0 || rs[len(rs)-1] != rec.row {
			itemRows[rec.item] = append(rs, rec.row)
		}
	}
	var want []occ
	var single int64
	for item, rs := range itemRows {
		if len(rs) < 2 {
			single++
			continue
		}
		for _, r := range rs {
			want = append(want, occ{item, times[r], uint32(rowAcc[r]), r})
		}
	}
	sortOccs(want)
	part := &rowItems{row: -1, runs: &occRuns{room: 1 << 40, runLen: 1 << 20}}
	(&grouper{}).group(recs, 3, part)
	var got []occ
	for _, c := range part.chunks {
		got = append(got, c...)
	}
	sortOccs(got)
	if !slices.Equal(got, want) || part.singletons != single {
		t.Errorf("%d occurrences and %d singletons, want %d and %d", len(got), part.singletons, len(want), single)
	}
}
