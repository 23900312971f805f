package normalize

import (
	"slices"
	"strconv"
	"strings"
)

// postIndex maps post ids to their accounts, for joining media files to
// posts. It is built only for a dataset with media archives. Tweet ids in
// canonical decimal form are kept as (uint64, account number) pairs, 12
// bytes a post, sorted once all posts are in; other ids go to a map.
type postIndex struct {
	num    []numPost
	other  map[string]int32
	accts  []string
	acctNo map[string]int32
	sorted bool
}

type numPost struct {
	id   uint64
	acct int32
}

func newPostIndex() *postIndex {
	return &postIndex{other: map[string]int32{}, acctNo: map[string]int32{}}
}

// canonicalID parses a decimal id without sign or leading zeros.
func canonicalID(s string) (uint64, bool) {
	if s == "" || len(s) > maxTweetIDDigits || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// add records a post; the first post with an id wins.
func (x *postIndex) add(postID, accountID string) {
	a, ok := x.acctNo[accountID]
	if !ok {
		a = int32(len(x.accts))
		accountID = strings.Clone(accountID)
		x.accts = append(x.accts, accountID)
		x.acctNo[accountID] = a
	}
	if v, ok := canonicalID(postID); ok {
		x.num = append(x.num, numPost{id: v, acct: a})
		x.sorted = false
		return
	}
	if _, dup := x.other[postID]; !dup {
		x.other[strings.Clone(postID)] = a
	}
}

// lookup returns the account of the post with that id.
func (x *postIndex) lookup(postID string) (string, bool) {
	if v, ok := canonicalID(postID); ok {
		if !x.sorted {
			slices.SortStableFunc(x.num, func(a, b numPost) int {
				switch {
				case a.id < b.id:
					return -1
				case a.id > b.id:
					return 1
				}
				return 0
			})
			x.sorted = true
		}
		i, found := slices.BinarySearchFunc(x.num, v, func(p numPost, t uint64) int {
			switch {
			case p.id < t:
				return -1
			case p.id > t:
				return 1
			}
			return 0
		})
		if !found {
			return "", false
		}
		return x.accts[x.num[i].acct], true
	}
	a, ok := x.other[postID]
	if !ok {
		return "", false
	}
	return x.accts[a], true
}
