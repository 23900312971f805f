package kmerge

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

type run struct {
	items []int
	i     int // index of the current item + 1
}

func next(r *run) (bool, error) {
	r.i++
	return r.i <= len(r.items), nil
}

func cur(r *run) int { return r.items[r.i-1] }

// TestMergeSorted: random sorted runs, empty ones included, merge to the
// sorted union, for many run counts.
func TestMergeSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for tc := 0; tc < 200; tc++ {
		var runs []*run
		var want []int
		for k := rng.IntN(9); k > 0; k-- {
			r := &run{}
			for n := rng.IntN(20); n > 0; n-- {
				r.items = append(r.items, rng.IntN(30))
			}
			slices.Sort(r.items)
			want = append(want, r.items...)
			runs = append(runs, r)
		}
		slices.Sort(want)
		var got []int
		err := Merge(runs, next, func(a, b *run) bool { return cur(a) < cur(b) }, func(r *run) error {
			got = append(got, cur(r))
			return nil
		})
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("case %d: got %v (%v), want %v", tc, got, err, want)
		}
	}
}

// TestMergeErrors: an error of visit or next stops the merge.
func TestMergeErrors(t *testing.T) {
	stop := errors.New("stop")
	runs := []*run{{items: []int{1, 3}}, {items: []int{2}}}
	n := 0
	err := Merge(runs, next, func(a, b *run) bool { return cur(a) < cur(b) }, func(*run) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("visit error: %v after %d visits", err, n)
	}
	bad := func(*run) (bool, error) { return false, stop }
	if err := Merge([]*run{{items: []int{1}}}, bad, nil, nil); !errors.Is(err, stop) {
		t.Fatalf("next error: %v", err)
	}
}
