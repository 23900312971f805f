package summarize

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// clusterView is one cluster with its ranked lists, shared by the tables and
// the report.
type clusterView struct {
	c       *clusterAgg
	row     schema.ClusterSummary
	top     [numKinds][]ranked
	texts   []ranked
	bursts  []burst
	signals []string
}

// results is everything the writers and the report need.
type results struct {
	release    schema.ReleaseSummary
	releaseTop [numKinds][]ranked
	bursts     []burst
	clusters   []*clusterView // size descending, then cluster id
	followers  []int64        // sorted
	// creationDays are the UTC creation days of all accounts, sorted.
	creationDays []int64
	// published compares the release's published figures with the computed
	// ones; nil when the release has none.
	published []schema.PublishedComparison
	// networks are the pictures of the largest clusters, largest first.
	networks []*network
	// sensitivity is the parameter grid; nil without pair_scores.
	sensitivity *sensitivityResult
}

func ptrIf(ok bool, v int64) *int64 {
	if !ok {
		return nil
	}
	return &v
}

func share(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// creationDays returns the sorted UTC days of creation times, with the first
// and last creation time.
func creationDays(ms []int64) (days []int64, first, last *int64) {
	if len(ms) == 0 {
		return nil, nil, nil
	}
	sorted := slices.Clone(ms)
	slices.Sort(sorted)
	days = make([]int64, len(sorted))
	for i, m := range sorted {
		days[i] = dayOf(m)
	}
	return days, &sorted[0], &sorted[len(sorted)-1]
}

func (s *state) results(dataset string) *results {
	r := &results{}
	days, createdFirst, createdLast := creationDays(s.createdMs)
	r.creationDays = days
	r.networks = s.networks
	r.bursts = findBursts(days, s.p.BurstDays, s.p.BurstMinAccounts)
	var burstAccounts int64
	for _, b := range r.bursts {
		burstAccounts += b.accounts
	}
	nonReposts := s.rel.posts - s.reposts
	r.release = schema.ReleaseSummary{
		Dataset:             dataset,
		Accounts:            s.accounts,
		AccountsInUsersFile: s.inUsersFile,
		AccountsOnlyInPosts: s.accounts - s.inUsersFile,
		AccountsWithPosts:   s.accountsWithPosts,
		HashedShare:         share(s.hashed, s.accounts),
		Posts:               s.rel.posts,
		Reposts:             s.reposts,
		Replies:             s.replies,
		Rejects:             s.rejects,
		FirstPostAt:         ptrIf(s.rel.posts > 0, s.rel.first),
		LastPostAt:          ptrIf(s.rel.posts > 0, s.rel.last),
		ActiveDays:          int64(len(s.rel.days)),
		PostsPerActiveDay:   share(s.rel.posts, int64(len(s.rel.days))),
		CopyPosts:           s.copyPosts,
		CopyShare:           share(s.copyPosts, nonReposts),
		LikesSum:            s.likesSum,
		RepostsSum:          s.repostsSum,
		RepliesSum:          s.repliesSum,
		QuotesSum:           s.quotesSum,
		CreatedFirst:        createdFirst,
		CreatedLast:         createdLast,
		CreationBursts:      int64(len(r.bursts)),
		BurstAccounts:       burstAccounts,
		Clusters:            int64(len(s.clusters)),
		ClusteredAccounts:   int64(len(s.memberOf)),
	}
	for k := range numKinds {
		r.releaseTop[k] = s.rel.top[k]
	}
	r.followers = slices.Clone(s.followers)
	slices.Sort(r.followers)

	for _, c := range s.clusters {
		v := &clusterView{c: c}
		for k := range numKinds {
			v.top[k] = c.agg.top[k]
		}
		v.texts = c.agg.texts
		for sig := range c.signals {
			v.signals = append(v.signals, sig)
		}
		slices.Sort(v.signals)
		cdays, cfirst, clast := creationDays(c.createdMs)
		v.bursts = findBursts(cdays, s.p.BurstDays, s.p.BurstMinAccounts)
		v.row = schema.ClusterSummary{
			ClusterID:      c.id,
			Size:           c.size,
			Posts:          c.agg.posts,
			Edges:          c.edges,
			Signals:        v.signals,
			FirstAt:        ptrIf(c.agg.posts > 0, c.agg.first),
			LastAt:         ptrIf(c.agg.posts > 0, c.agg.last),
			ActiveDays:     int64(len(c.agg.days)),
			TopTexts:       rankedValues(v.texts),
			TopHashtags:    rankedValues(v.top[kHashtag]),
			TopDomains:     rankedValues(v.top[kDomain]),
			TopClients:     rankedValues(v.top[kClient]),
			Languages:      rankedValues(v.top[kLanguage]),
			CreatedFirst:   cfirst,
			CreatedLast:    clast,
			CreationBursts: int64(len(v.bursts)),
			Originators:    c.originators,
			Amplifiers:     c.amplifiers,
		}
		r.clusters = append(r.clusters, v)
	}
	slices.SortFunc(r.clusters, func(a, b *clusterView) int {
		if c := cmp.Compare(b.row.Size, a.row.Size); c != 0 {
			return c
		}
		return strings.Compare(a.row.ClusterID, b.row.ClusterID)
	})
	return r
}

// scope is one scope of the timeline and top-entity tables.
type scope struct {
	name string
	agg  *scopeAgg
	top  *[numKinds][]ranked
}

// scopes returns the release and every cluster, sorted by scope name.
func (r *results) scopes(rel *scopeAgg) []scope {
	out := []scope{{ScopeRelease, rel, &r.releaseTop}}
	for _, v := range r.clusters {
		out = append(out, scope{v.row.ClusterID, v.c.agg, &v.top})
	}
	sortScopes(out, func(x scope) string { return x.name })
	return out
}

// sortScopes sorts scopes by name, byte order.
func sortScopes[T any](xs []T, name func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(name(a), name(b)) })
}

// writeTables writes the four Parquet tables and returns the row counts of
// daily_timeline and top_entities.
func (s *state) writeTables(ctx context.Context, r *results, outDir string) (timelineRows, entityRows int64, err error) {
	path := func(table string) string { return filepath.Join(outDir, table+".parquet") }
	if _, err := pqio.WriteFile(path(schema.TableReleaseSummary), []schema.ReleaseSummary{r.release}); err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}
	rows := make([]schema.ClusterSummary, len(r.clusters))
	for i, v := range r.clusters {
		rows[i] = v.row
	}
	if _, err := pqio.WriteFile(path(schema.TableClusterSummary), rows); err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}
	scopes := r.scopes(s.rel)

	tw, err := pqio.Create[schema.DailyTimeline](path(schema.TableDailyTimeline))
	if err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}
	var buf []schema.DailyTimeline
	for _, sc := range scopes {
		if err := ctx.Err(); err != nil {
			tw.Abort()
			return 0, 0, fmt.Errorf("summarize: %w", err)
		}
		buf = buf[:0]
		for _, d := range sc.agg.timeline() {
			buf = append(buf, schema.DailyTimeline{
				Scope: sc.name, Day: d.day * dayMillis, Posts: d.posts, Accounts: d.accounts,
			})
		}
		if err := tw.Write(buf...); err != nil {
			tw.Abort()
			return 0, 0, fmt.Errorf("summarize: %w", err)
		}
	}
	timelineRows = tw.Rows()
	if err := tw.Close(); err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}

	ew, err := pqio.Create[schema.TopEntity](path(schema.TableTopEntities))
	if err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}
	var ebuf []schema.TopEntity
	for _, sc := range scopes {
		ebuf = ebuf[:0]
		for k := range numKinds {
			for i, e := range sc.top[k] {
				ebuf = append(ebuf, schema.TopEntity{
					Scope: sc.name, Kind: kindNames[k], Rank: int64(i + 1), Value: e.value, Count: e.count,
				})
			}
		}
		if err := ew.Write(ebuf...); err != nil {
			ew.Abort()
			return 0, 0, fmt.Errorf("summarize: %w", err)
		}
	}
	entityRows = ew.Rows()
	if err := ew.Close(); err != nil {
		return 0, 0, fmt.Errorf("summarize: %w", err)
	}
	return timelineRows, entityRows, nil
}
