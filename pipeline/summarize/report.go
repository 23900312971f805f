package summarize

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// sparkWidth is the most characters a sparkline takes; longer spans are
// bucketed into several days per character.
const sparkWidth = 60

// reportTexts is how many top texts, and reportBursts how many bursts, the
// report shows at most (the tables keep TopN).
const (
	reportTexts  = 5
	reportBursts = 20
)

var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// num formats an integer with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pct formats a share in [0, 1] as a percentage with one decimal.
func pct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func fixed2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

func fmtTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }

func fmtDay(day int64) string { return time.UnixMilli(day * dayMillis).UTC().Format("2006-01-02") }

func fmtOptTime(p *int64) string {
	if p == nil {
		return "unknown"
	}
	return fmtTime(*p)
}

func fmtOptDay(p *int64) string {
	if p == nil {
		return "unknown"
	}
	return fmtDay(dayOf(*p))
}

// md makes archive text safe to inline in Markdown: one line, at most max
// runes, Markdown punctuation escaped.
func md(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]<>()#+-!|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// code quotes an identifier as Markdown code.
func code(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
	return "`" + s + "`"
}

// rankedList formats "value (count), ..." or "none".
func rankedList(r []ranked, prefix string) string {
	if len(r) == 0 {
		return "none"
	}
	parts := make([]string, len(r))
	for i, e := range r {
		parts[i] = prefix + md(e.value, 80) + " (" + num(e.count) + ")"
	}
	return strings.Join(parts, ", ")
}

// sparkline draws posts per day from the first to the last active day, one
// character per bucket of days; '·' is a bucket without posts.
func sparkline(days map[int64]int64) string {
	if len(days) == 0 {
		return "no posts"
	}
	first, last := int64(0), int64(0)
	n := 0
	for d := range days {
		if n == 0 || d < first {
			first = d
		}
		if n == 0 || d > last {
			last = d
		}
		n++
	}
	span := last - first + 1
	bucket := (span + sparkWidth - 1) / sparkWidth
	counts := make([]int64, (span+bucket-1)/bucket)
	for d, c := range days {
		counts[(d-first)/bucket] += c
	}
	peak := slices.Max(counts)
	var line strings.Builder
	for _, c := range counts {
		if c == 0 {
			line.WriteRune('·')
			continue
		}
		line.WriteRune(sparkLevels[(c*int64(len(sparkLevels))-1)/peak])
	}
	unit := "1 day"
	if bucket > 1 {
		unit = strconv.FormatInt(bucket, 10) + " days"
	}
	return fmt.Sprintf("%s .. %s, one character = %s, █ = %s posts\n%s",
		fmtDay(first), fmtDay(last), unit, num(peak), line.String())
}

// report renders report.md.
func (s *state) report(r *results) []byte {
	var b bytes.Buffer
	rel := &r.release
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Release summary: %s\n\n", code(rel.Dataset))
	w("Written by the `%s` stage (version %d), run %s, from the dataset's canonical tables. "+
		"All times are UTC. The same numbers are in `release_summary.parquet`, "+
		"`cluster_summary.parquet`, `daily_timeline.parquet` and `top_entities.parquet`. "+
		"Where every input comes from, and how to recompute this run, is under "+
		"[Provenance](#provenance) at the end.\n\n", Name, Version, code(s.provRows()[len(s.provRows())-1].runID))

	w("## Headline numbers\n\n")
	w("| measure | value |\n|---|---|\n")
	w("| accounts | %s |\n", num(rel.Accounts))
	w("| accounts in the users file | %s |\n", num(rel.AccountsInUsersFile))
	w("| accounts seen only in posts | %s |\n", num(rel.AccountsOnlyInPosts))
	w("| accounts with at least one post | %s |\n", num(rel.AccountsWithPosts))
	w("| accounts with hashed ids | %s |\n", pct(rel.HashedShare))
	w("| posts | %s |\n", num(rel.Posts))
	w("| reposts | %s (%s of posts) |\n", num(rel.Reposts), pct(share(rel.Reposts, rel.Posts)))
	w("| replies | %s (%s of posts) |\n", num(rel.Replies), pct(share(rel.Replies, rel.Posts)))
	w("| first post | %s |\n", fmtOptTime(rel.FirstPostAt))
	w("| last post | %s |\n", fmtOptTime(rel.LastPostAt))
	w("| active days | %s |\n", num(rel.ActiveDays))
	w("| posts per active day | %s |\n", fixed2(rel.PostsPerActiveDay))
	w("| copy share | %s (%s of %s non-repost posts) |\n",
		pct(rel.CopyShare), num(rel.CopyPosts), num(rel.Posts-rel.Reposts))
	w("| likes, reposts, replies, quotes received (summed over posts) | %s, %s, %s, %s |\n",
		num(rel.LikesSum), num(rel.RepostsSum), num(rel.RepliesSum), num(rel.QuotesSum))
	w("| accounts created | %s .. %s |\n", fmtOptDay(rel.CreatedFirst), fmtOptDay(rel.CreatedLast))
	w("| account creation bursts | %s (%s accounts) |\n", num(rel.CreationBursts), num(rel.BurstAccounts))
	w("| clusters | %s (%s accounts, %s of accounts) |\n",
		num(rel.Clusters), num(rel.ClusteredAccounts), pct(share(rel.ClusteredAccounts, rel.Accounts)))
	w("| rejected records | %s |\n\n", num(rel.Rejects))
	w("Copy share: the share of non-repost posts whose normalized text (fingerprint `text_key`) " +
		"also occurs in a non-repost post by a different account. Engagement sums skip posts " +
		"where the archive gives no count.\n\n")

	w("### Follower counts\n\n")
	w("Follower counts are a per-account snapshot, one value per account in the accounts table. " +
		"Raw archives repeat the account's follower count on every post: **never sum per-post " +
		"follower counts**, which multiplies each account's audience by its number of posts. ")
	if n := len(r.followers); n > 0 {
		w("Of the %s accounts with a follower count, the median is %s and the largest %s.\n\n",
			num(int64(n)), num(r.followers[(n-1)/2]), num(r.followers[n-1]))
	} else {
		w("No account has a follower count.\n\n")
	}

	s.reportCoordination(&b)

	w("## Daily activity\n\nPosts per UTC day, release-wide.\n\n```text\n%s\n```\n\n", sparkline(s.rel.days))

	w("## Account creation bursts\n\n")
	w("A burst is a maximal run of accounts, in creation order, covered by windows of %d "+
		"consecutive UTC days that each hold at least %d accounts; windows sharing an account "+
		"merge. Accounts without a creation date are left out.\n\n", s.p.BurstDays, s.p.BurstMinAccounts)
	if len(r.bursts) == 0 {
		w("No creation bursts.\n\n")
	} else {
		bursts := slices.Clone(r.bursts)
		slices.SortStableFunc(bursts, func(a, b burst) int { return cmp.Compare(b.accounts, a.accounts) })
		w("%s bursts, largest first:\n\n", num(int64(len(bursts))))
		w("| first day | last day | accounts |\n|---|---|---|\n")
		for i, bu := range bursts {
			if i == reportBursts {
				w("\n%d more bursts are not listed.\n", len(bursts)-reportBursts)
				break
			}
			w("| %s | %s | %s |\n", fmtDay(bu.firstDay), fmtDay(bu.lastDay), num(bu.accounts))
		}
		w("\n")
	}

	s.reportClusters(&b, r)

	w("## Top entities of the release\n\n")
	w("Counts are posts carrying the value (a value repeated within one post counts once); " +
		"hashtags are normalized as the fingerprint stage keys them (case-folded, NFKC, leading `#` dropped); domains are registrable domains.\n\n")
	for _, k := range []int{kHashtag, kDomain, kMention, kClient, kLanguage} {
		prefix := ""
		if k == kHashtag {
			prefix = "#"
		}
		w("- **%s:** %s\n", kindTitle(k), rankedList(r.releaseTop[k], prefix))
	}
	w("\n")

	w("## Rejected records\n\n")
	if s.rejects == 0 {
		w("No records were rejected.\n")
	} else {
		reasons := topN(s.rejectReasons, len(s.rejectReasons))
		w("%s records could not become rows; each is kept byte for byte in `rejects`.\n\n", num(s.rejects))
		w("| reason | records |\n|---|---|\n")
		for _, e := range reasons {
			w("| %s | %s |\n", code(e.value), num(e.count))
		}
	}
	w("\n")
	s.reportSensitivity(&b, r)
	s.reportProvenance(&b)
	return b.Bytes()
}

func kindTitle(k int) string {
	switch k {
	case kHashtag:
		return "Hashtags"
	case kDomain:
		return "Domains"
	case kMention:
		return "Mentions"
	case kClient:
		return "Clients"
	default:
		return "Languages"
	}
}

// reportClusters renders the largest clusters.
func (s *state) reportClusters(b *bytes.Buffer, r *results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Largest clusters\n\n")
	if len(r.clusters) == 0 {
		w("No clusters.\n\n")
		return
	}
	shown := r.clusters[:min(len(r.clusters), s.p.TopN)]
	w("%s clusters hold %s accounts. The %d largest, by accounts:\n\n",
		num(int64(len(r.clusters))), num(int64(len(s.memberOf))), len(shown))
	w("| cluster | accounts | posts | signals | first post | last post | originators / amplifiers |\n")
	w("|---|---|---|---|---|---|---|\n")
	for _, v := range shown {
		signals := strings.Join(v.signals, ", ")
		if signals == "" {
			signals = "none"
		}
		w("| %s | %s | %s | %s | %s | %s | %s / %s |\n",
			code(v.row.ClusterID), num(v.row.Size), num(v.row.Posts), signals,
			fmtOptTime(v.row.FirstAt), fmtOptTime(v.row.LastAt),
			num(v.row.Originators), num(v.row.Amplifiers))
	}
	w("\n")
	for _, v := range shown {
		c := v.c
		w("### Cluster %s\n\n", code(c.id))
		w("- **Accounts:** %s (originators %s, amplifiers %s", num(c.size), num(c.originators), num(c.amplifiers))
		if c.otherRoles > 0 {
			w(", other roles %s", num(c.otherRoles))
		}
		w(")\n")
		if c.agg.posts > 0 {
			w("- **Posts:** %s (active days %s, %s .. %s)\n",
				num(c.agg.posts), num(int64(len(c.agg.days))), fmtTime(c.agg.first), fmtTime(c.agg.last))
		} else {
			w("- **Posts:** none\n")
		}
		w("- **Tied by:** ")
		if len(v.signals) == 0 {
			w("no edge between two members\n")
		} else {
			parts := make([]string, len(v.signals))
			for i, sig := range v.signals {
				sa := c.signals[sig]
				parts[i] = fmt.Sprintf("%s (account pairs %s, shared items %s)", code(sig), num(sa.edges), num(sa.shared))
			}
			w("%s\n", strings.Join(parts, "; "))
		}
		w("- **Accounts created:** %s .. %s", fmtOptDay(v.row.CreatedFirst), fmtOptDay(v.row.CreatedLast))
		if len(v.bursts) > 0 {
			parts := make([]string, len(v.bursts))
			for i, bu := range v.bursts {
				parts[i] = fmt.Sprintf("%s .. %s (accounts %s)", fmtDay(bu.firstDay), fmtDay(bu.lastDay), num(bu.accounts))
			}
			w("; creation bursts: %s", strings.Join(parts, "; "))
		} else {
			w("; no creation burst")
		}
		w("\n")
		w("- **Hashtags:** %s\n", rankedList(v.top[kHashtag], "#"))
		w("- **Domains:** %s\n", rankedList(v.top[kDomain], ""))
		w("- **Clients:** %s\n", rankedList(v.top[kClient], ""))
		w("- **Languages:** %s\n", rankedList(v.top[kLanguage], ""))
		w("- **Top texts** (normalized, posts carrying each):")
		if len(v.texts) == 0 {
			w(" none\n")
		} else {
			w("\n")
			for i, t := range v.texts[:min(len(v.texts), reportTexts)] {
				w("  %d. %s (%s)\n", i+1, md(t.value, 160), num(t.count))
			}
		}
		w("\n```text\n%s\n```\n\n", sparkline(c.agg.days))
	}
}
