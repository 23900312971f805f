package summarize

import (
	"fmt"
	"path/filepath"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// creationCounts returns the accounts created per UTC day, for sorted days,
// in day order.
func creationCounts(days []int64) []dayCount {
	var out []dayCount
	for _, d := range days {
		if n := len(out); n > 0 && out[n-1].day == d {
			out[n-1].accounts++
			continue
		}
		out = append(out, dayCount{day: d, accounts: 1})
	}
	return out
}

// writeCreation writes account_creation.parquet and creation_bursts.parquet,
// scopes in name order ("release" sorts among the cluster ids the same way
// as in daily_timeline), and returns the account_creation row count.
func (s *state) writeCreation(r *results, outDir string) (int64, error) {
	type scoped struct {
		name   string
		days   []int64
		bursts []burst
	}
	all := []scoped{{ScopeRelease, r.creationDays, r.bursts}}
	for _, v := range r.clusters {
		days, _, _ := creationDays(v.c.createdMs)
		all = append(all, scoped{v.row.ClusterID, days, v.bursts})
	}
	sortScopes(all, func(x scoped) string { return x.name })

	var rows []schema.AccountCreation
	var bursts []schema.CreationBurst
	for _, sc := range all {
		for _, d := range creationCounts(sc.days) {
			rows = append(rows, schema.AccountCreation{Scope: sc.name, Day: d.day * dayMillis, Accounts: d.accounts})
		}
		for _, b := range sc.bursts {
			bursts = append(bursts, schema.CreationBurst{
				Scope: sc.name, FirstDay: b.firstDay * dayMillis, LastDay: b.lastDay * dayMillis, Accounts: b.accounts,
			})
		}
	}
	path := func(table string) string { return filepath.Join(outDir, table+".parquet") }
	n, err := pqio.WriteFile(path(schema.TableAccountCreation), rows)
	if err != nil {
		return 0, fmt.Errorf("summarize: %w", err)
	}
	if _, err := pqio.WriteFile(path(schema.TableCreationBursts), bursts); err != nil {
		return 0, fmt.Errorf("summarize: %w", err)
	}
	return n, nil
}
