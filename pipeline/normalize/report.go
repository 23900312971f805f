package normalize

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// maxTableFiles bounds the per-file rows of Table; the rest are summed.
const maxTableFiles = 30

// Table renders the stats as the short per-file table `takedown normalize`
// and `takedown run` print: one line per CSV stream with its format, kind,
// row counts and rejects by reason, then the totals, the id hash family and
// the date coverage of the posts (UTC).
func (s Stats) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    file\tformat\tkind\trows in\twritten\trejected\trejects by reason / warnings")
	var more FileStats
	for i, f := range s.Files {
		if i >= maxTableFiles {
			more.RowsIn += f.RowsIn
			more.RowsWritten += f.RowsWritten
			more.RowsRejected += f.RowsRejected
			continue
		}
		name := f.File
		if f.Entry != "" {
			name += "!" + f.Entry
		}
		format := f.Format
		if f.TimeFormat != "" {
			// The generic format's time spelling, without how it was chosen.
			format += " time=" + strings.Fields(f.TimeFormat)[0]
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%d\t%d\t%d\t%s\n", clipN(name, 60), format, f.Kind,
			f.RowsIn, f.RowsWritten, f.RowsRejected, countList(f.RejectsByReason, f.Warnings))
	}
	if n := len(s.Files) - maxTableFiles; n > 0 {
		fmt.Fprintf(tw, "    (%d more files)\t\t\t%d\t%d\t%d\t\n", n, more.RowsIn, more.RowsWritten, more.RowsRejected)
	}
	tw.Flush()
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	b.Reset()
	b.WriteString(strings.Join(lines, "\n"))
	fmt.Fprintf(&b, "    accounts %d (%d only in posts or seed lists), posts %d, rejects %d, id hash family %s",
		s.Accounts, s.AccountsOnlyInPosts, s.Posts, s.Rejects, s.IDHashFamily)
	if s.FirstPostAt != nil && s.LastPostAt != nil {
		fmt.Fprintf(&b, ", posts from %s to %s UTC", fmtMillis(*s.FirstPostAt), fmtMillis(*s.LastPostAt))
	}
	if s.TimeDisagreements > 0 {
		fmt.Fprintf(&b, ", %d time disagreements", s.TimeDisagreements)
	}
	b.WriteByte('\n')
	if m := s.Media; m != nil {
		fmt.Fprintf(&b, "    media %d files in %d archives (%s), %d orphans", m.Files, len(m.Archives), countList(m.ByKind, nil), m.Orphans)
		if r := countList(m.ByReason, nil); r != "" {
			fmt.Fprintf(&b, ", reasons %s", r)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// countList renders rejects and warnings as "bad_time=3 utf8_repaired~2",
// sorted by code; warnings use "~".
func countList(rejects, warnings map[string]int64) string {
	var parts []string
	for _, m := range []struct {
		counts map[string]int64
		sep    string
	}{{rejects, "="}, {warnings, "~"}} {
		keys := make([]string, 0, len(m.counts))
		for k, v := range m.counts {
			if v > 0 {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s%s%d", k, m.sep, m.counts[k]))
		}
	}
	return strings.Join(parts, " ")
}

// fmtMillis formats a time in milliseconds as YYYY-MM-DD HH:MM, UTC.
func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}
