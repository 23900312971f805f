// Package fingerprint is the stage that turns every post into content keys:
// a hash of its normalized text, canonical URLs and their registrable
// domains, hashtag set and sequence hashes, and the ids of the post it
// reposts or replies to. The cluster stage pairs accounts that share keys.
package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"

	"github.com/takedown-research/takedown/pipeline/pqio"
	"github.com/takedown-research/takedown/pipeline/schema"
)

// Name is the stage name.
const Name = "fingerprint"

// Version is bumped when the stage's output semantics change.
const Version = 2

// NormalizerVersion is the version of the text normalizer and of the URL
// canonicalizer. Changing either changes keys, so it is a parameter (it
// enters the run id) and is recorded in Stats.
const NormalizerVersion = 1

// Params are the stage's parameters.
type Params struct {
	// MinTextRunes is the minimum length, in runes, of a normalized text
	// that gets a text key; shorter texts get a null text_key.
	MinTextRunes int `json:"min_text_runes"`
	// NormalizerVersion must equal the package's NormalizerVersion.
	NormalizerVersion int `json:"normalizer_version"`
	// MinHashtagSeq is the number of hashtags a post needs for a
	// hashtag_seq_key (the ordered list); shorter lists get none.
	MinHashtagSeq int `json:"min_hashtag_seq"`
}

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{MinTextRunes: 12, NormalizerVersion: NormalizerVersion, MinHashtagSeq: 3}
}

// Validate reports a usage error naming the flag.
func (p Params) Validate() error {
	if p.MinTextRunes < 1 {
		return fmt.Errorf("--min-text-runes must be >= 1, got %d", p.MinTextRunes)
	}
	if p.MinHashtagSeq < 2 {
		return fmt.Errorf("--min-hashtag-seq must be >= 2, got %d", p.MinHashtagSeq)
	}
	if p.NormalizerVersion != NormalizerVersion {
		return fmt.Errorf("normalizer_version must be %d (the only one this build has), got %d",
			NormalizerVersion, p.NormalizerVersion)
	}
	return nil
}

// Input names the upstream file this stage reads.
type Input struct {
	// PostsPath is the absolute path of the posts table.
	PostsPath string
}

// Stats are deterministic counts about one run.
type Stats struct {
	Posts             int64 `json:"posts"`
	WithTextKey       int64 `json:"with_text_key"`
	ShortText         int64 `json:"short_text"`
	WithURL           int64 `json:"with_url"`
	URLKeys           int64 `json:"url_keys"`
	URLsRejected      int64 `json:"urls_rejected"`
	TextURLs          int64 `json:"text_urls"`
	WithHashtags      int64 `json:"with_hashtags"`
	WithHashtagSeq    int64 `json:"with_hashtag_seq"`
	Reposts           int64 `json:"reposts"`
	RepostsWithoutID  int64 `json:"reposts_without_id"`
	Replies           int64 `json:"replies"`
	MinTextRunes      int   `json:"min_text_runes"`
	NormalizerVersion int   `json:"normalizer_version"`
}

func (s *Stats) add(o Stats) {
	s.Posts += o.Posts
	s.WithTextKey += o.WithTextKey
	s.ShortText += o.ShortText
	s.WithURL += o.WithURL
	s.URLKeys += o.URLKeys
	s.URLsRejected += o.URLsRejected
	s.TextURLs += o.TextURLs
	s.WithHashtags += o.WithHashtags
	s.WithHashtagSeq += o.WithHashtagSeq
	s.Reposts += o.Reposts
	s.RepostsWithoutID += o.RepostsWithoutID
	s.Replies += o.Replies
}

// Run reads the posts table and writes outDir/fingerprints.parquet, one row
// per post in input order.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	outPath := filepath.Join(outDir, schema.TableFingerprints+".parquet")
	w, err := pqio.Create[schema.Fingerprint](outPath)
	if err != nil {
		return Stats{}, err
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	norms := make([]*normalizer, workers)
	for i := range norms {
		norms[i] = newNormalizer()
	}
	st := Stats{MinTextRunes: p.MinTextRunes, NormalizerVersion: p.NormalizerVersion}
	var out []schema.Fingerprint
	err = pqio.Each(in.PostsPath, func(batch []schema.Post) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = slices.Grow(out[:0], len(batch))[:len(batch)]
		parts := make([]Stats, workers)
		chunk := (len(batch) + workers - 1) / workers
		var wg sync.WaitGroup
		for wi := range workers {
			lo, hi := wi*chunk, min((wi+1)*chunk, len(batch))
			if lo >= hi {
				break
			}
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					out[i] = norms[wi].fingerprint(&batch[i], p, &parts[wi])
				}
			})
		}
		wg.Wait()
		for _, s := range parts {
			st.add(s)
		}
		return w.Write(out...)
	})
	if err != nil {
		w.Abort()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return Stats{}, err
		}
		return Stats{}, fmt.Errorf("fingerprint posts: %w", err)
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	log.Info("fingerprinted posts", "posts", st.Posts, "with_text_key", st.WithTextKey,
		"with_url", st.WithURL, "reposts", st.Reposts, "normalizer_version", st.NormalizerVersion)
	return st, nil
}

// fingerprint computes the keys of one post.
func (n *normalizer) fingerprint(post *schema.Post, p Params, st *Stats) schema.Fingerprint {
	st.Posts++
	fp := schema.Fingerprint{
		PostID:    post.PostID,
		AccountID: post.AccountID,
		PostedAt:  post.PostedAt,
		RepostKey: post.RepostOfPostID,
		ReplyKey:  post.ReplyToPostID,

		NormalizerVersion: int32(p.NormalizerVersion),
	}
	repost := post.IsRepost || post.RepostOfPostID != ""
	if repost {
		st.Reposts++
		if post.RepostOfPostID == "" {
			st.RepostsWithoutID++
		}
	}
	if fp.ReplyKey != "" {
		st.Replies++
	}

	text, textURLs := n.normalize(post.Text, true)
	fp.NormalizedText = text
	if !repost {
		if utf8.RuneCountInString(text) >= p.MinTextRunes {
			k := xxhash.Sum64String(text)
			fp.TextKey = &k
			st.WithTextKey++
		} else {
			st.ShortText++
		}
	}

	var urls []string
	for _, raw := range post.URLs {
		if c, ok := CanonicalURL(raw); ok {
			urls = append(urls, c)
		} else if strings.TrimSpace(raw) != "" {
			st.URLsRejected++
		}
	}
	for _, raw := range textURLs {
		c, ok := CanonicalURL(raw)
		if !ok || urlHost(c) == "t.co" {
			continue
		}
		st.TextURLs++
		urls = append(urls, c)
	}
	if len(urls) > 0 {
		slices.Sort(urls)
		urls = slices.Compact(urls)
		fp.URLKeys = urls
		domains := make([]string, len(urls))
		for i, u := range urls {
			domains[i] = RegistrableDomain(u)
		}
		slices.Sort(domains)
		fp.DomainKeys = slices.Compact(domains)
		st.WithURL++
		st.URLKeys += int64(len(urls))
	}

	var tags []string
	for _, h := range post.Hashtags {
		if t := n.normalizeHashtag(h); t != "" {
			tags = append(tags, t)
		}
	}
	if len(tags) >= p.MinHashtagSeq {
		k := xxhash.Sum64String(strings.Join(tags, "\n"))
		fp.HashtagSeqKey = &k
		st.WithHashtagSeq++
	}
	if len(tags) > 0 {
		set := slices.Clone(tags)
		slices.Sort(set)
		set = slices.Compact(set)
		k := xxhash.Sum64String(strings.Join(set, "\n"))
		fp.HashtagSetKey = &k
		st.WithHashtags++
	}
	return fp
}
