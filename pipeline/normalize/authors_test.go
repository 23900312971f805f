package normalize

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/internal/schema"
)

func i64(v int64) *int64 { return &v }

// TestAuthorRecordRoundTrip: an account encoded as a compact record decodes
// to the same account, whatever its fields hold.
func TestAuthorRecordRoundTrip(t *testing.T) {
	for _, a := range []schema.Account{
		{},
		{Dataset: "d", AccountID: "u1", SourceFile: "f.csv", SourceLine: 2},
		{Dataset: "d", AccountID: strings.Repeat("ab", 40), IDHashed: true, InUsersFile: true,
			ScreenName: "s", DisplayName: "Dé ñ 🙂", Description: strings.Repeat("x", 70000), Location: "l",
			ProfileURL: "https://x", Followers: i64(0), Following: i64(math.MaxInt64), CreatedAt: i64(-1),
			Language: "en", Category: "c", AccountType: "t", SourceFile: "z.zip!a.csv", SourceLine: math.MaxInt64},
		{Dataset: "e", AccountID: "", Following: i64(math.MinInt64), SourceLine: -5},
		{Dataset: "d", AccountID: "x\x00y", CreatedAt: i64(1500000000000)},
	} {
		s := newAuthorStore()
		got, err := s.decodeAuthor(s.encodeAuthor(nil, &a))
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Errorf("round trip of %+v: got %+v, %v", a, got, err)
		}
	}
}

// TestAuthorRecordCorrupt: a cut or padded record is an error, not a wrong
// account.
func TestAuthorRecordCorrupt(t *testing.T) {
	s := newAuthorStore()
	a := schema.Account{Dataset: "d", AccountID: "u1", ScreenName: "name", Followers: i64(300), SourceFile: "f"}
	rec := s.encodeAuthor(nil, &a)
	for i := range len(rec) {
		if _, err := s.decodeAuthor(rec[:i]); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded", i, len(rec))
		}
	}
	if _, err := s.decodeAuthor(append(slices.Clone(rec), 0)); err == nil {
		t.Error("record with a trailing byte decoded")
	}
}

// TestAuthorStoreSpill: authors added in random order come back once each,
// sorted by id, and the same whether all fit in memory or are spilled in
// chunks bounded by count or by bytes.
func TestAuthorStoreSpill(t *testing.T) {
	defer func(n, b int) { authorChunk, authorChunkBytes = n, b }(authorChunk, authorChunkBytes)
	rng := rand.New(rand.NewPCG(3, 4))
	var in []schema.Account
	for _, i := range rng.Perm(2000) {
		a := schema.Account{Dataset: "d", AccountID: "u" + strconv.Itoa(i), ScreenName: strings.Repeat("n", i%50),
			SourceFile: "part" + strconv.Itoa(i%3), SourceLine: int64(i + 2)}
		if i%5 == 0 {
			a.Followers = i64(int64(i))
		}
		in = append(in, a)
	}
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b schema.Account) int { return strings.Compare(a.AccountID, b.AccountID) })
	for _, c := range []struct {
		count, bytes int
		chunks       bool
	}{{1 << 18, 8 << 20, false}, {7, 8 << 20, true}, {1 << 18, 300, true}, {1, 1, true}} {
		authorChunk, authorChunkBytes = c.count, c.bytes
		s := newAuthorStore()
		s.dir = t.TempDir()
		for i := range in {
			if err := s.add(&in[i]); err != nil {
				t.Fatal(err)
			}
			if !s.has(in[i].AccountID) {
				t.Fatalf("%s not seen after add", in[i].AccountID)
			}
		}
		if (len(s.chunks) > 0) != c.chunks {
			t.Errorf("count %d, bytes %d: %d chunks spilled", c.count, c.bytes, len(s.chunks))
		}
		var got []schema.Account
		if err := s.each(func(a *schema.Account) error { got = append(got, *a); return nil }); err != nil {
			t.Fatal(err)
		}
		s.cleanup()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("count %d, bytes %d: %d accounts back, not the %d added in id order", c.count, c.bytes, len(got), len(want))
		}
	}
}

// TestMemoryLimit: the soft heap limit stays at memoryTarget while the
// accounts take up to accountBudget, then rises by twice the excess, and
// leaves the collector at least 48 MiB beyond a live heap of the fixed
// part (100 MiB) and any accounts' part up to 2 GiB; the store reports its
// ids' memory as they come.
func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct{ acct, want int64 }{
		{0, memoryTarget}, {accountBudget, memoryTarget}, {accountBudget + 1, memoryTarget + 2},
		{accountBudget + 100<<20, memoryTarget + 200<<20},
	} {
		if got := memoryLimit(c.acct); got != c.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", c.acct, got, c.want)
		}
	}
	const fixed, room = 100 << 20, 48 << 20
	for acct := int64(0); acct <= 2<<30; acct += 1 << 20 {
		if free := memoryLimit(acct) - fixed - acct; free < room {
			t.Fatalf("accounts of %d MiB: the limit leaves %d MiB beyond the live heap, want %d or more", acct>>20, free>>20, room>>20)
		}
	}
	s := newAuthorStore()
	var calls []int64
	s.grown = func(m int64) { calls = append(calls, m) }
	for i := range 2*growEvery + 5 {
		s.markUsers(strconv.Itoa(100000 + i)) // 6 bytes each
		s.markUsers(strconv.Itoa(100000 + i)) // seen: not counted again
	}
	per := int64(6 + accountBytes)
	if want := []int64{growEvery * per, 2 * growEvery * per}; !reflect.DeepEqual(calls, want) {
		t.Errorf("grown called with %v, want %v", calls, want)
	}
}
