package cluster

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/pipeline/pqio"
	"github.com/takedown-research/takedown/pipeline/schema"
)

// data is the fingerprints table reduced to what the sweep needs. Accounts
// are numbered in the order of their ids, so comparing numbers compares ids.
type data struct {
	rows, skipped int64
	accounts      []string            // account ids, sorted
	posts         []string            // post ids by row number
	times         []int64             // posted_at by row number, ms
	postCount     []int32             // posts per account number
	signals       []*signalData       // in signal-name order
	shingles      map[uint32][]uint64 // sorted shingle hashes of posts with MinHash bands (near_text only)
}

// occ is one occurrence of an item: a post that carries it.
type occ struct {
	item uint64 // the text key, or the rank of a string item
	t    int64  // posted_at, ms
	acc  uint32 // account number
	post uint32 // row number
}

// signalData holds the occurrences of one signal's items.
type signalData struct {
	name    string
	numeric bool     // items are uint64 text keys, not strings
	strs    []string // string items, sorted: an item is its rank here
	occ     []occ
}

// itemKey returns the evidence item_key of an item: a text key as 16
// lower-case hex digits (so that string order is numeric order), a string
// item as itself.
func (sd *signalData) itemKey(item uint64) string {
	if sd.numeric {
		return fmt.Sprintf("%016x", item)
	}
	return sd.strs[item]
}

// fpRow is the part of schema.Fingerprint this stage reads: leaving out the
// other columns (normalized_text above all) makes reading about twice as
// fast. Its tags must match schema.Fingerprint's (a test checks).
type fpRow struct {
	PostID    string   `parquet:"post_id"`
	AccountID string   `parquet:"account_id"`
	PostedAt  int64    `parquet:"posted_at,timestamp(millisecond:utc)"`
	TextKey   *uint64  `parquet:"text_key,optional"`
	URLKeys   []string `parquet:"url_keys,list"`
	RepostKey string   `parquet:"repost_key"`
	ReplyKey  string   `parquet:"reply_key"`

	HashtagSeqKey     *uint64  `parquet:"hashtag_seq_key,optional"`
	NormalizerVersion int32    `parquet:"normalizer_version"`
	DomainKeys        []string `parquet:"domain_keys,list"`
	MinHashBands      []uint64 `parquet:"minhash_bands,list"`
}

// textRow is the normalized_text column, read in a second pass only when
// the near_text signal is on.
type textRow struct {
	NormalizedText string `parquet:"normalized_text"`
}

// load reads the fingerprints table.
func load(ctx context.Context, path string, signals []string) (*data, error) {
	d := &data{}
	accIdx := map[string]uint32{}
	var accTmp []string
	type strSignal struct {
		sd  *signalData
		idx map[string]uint32
	}
	strSigs := map[string]*strSignal{}
	bySig := map[string]*signalData{}
	for _, name := range signals {
		sd := &signalData{name: name, numeric: name == schema.SignalCoText || name == SignalCoHashtagSeq || name == SignalNearText}
		d.signals = append(d.signals, sd)
		bySig[name] = sd
		if !sd.numeric {
			strSigs[name] = &strSignal{sd: sd, idx: map[string]uint32{}}
		}
	}
	addStr := func(ss *strSignal, item string, o occ) {
		id, ok := ss.idx[item]
		if !ok {
			id = uint32(len(ss.sd.strs))
			item = strings.Clone(item)
			ss.idx[item] = id
			ss.sd.strs = append(ss.sd.strs, item)
		}
		o.item = uint64(id)
		ss.sd.occ = append(ss.sd.occ, o)
	}
	total, err := pqio.NumRows(path)
	if err != nil {
		return nil, err
	}
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("read %s: %d posts, more than %d", path, total, uint32(math.MaxUint32))
	}
	d.posts = make([]string, 0, total)
	d.times = make([]int64, 0, total)
	if sd := bySig[schema.SignalCoText]; sd != nil {
		sd.occ = make([]occ, 0, total)
	}
	var urls []string
	var bands []uint64
	var nearPost []int32 // post number per row with bands, -1 otherwise (near_text only)
	nearSD := bySig[SignalNearText]
	postAcc := make([]uint32, 0, total) // account number (first-seen) per row
	err = pqio.Each(path, func(batch []fpRow) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range batch {
			f := &batch[i]
			d.rows++
			if f.NormalizerVersion != NormalizerVersion {
				return fmt.Errorf("%s row %d: normalizer_version %d, this cluster stage expects %d: %w",
					path, d.rows, f.NormalizerVersion, NormalizerVersion, ErrNormalizerVersion)
			}
			if f.AccountID == "" || f.PostID == "" {
				d.skipped++
				if nearSD != nil {
					nearPost = append(nearPost, -1)
				}
				continue
			}
			acc, ok := accIdx[f.AccountID]
			if !ok {
				acc = uint32(len(accTmp))
				id := strings.Clone(f.AccountID)
				accIdx[id] = acc
				accTmp = append(accTmp, id)
			}
			o := occ{t: f.PostedAt, acc: acc, post: uint32(len(d.posts))}
			d.posts = append(d.posts, strings.Clone(f.PostID))
			postAcc = append(postAcc, acc)
			d.times = append(d.times, f.PostedAt)
			if sd := bySig[schema.SignalCoText]; sd != nil && f.TextKey != nil {
				o.item = *f.TextKey
				sd.occ = append(sd.occ, o)
			}
			if sd := bySig[SignalCoHashtagSeq]; sd != nil && f.HashtagSeqKey != nil {
				o.item = *f.HashtagSeqKey
				sd.occ = append(sd.occ, o)
			}
			if ss := strSigs[schema.SignalCoRepost]; ss != nil && f.RepostKey != "" {
				addStr(ss, f.RepostKey, o)
			}
			if ss := strSigs[SignalCoReply]; ss != nil && f.ReplyKey != "" {
				addStr(ss, f.ReplyKey, o)
			}
			if nearSD != nil {
				if len(f.MinHashBands) > 0 {
					nearPost = append(nearPost, int32(o.post))
					bands = append(bands[:0], f.MinHashBands...)
					slices.Sort(bands)
					for _, b := range slices.Compact(bands) {
						o.item = b
						nearSD.occ = append(nearSD.occ, o)
					}
				} else {
					nearPost = append(nearPost, -1)
				}
			}
			if ss := strSigs[SignalCoDomain]; ss != nil && len(f.DomainKeys) > 0 {
				urls = append(urls[:0], f.DomainKeys...)
				slices.Sort(urls)
				for _, u := range slices.Compact(urls) {
					if u != "" {
						addStr(ss, u, o)
					}
				}
			}
			if ss := strSigs[schema.SignalCoURL]; ss != nil && len(f.URLKeys) > 0 {
				urls = append(urls[:0], f.URLKeys...)
				slices.Sort(urls)
				for _, u := range slices.Compact(urls) {
					if u != "" {
						addStr(ss, u, o)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if nearSD != nil {
		// Second pass: the shingles of the posts that have MinHash bands,
		// for the Jaccard verification of near_text candidates.
		d.shingles = map[uint32][]uint64{}
		row := 0
		err = pqio.Each(path, func(batch []textRow) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			for i := range batch {
				if row < len(nearPost) && nearPost[row] >= 0 {
					d.shingles[uint32(nearPost[row])] = Shingles(batch[i].NormalizedText)
				}
				row++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}

	// Renumber accounts and string items by sorted order.
	d.accounts = slices.Clone(accTmp)
	slices.Sort(d.accounts)
	accRank := rankOf(accTmp, d.accounts, accIdx)
	d.postCount = make([]int32, len(d.accounts))
	for _, a := range postAcc {
		d.postCount[accRank[a]]++
	}
	for _, sd := range d.signals {
		var itemRank []uint32
		if !sd.numeric {
			ss := strSigs[sd.name]
			tmp := sd.strs
			sd.strs = slices.Clone(tmp)
			slices.Sort(sd.strs)
			itemRank = rankOf(tmp, sd.strs, ss.idx)
		}
		for i := range sd.occ {
			o := &sd.occ[i]
			o.acc = accRank[o.acc]
			if itemRank != nil {
				o.item = uint64(itemRank[o.item])
			}
		}
	}
	return d, nil
}

// rankOf maps first-seen numbers (positions in tmp, recorded in idx) to
// positions in sorted.
func rankOf(tmp, sorted []string, idx map[string]uint32) []uint32 {
	rank := make([]uint32, len(tmp))
	for r, s := range sorted {
		rank[idx[s]] = uint32(r)
	}
	return rank
}
