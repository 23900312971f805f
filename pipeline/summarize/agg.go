package summarize

import (
	"cmp"
	"slices"
	"strings"
)

const dayMillis = 86_400_000

// dayOf returns the UTC day number (days since 1970-01-01) of a time in ms.
func dayOf(ms int64) int64 {
	d := ms / dayMillis
	if ms%dayMillis < 0 {
		d--
	}
	return d
}

// Entity kinds by index, in the order top_entities lists them.
const (
	kClient = iota
	kDomain
	kHashtag
	kLanguage
	kMention
	numKinds
)

var kindNames = [numKinds]string{KindClient, KindDomain, KindHashtag, KindLanguage, KindMention}

// postView is what the aggregates need from one post, with entity values
// already canonical and deduplicated within the post.
type postView struct {
	at     int64
	day    int64
	acct   uint32
	values [numKinds][]string
}

// scopeAgg aggregates the posts of one scope: the release or one cluster.
// What grows with the posts, the distinct (day, account) pairs and the
// entity counts, goes to the state's spilled counter (scopes.go), keyed by
// the scope's number; its merge fills in dayAccounts and top.
type scopeAgg struct {
	num         uint32 // 0 for the release, 1 + the cluster's index by id
	posts       int64
	first, last int64
	days        map[int64]int64
	dayAccounts map[int64]int64 // distinct accounts per day, after the merge
	top         [numKinds][]ranked
	texts       []ranked // a cluster's top texts, after the merge
}

func newScopeAgg(num uint32) *scopeAgg {
	return &scopeAgg{num: num, days: map[int64]int64{}, dayAccounts: map[int64]int64{}}
}

// timeline returns the scope's days in order with posts and distinct accounts.
func (s *scopeAgg) timeline() []dayCount {
	out := make([]dayCount, 0, len(s.days))
	for d, n := range s.days {
		out = append(out, dayCount{day: d, posts: n, accounts: s.dayAccounts[d]})
	}
	slices.SortFunc(out, func(a, b dayCount) int { return cmp.Compare(a.day, b.day) })
	return out
}

type dayCount struct {
	day, posts, accounts int64
}

// signalAgg counts the edges of one signal inside one cluster.
type signalAgg struct {
	edges, shared int64
}

// clusterAgg aggregates one cluster.
type clusterAgg struct {
	id          string
	size        int64
	members     []member
	originators int64
	amplifiers  int64
	otherRoles  int64
	createdMs   []int64
	edges       int64
	signals     map[string]*signalAgg
	agg         *scopeAgg
}

// inc adds n to m[key], copying key on first insertion: strings handed out by
// the Parquet reader may share memory with a reused batch.
func inc(m map[string]int64, key string, n int64) {
	c, ok := m[key]
	if !ok {
		key = strings.Clone(key)
	}
	m[key] = c + n
}

// ranked is one entry of a ranked list.
type ranked struct {
	value string
	count int64
}

// topN ranks m by count descending, ties broken by value ascending (byte
// order), and keeps the first n.
func topN(m map[string]int64, n int) []ranked {
	all := make([]ranked, 0, len(m))
	for v, c := range m {
		all = append(all, ranked{v, c})
	}
	slices.SortFunc(all, rankedCmp)
	if len(all) > n {
		all = all[:n]
	}
	return all
}

// rankedCmp orders by count descending, then value ascending.
func rankedCmp(a, b ranked) int {
	if c := cmp.Compare(b.count, a.count); c != 0 {
		return c
	}
	return strings.Compare(a.value, b.value)
}

func rankedValues(r []ranked) []string {
	out := make([]string, len(r))
	for i, x := range r {
		out[i] = x.value
	}
	return out
}

// burst is one account creation burst: accounts created between two UTC days.
type burst struct {
	firstDay, lastDay int64
	accounts          int64
}

// findBursts finds account creation bursts in days, the UTC creation days of
// the accounts sorted ascending. A window is `window` consecutive UTC days; it
// is dense when it holds at least minAccounts accounts. Dense windows that
// share at least one account are merged; each merged run is one burst. Only
// windows that start on some account's creation day need be checked: any
// dense window still holds the same accounts when moved to start on its
// earliest account's day.
func findBursts(days []int64, window, minAccounts int) []burst {
	var out []burst
	start, end := -1, -1
	j := 0
	for i := range days {
		if j < i {
			j = i
		}
		for j+1 < len(days) && days[j+1]-days[i] < int64(window) {
			j++
		}
		if j-i+1 < minAccounts {
			continue
		}
		if end >= i {
			end = j
			continue
		}
		if start >= 0 {
			out = append(out, burst{days[start], days[end], int64(end - start + 1)})
		}
		start, end = i, j
	}
	if start >= 0 {
		out = append(out, burst{days[start], days[end], int64(end - start + 1)})
	}
	return out
}

// canonMention drops a leading '@'. Case is kept: mentions are often hashed
// ids, and base64 hashes are case-sensitive.
func canonMention(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "@")
}

// appendUnique appends v to list unless it is empty or already present.
func appendUnique(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
