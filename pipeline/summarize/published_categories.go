package summarize

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// categoryCounts are the accounts and posts counted per account category
// (accounts.category), for the categories a release's published figures
// name.
type categoryCounts struct {
	accounts map[string]int64
	posts    map[string]int64
}

// accountCategory is the part of an accounts row the category counts read.
type accountCategory struct {
	AccountID string `parquet:"account_id"`
	Category  string `parquet:"category,dict"`
}

// readCategories counts, for every category that pub names, the accounts
// of the accounts table labelled with it and the posts of those accounts.
// It keeps one entry per labelled account of those categories, and reads
// the posts table's account_id column only.
func (s *state) readCategories(ctx context.Context, pub *datasets.Published) error {
	want := map[string]bool{}
	for _, c := range pub.Categories {
		want[c.Category] = true
	}
	cc := &categoryCounts{accounts: map[string]int64{}, posts: map[string]int64{}}
	catOf := map[string]string{}
	err := pqio.Each(s.in.AccountsPath, func(batch []accountCategory) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, a := range batch {
			if !want[a.Category] {
				continue
			}
			if _, seen := catOf[a.AccountID]; seen {
				continue // a repeated row does not make another account
			}
			cat := strings.Clone(a.Category)
			catOf[strings.Clone(a.AccountID)] = cat
			cc.accounts[cat]++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize accounts: %w", err)
	}
	if len(catOf) > 0 {
		err = pqio.EachBytes(s.in.PostsPath, "account_id", func(_ int64, b []byte) error {
			if cat, ok := catOf[string(b)]; ok {
				cc.posts[cat]++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("summarize posts: %w", err)
		}
	}
	s.categories = cc
	return nil
}

// compareCategories sets the figures published per account category beside
// the counted ones, in the published order: measures
// category:<name>:accounts and category:<name>:posts.
func (s *state) compareCategories(pub *datasets.Published) []schema.PublishedComparison {
	if s.categories == nil {
		return nil
	}
	var out []schema.PublishedComparison
	row := func(cat, what string, p *int64, computed int64, src string) {
		if p == nil {
			return
		}
		d := *p != computed
		var notes []string
		if d {
			notes = append(notes, fmt.Sprintf("computed %+d (%s)", computed-*p, signedPct(computed-*p, *p)))
			if what == "accounts" {
				notes = append(notes, "published as handles; counted as account ids labelled "+cat+" in accounts.category")
			}
		}
		if src = strings.TrimSpace(src); src != "" {
			notes = append(notes, "published: "+src)
		}
		out = append(out, schema.PublishedComparison{
			Measure:   "category:" + cat + ":" + what,
			Published: strconv.FormatInt(*p, 10),
			Computed:  strconv.FormatInt(computed, 10),
			Differs:   d,
			Note:      strings.Join(notes, "; "),
		})
	}
	for _, c := range pub.Categories {
		src := c.Source
		if src == "" {
			src = pub.Basis
		}
		row(c.Category, "accounts", c.Accounts, s.categories.accounts[c.Category], src)
		row(c.Category, "posts", c.Posts, s.categories.posts[c.Category], src)
	}
	return out
}
