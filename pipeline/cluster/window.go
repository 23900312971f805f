package cluster

import (
	"math"
	"slices"
)

// Parameters of CooRnet's coordination-interval estimate
// (estimate_coord_interval, defaults q = 0.1 and p = 0.5).
const (
	windowFastestShare = 0.1 // the share of URLs, by the delay of their second share, that enter the estimate
	windowSharesShare  = 0.5 // the share of a URL's shares whose arrival time is measured
)

// EstimateWindow returns CooRnet's coordination interval, in milliseconds,
// of a set of URLs given the times (ms) at which each was shared. URLs with
// fewer than two shares are ignored. Of the others, those whose second
// share came after the first within the 0.1 quantile of all such delays
// (inclusive) are the fastest; for each of them, the time from its first
// share until more than half of its shares had arrived (the first share of
// rank r > n/2, counting from 1) is measured, and the interval is the
// median of those times, rounded to the millisecond. Quantiles interpolate
// linearly between order statistics (R's default, type 7, as CooRnet's
// quantile calls). It also returns how many URLs entered the median; ok is
// false when no URL has two shares. The times of one URL need not be
// sorted.
func EstimateWindow(shares [][]int64) (ms int64, urls int64, ok bool) {
	type url struct {
		second int64 // delay of the second share
		half   int64 // time until more than half of the shares arrived
	}
	var us []url
	var ts []int64
	for _, s := range shares {
		if len(s) < 2 {
			continue
		}
		ts = append(ts[:0], s...)
		slices.Sort(ts)
		r := len(ts)/2 + 1 // the smallest rank with r/n > 0.5
		us = append(us, url{second: ts[1] - ts[0], half: ts[r-1] - ts[0]})
	}
	if len(us) == 0 {
		return 0, 0, false
	}
	seconds := make([]float64, len(us))
	for i, u := range us {
		seconds[i] = float64(u.second)
	}
	slices.Sort(seconds)
	cut := quantile7(seconds, windowFastestShare)
	var halves []float64
	for _, u := range us {
		if float64(u.second) <= cut {
			halves = append(halves, float64(u.half))
		}
	}
	slices.Sort(halves)
	return int64(math.Round(quantile7(halves, windowSharesShare))), int64(len(halves)), true
}

// quantile7 returns the q quantile of sorted, non-empty values by linear
// interpolation between order statistics (R's type 7).
func quantile7(sorted []float64, q float64) float64 {
	h := float64(len(sorted)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// estimateWindow is EstimateWindow over the co_url occurrences each
// visits sorted by item.
func estimateWindow(each func(visit func(occ)) error) (ms int64, urls int64, ok bool, err error) {
	var (
		shares [][]int64
		ts     []int64 // the times of one item
		item   uint64
	)
	end := func() {
		if len(ts) >= 2 {
			shares = append(shares, slices.Clone(ts))
		}
		ts = ts[:0]
	}
	err = each(func(o occ) {
		if len(ts) > 0 && o.item != item {
			end()
		}
		item = o.item
		ts = append(ts, o.t)
	})
	if err != nil {
		return 0, 0, false, err
	}
	end()
	ms, urls, ok = EstimateWindow(shares)
	return ms, urls, ok, nil
}

// eachOcc visits occs in order: the each of an in-memory signal.
func eachOcc(occs []occ) func(visit func(occ)) error {
	return func(visit func(occ)) error {
		for _, o := range occs {
			visit(o)
		}
		return nil
	}
}
