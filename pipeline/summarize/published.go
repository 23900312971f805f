package summarize

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// notComputed is the computed value of a published figure summarize cannot
// compute from the canonical tables.
const notComputed = "not computed"

// comparePublished sets every figure of pub beside the computed value, in a
// fixed order: counts, times, sums, then the ranked lists entry by entry.
func (s *state) comparePublished(r *results, pub *datasets.Published) []schema.PublishedComparison {
	rel := &r.release
	basis := strings.TrimSpace(pub.Basis)
	var out []schema.PublishedComparison
	add := func(measure, published, computed string, differs bool, note string) {
		if basis != "" {
			if note == "" {
				note = "published: " + basis
			} else {
				note += "; published: " + basis
			}
		}
		out = append(out, schema.PublishedComparison{
			Measure: measure, Published: published, Computed: computed, Differs: differs, Note: note,
		})
	}
	count := func(measure string, p *int64, computed int64, note string) {
		if p == nil {
			return
		}
		d := *p != computed
		n := ""
		if d {
			n = fmt.Sprintf("computed %+d (%s)", computed-*p, signedPct(computed-*p, *p))
			if note != "" {
				n += "; " + note
			}
		}
		add(measure, strconv.FormatInt(*p, 10), strconv.FormatInt(computed, 10), d, n)
	}
	count("accounts_in_users_file", pub.AccountsInUsersFile, rel.AccountsInUsersFile, "")
	count("accounts_announced", pub.AccountsAnnounced, rel.Accounts,
		"announced counts often include accounts whose rows were withheld from the files")
	count("posts", pub.Posts, rel.Posts, "")
	if pub.PostsCSVBytes != nil {
		add("posts_csv_bytes", strconv.FormatInt(*pub.PostsCSVBytes, 10), notComputed, false,
			"the size of the original CSV; see the fetch stage's sources.json for the bytes actually fetched")
	}
	when := func(measure, p string, computed *int64) {
		if p == "" {
			return
		}
		c := fmtOptTime(computed)
		d := strings.TrimSpace(p) != c
		n := ""
		if d {
			n = "times compared to the minute, UTC"
		}
		add(measure, p, c, d, n)
	}
	when("first_post", pub.FirstPost, rel.FirstPostAt)
	when("last_post", pub.LastPost, rel.LastPostAt)
	count("likes_sum", pub.LikesSum, rel.LikesSum, "")
	count("reposts_sum", pub.RepostsSum, rel.RepostsSum, "")
	count("replies_sum", pub.RepliesSum, rel.RepliesSum, "")
	count("quotes_sum", pub.QuotesSum, rel.QuotesSum, "")

	ranked := func(measure string, list []string, kind int, canon func(string) string, note string) {
		for i, e := range list {
			value, n, ok := splitRanked(e)
			m := fmt.Sprintf("%s[%d] %s", measure, i+1, value)
			if !ok {
				add(m, e, notComputed, true, `published entry is not "value:count"`)
				continue
			}
			computed := s.pubCounts[pubKey(kind, canon(value))]
			d := computed != n
			why := ""
			if d {
				why = fmt.Sprintf("computed %+d", computed-n)
				if note != "" {
					why += "; " + note
				}
			}
			add(m, strconv.FormatInt(n, 10), strconv.FormatInt(computed, 10), d, why)
		}
	}
	same := func(v string) string { return v }
	ranked("top_languages", pub.TopLanguages, kLanguage, same, "")
	ranked("top_hashtags", pub.TopHashtags, kHashtag, s.rules.Hashtag,
		"summarize normalizes hashtags as the fingerprint stage keys them (case folding, NFKC), merging spellings that differ in case or width")
	ranked("top_clients", pub.TopClients, kClient, same, "")
	return append(out, s.compareCategories(pub)...)
}

// splitRanked splits "value:count" at the last colon (values may hold colons).
func splitRanked(e string) (string, int64, bool) {
	i := strings.LastIndexByte(e, ':')
	if i < 0 {
		return e, 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(e[i+1:]), 10, 64)
	if err != nil {
		return e, 0, false
	}
	return e[:i], n, true
}

// signedPct formats diff/base as a signed percentage with two decimals.
func signedPct(diff, base int64) string {
	if base == 0 {
		return "published 0"
	}
	return strconv.FormatFloat(100*float64(diff)/float64(base), 'f', 2, 64) + "%"
}

// writePublished writes published_comparison.parquet.
func (s *state) writePublished(r *results, outDir string) error {
	path := filepath.Join(outDir, schema.TablePublishedComparison+".parquet")
	if _, err := pqio.WriteFile(path, r.published); err != nil {
		return fmt.Errorf("summarize: %w", err)
	}
	return nil
}
