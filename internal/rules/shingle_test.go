package rules

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// referenceShingles is AppendShingles written plainly: strings.Fields,
// strings.Join and xxhash.
func referenceShingles(text string, size int) []uint64 {
	words := strings.Fields(text)
	if len(words) == 0 {
		return nil
	}
	if len(words) < size {
		return []uint64{xxhash.Sum64String(strings.Join(words, " "))}
	}
	var out []uint64
	for i := 0; i+size <= len(words); i++ {
		out = append(out, xxhash.Sum64String(strings.Join(words[i:i+size], " ")))
	}
	return out
}

func TestShingles(t *testing.T) {
	if got := AppendShingles(nil, "a b c d", 3); len(got) != 2 {
		t.Errorf("4 words, 3-grams: %d shingles, want 2", len(got))
	}
	if got := AppendShingles(nil, "a b c d", 5); len(got) != 1 || got[0] != xxhash.Sum64String("a b c d") {
		t.Errorf("4 words, 5-grams: %x, want the one shingle of the whole text", got)
	}
	if got := AppendShingles(nil, "", 3); len(got) != 0 {
		t.Errorf("empty text: %d shingles", len(got))
	}
	if got := AppendShingles(nil, "x y z", 3); len(got) != 1 || got[0] != xxhash.Sum64String("x y z") {
		t.Error("3 words, 3-grams: want the one shingle \"x y z\"")
	}
	// Repeats are kept, in text order.
	if got := AppendShingles(nil, "a b a b", 2); len(got) != 3 || got[0] != got[2] ||
		got[0] != xxhash.Sum64String("a b") || got[1] != xxhash.Sum64String("b a") {
		t.Errorf("a b a b, 2-grams: %x", got)
	}
	// The size changes the shingles.
	if a, b := AppendShingles(nil, "one two three four five six", 3), AppendShingles(nil, "one two three four five six", 5); len(a) != 4 || len(b) != 2 {
		t.Errorf("6 words: %d 3-grams, %d 5-grams; want 4, 2", len(a), len(b))
	}
	// dst is appended to.
	if got := AppendShingles([]uint64{7}, "a", 1); len(got) != 2 || got[0] != 7 {
		t.Errorf("append: %x", got)
	}
}

// TestShinglesReference compares AppendShingles with referenceShingles on
// normalized texts, the only texts it is defined for, at every size.
func TestShinglesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	texts := []string{
		"", " ", "one", "one two", "  one  two ", "a b c", "a b c d e f a b c",
		"tab\tand\nnewline  words here", "nbsp\u00a0and\u3000ideographic space here",
		"invalid \xff\xfe bytes stay in words", "émoji 🙂 and accents café au lait",
		"\u0085next line\u2028separator\u2029 para",
	}
	for range 2000 {
		texts = append(texts, randomText(rng))
	}
	n := NewNormalizer()
	var buf []uint64
	for _, raw := range texts {
		text, _ := n.Text(raw, false)
		for size := 1; size <= MaxShingleSize; size++ {
			buf = AppendShingles(buf[:0], text, size)
			if want := referenceShingles(text, size); !slices.Equal(buf, want) {
				t.Fatalf("AppendShingles(%q, %d) = %x, want %x", text, size, buf, want)
			}
			if b := AppendShingles(nil, []byte(text), size); !slices.Equal(b, buf) {
				t.Fatalf("AppendShingles([]byte(%q), %d) = %x, the string gives %x", text, size, b, buf)
			}
		}
	}
}

func TestShinglesAllocate(t *testing.T) {
	buf := make([]uint64, 0, 64)
	text := "the quick brown fox jumps over the lazy dog again and again"
	if n := testing.AllocsPerRun(100, func() { buf = AppendShingles(buf[:0], text, 5) }); n != 0 {
		t.Errorf("AppendShingles(string) allocates %v times with room in dst", n)
	}
	b := []byte(text)
	if n := testing.AllocsPerRun(100, func() { buf = AppendShingles(buf[:0], b, 5) }); n != 0 {
		t.Errorf("AppendShingles([]byte) allocates %v times with room in dst", n)
	}
}

func TestShingleSizeRange(t *testing.T) {
	for _, size := range []int{0, MaxShingleSize + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendShingles(size %d) did not panic", size)
				}
			}()
			AppendShingles(nil, "a b", size)
		}()
	}
}
