package summarize

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"os"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

// state holds everything the passes accumulate.
type state struct {
	p     Params
	in    Input             // the dataset and run names, for the reports
	meter progress.Meter    // rows read of the input tables
	rules *rules.Normalizer // the hashtag rule of the fingerprint stage's keys

	ids map[string]uint32 // account ids seen in posts and fingerprints, interned
	// counts holds what grows with the posts, spilled to disk above
	// spillBudget (scopes.go); kb is its key buffer. pubCounts are the
	// release's counts of the published top entities.
	counts    *spillCounter
	kb        []byte
	pubCounts map[string]int64
	clusters  []*clusterAgg // sorted by cluster id
	memberOf  map[string][]*clusterAgg
	images    map[string][]sharedImage // by cluster id (clusterImages)
	rel       *scopeAgg

	accounts    int64
	inUsersFile int64
	hashed      int64
	createdMs   []int64
	followers   []int64

	reposts, replies  int64
	likesSum          int64
	repostsSum        int64
	repliesSum        int64
	quotesSum         int64
	accountsWithPosts int64
	postRows          int64
	repostFlags       *bitFile // bit i set when posts row i is a repost
	postOrder         []byte   // sha256 of the sequence of post ids

	fingerprints int64
	copyPosts    int64
	fpJoin       string

	edges int64

	// networks are the clusters drawn in report.html; netOf maps a drawn
	// account to its nodes.
	networks []*network
	netOf    map[string][]netRef

	rejects       int64
	rejectReasons map[string]int64

	// categories are the per-category counts compared with published
	// figures (published_categories.go); coord is the coordination share
	// (coordination.go).
	categories *categoryCounts
	coord      *schema.CoordinationShare
}

func newState(p Params) *state {
	return &state{
		p:             p,
		meter:         progress.Or(nil),
		rules:         rules.NewNormalizer(),
		ids:           map[string]uint32{},
		memberOf:      map[string][]*clusterAgg{},
		rel:           newScopeAgg(0),
		counts:        newSpillCounter(os.TempDir(), sumCombine),
		rejectReasons: map[string]int64{},
	}
}

func (s *state) intern(id string) uint32 {
	if i, ok := s.ids[id]; ok {
		return i
	}
	i := uint32(len(s.ids))
	s.ids[strings.Clone(id)] = i
	return i
}

// readClusters loads the cluster memberships (one row per account and
// cluster; accounts in clusters are few).
func (s *state) readClusters(ctx context.Context, path string) error {
	byID := map[string]*clusterAgg{}
	err := pqio.Each(path, func(batch []schema.ClusterMember) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for _, m := range batch {
			c := byID[m.ClusterID]
			if c == nil {
				c = &clusterAgg{
					id:      strings.Clone(m.ClusterID),
					signals: map[string]*signalAgg{},
					agg:     newScopeAgg(0),
				}
				byID[c.id] = c
			}
			if slices.Contains(s.memberOf[m.AccountID], c) {
				continue // a repeated row does not make a bigger cluster
			}
			id := strings.Clone(m.AccountID)
			s.memberOf[id] = append(s.memberOf[id], c)
			c.members = append(c.members, member{id: id, role: strings.ToLower(m.Role), degree: m.Degree})
			c.size++
			switch strings.ToLower(m.Role) {
			case RoleOriginator:
				c.originators++
			case RoleAmplifier:
				c.amplifiers++
			default:
				c.otherRoles++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize clusters: %w", err)
	}
	for _, c := range byID {
		s.clusters = append(s.clusters, c)
	}
	slices.SortFunc(s.clusters, func(a, b *clusterAgg) int { return strings.Compare(a.id, b.id) })
	for i, c := range s.clusters {
		c.agg.num = uint32(i + 1)
	}
	s.pickNetworks()
	return nil
}

// readEdges counts, per cluster, the edges whose two ends are both members,
// by signal.
func (s *state) readEdges(ctx context.Context, path string) error {
	err := pqio.Each(path, func(batch []schema.Edge) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for _, e := range batch {
			s.edges++
			s.addNetEdge(e.AccountA, e.AccountB, e.Signal)
			ca := s.memberOf[e.AccountA]
			if len(ca) == 0 {
				continue
			}
			cb := s.memberOf[e.AccountB]
			for _, c := range ca {
				if !slices.Contains(cb, c) {
					continue
				}
				c.edges++
				sa := c.signals[e.Signal]
				if sa == nil {
					sa = &signalAgg{}
					c.signals[strings.Clone(e.Signal)] = sa
				}
				sa.edges++
				sa.shared += e.SharedItems
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize edges: %w", err)
	}
	return nil
}

// readAccounts counts accounts and keeps their creation times and follower
// snapshots.
func (s *state) readAccounts(ctx context.Context, path string) error {
	err := pqio.Each(path, func(batch []schema.Account) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for _, a := range batch {
			s.accounts++
			if a.InUsersFile {
				s.inUsersFile++
			}
			if a.IDHashed {
				s.hashed++
			}
			if a.Followers != nil {
				s.followers = append(s.followers, *a.Followers)
			}
			if a.CreatedAt == nil {
				continue
			}
			s.createdMs = append(s.createdMs, *a.CreatedAt)
			for _, c := range s.memberOf[a.AccountID] {
				c.createdMs = append(c.createdMs, *a.CreatedAt)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize accounts: %w", err)
	}
	return nil
}

// writeID feeds one post id into an order digest, length-prefixed so that
// the sequence, not just the concatenation, is hashed.
func writeID(h hash.Hash, id string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(id)))
	h.Write(n[:])
	h.Write([]byte(id))
}

// readPosts streams posts into the release and cluster aggregates.
func (s *state) readPosts(ctx context.Context, path string) error {
	var err error
	if s.repostFlags, err = newBitFile(s.counts.dir); err != nil {
		return err
	}
	order := sha256.New()
	var v postView
	err = pqio.Each(path, func(batch []schema.Post) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for i := range batch {
			p := &batch[i]
			writeID(order, p.PostID)
			s.postRows++
			if err := s.repostFlags.add(isRepost(p)); err != nil {
				return err
			}
			if isRepost(p) {
				s.reposts++
			}
			if p.ReplyToPostID != nil || p.ReplyToAccountID != nil {
				s.replies++
			}
			s.likesSum += deref(p.Likes)
			s.repostsSum += deref(p.Reposts)
			s.repliesSum += deref(p.Replies)
			s.quotesSum += deref(p.Quotes)

			v.at = p.PostedAt
			v.day = dayOf(p.PostedAt)
			v.acct = s.intern(p.AccountID)
			for k := range v.values {
				v.values[k] = v.values[k][:0]
			}
			v.values[kClient] = appendUnique(v.values[kClient], strings.TrimSpace(p.Client))
			v.values[kLanguage] = appendUnique(v.values[kLanguage], strings.TrimSpace(p.Language))
			for _, h := range p.Hashtags {
				v.values[kHashtag] = appendUnique(v.values[kHashtag], s.rules.Hashtag(h))
			}
			for _, m := range p.Mentions {
				v.values[kMention] = appendUnique(v.values[kMention], canonMention(m))
			}
			for _, u := range p.URLs {
				v.values[kDomain] = appendUnique(v.values[kDomain], rules.Domain(u))
			}
			if err := s.addPost(s.rel, &v); err != nil {
				return err
			}
			for _, c := range s.memberOf[p.AccountID] {
				if err := s.addPost(c.agg, &v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = s.repostFlags.finish()
	}
	if err != nil {
		return fmt.Errorf("summarize posts: %w", err)
	}
	s.accountsWithPosts = int64(len(s.ids))
	s.postOrder = order.Sum(nil)
	return nil
}

// isRepost reports whether a post is a repost: flagged as one, or naming
// the post it reposts (the rule the fingerprint stage uses too).
func isRepost(p *schema.Post) bool { return p.IsRepost || p.RepostOfPostID != nil }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// The copy-share count keeps per distinct text key (in a spillCounter) the
// account that posted it (multiAccounts once a second account did) and how
// many non-repost posts carry it, as account<<32 | posts.
const multiAccounts = ^uint32(0)

func ownerValue(acct, n uint32) int64 { return int64(uint64(acct)<<32 | uint64(n)) }

func ownerCombine(a, b int64) int64 {
	acct := uint32(uint64(a) >> 32)
	if uint32(uint64(b)>>32) != acct {
		acct = multiAccounts
	}
	return ownerValue(acct, uint32(a)+uint32(b))
}

// fpResult is what one pass over fingerprints produces.
type fpResult struct {
	rows      int64
	copyPosts int64
	order     []byte
}

// readFingerprints computes the copy-share numerator and the clusters' text
// counts. A fingerprint needs its post's repost flag, which only posts carry:
// when fingerprints list the same post ids in the same order as posts (the
// fingerprint stage writes one row per post, in order), the flag is looked up
// by row number; otherwise the pass is redone with a post-id lookup.
func (s *state) readFingerprints(ctx context.Context, path, postsPath string) error {
	flags, err := s.repostFlags.reader()
	if err != nil {
		return err
	}
	res, err := s.fingerprintPass(ctx, path, true, func(row int64, _ string) bool { return flags.get(row) })
	if cerr := flags.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.fpJoin = JoinRowOrder
	if res.rows != s.postRows || !bytes.Equal(res.order, s.postOrder) {
		keys, err := s.repostKeys(ctx, postsPath)
		if err != nil {
			return err
		}
		res, err = s.fingerprintPass(ctx, path, false, func(_ int64, id string) bool {
			_, found := slices.BinarySearch(keys, fnv64(id))
			return found
		})
		if err != nil {
			return err
		}
		s.fpJoin = JoinPostID
	}
	s.fingerprints = res.rows
	s.copyPosts = res.copyPosts
	return s.finishScopes()
}

// fingerprintPass streams fingerprints once; reposted reports whether the
// post of fingerprint row `row` with id `postID` is a repost. With texts,
// it counts the clusters' texts too.
func (s *state) fingerprintPass(ctx context.Context, path string, texts bool, reposted func(row int64, postID string) bool) (fpResult, error) {
	var res fpResult
	owners := newSpillCounter(s.counts.dir, ownerCombine)
	defer owners.cleanup()
	var key [8]byte
	order := sha256.New()
	err := pqio.Each(path, func(batch []schema.Fingerprint) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for i := range batch {
			f := &batch[i]
			writeID(order, f.PostID)
			row := res.rows
			res.rows++
			if texts && f.NormalizedText != "" {
				for _, c := range s.memberOf[f.AccountID] {
					if err := s.addText(c.agg, f.NormalizedText); err != nil {
						return err
					}
				}
			}
			if f.TextKey == nil || reposted(row, f.PostID) {
				continue
			}
			binary.BigEndian.PutUint64(key[:], *f.TextKey)
			if err := owners.add(key[:], ownerValue(s.intern(f.AccountID), 1)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = owners.each(func(_ []byte, v int64) error {
			if uint32(uint64(v)>>32) == multiAccounts {
				res.copyPosts += int64(uint32(v))
			}
			return nil
		})
	}
	if err != nil {
		return fpResult{}, fmt.Errorf("summarize fingerprints: %w", err)
	}
	res.order = order.Sum(nil)
	return res, nil
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// repostKeys re-reads posts and returns the sorted FNV-1a hashes of the ids
// of reposts.
func (s *state) repostKeys(ctx context.Context, path string) ([]uint64, error) {
	keys := make([]uint64, 0, s.reposts)
	err := pqio.Each(path, func(batch []schema.Post) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range batch {
			if isRepost(&batch[i]) {
				keys = append(keys, fnv64(batch[i].PostID))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("summarize posts: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}

// readRejects counts rejected records by reason code.
func (s *state) readRejects(ctx context.Context, path string) error {
	err := pqio.Each(path, func(batch []schema.Reject) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.meter.Add(int64(len(batch)))
		for i := range batch {
			s.rejects++
			inc(s.rejectReasons, batch[i].Reason, 1)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("summarize rejects: %w", err)
	}
	return nil
}
