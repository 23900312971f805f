package normalize

import (
	"fmt"
	"slices"
	"strings"

	"github.com/takedown-research/takedown/internal/kmerge"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// authorChunk is how many accounts first seen as post authors are kept in
// memory before they are sorted by id and spilled to a Parquet file, so
// that the stage holds one set entry per account, not a whole row.
var authorChunk = 1 << 16

// authorStore keeps the ids of the accounts seen, one map entry each (ids
// from users files, ids of post authors), and the accounts first seen as
// post authors, as their first post described them, in sorted chunks
// spilled under dir; finish reads them back merged by id.
type authorStore struct {
	dir    string
	seen   map[string]int32 // index in flags
	flags  []uint8          // idInUsers | idAuthor
	buf    []schema.Account
	spill  kmerge.Dir
	chunks []string
}

// Flags of authorStore.seen.
const (
	idInUsers = 1 << iota
	idAuthor
)

func newAuthorStore() *authorStore { return &authorStore{seen: map[string]int32{}} }

func (s *authorStore) flagged(id string, f uint8) bool {
	i, ok := s.seen[id]
	return ok && s.flags[i]&f != 0
}

// has reports whether an author id was seen.
func (s *authorStore) has(id string) bool { return s.flagged(id, idAuthor) }

// inUsers reports whether an id was seen in a users file.
func (s *authorStore) inUsers(id string) bool { return s.flagged(id, idInUsers) }

// markUsers records an id seen in a users file.
func (s *authorStore) markUsers(id string) { s.mark(id, idInUsers) }

func (s *authorStore) mark(id string, f uint8) {
	// The map is only written for a new id: assigning an existing key
	// would store the (possibly shared) string given.
	if i, ok := s.seen[id]; ok {
		s.flags[i] |= f
		return
	}
	s.seen[strings.Clone(id)] = int32(len(s.flags))
	s.flags = append(s.flags, f)
}

// add keeps a (new) author's row.
func (s *authorStore) add(a schema.Account) error {
	s.mark(a.AccountID, idAuthor)
	s.buf = append(s.buf, a)
	if len(s.buf) >= authorChunk {
		return s.flush()
	}
	return nil
}

func accountCmp(a, b schema.Account) int { return strings.Compare(a.AccountID, b.AccountID) }

func (s *authorStore) flush() error {
	slices.SortFunc(s.buf, accountCmp)
	path, err := s.spill.Next(s.dir, "authors", "chunk-%06d.parquet")
	if err != nil {
		return err
	}
	if _, err := pqio.WriteFile(path, s.buf); err != nil {
		return fmt.Errorf("spill authors: %w", err)
	}
	s.chunks = append(s.chunks, path)
	clear(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// each calls fn for every author in id order.
func (s *authorStore) each(fn func(a *schema.Account) error) error {
	if len(s.chunks) == 0 {
		slices.SortFunc(s.buf, accountCmp)
		for i := range s.buf {
			if err := fn(&s.buf[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if len(s.buf) > 0 {
		if err := s.flush(); err != nil {
			return err
		}
	}
	done := make(chan struct{})
	defer close(done)
	cs := make([]*chunkReader, len(s.chunks))
	for i, p := range s.chunks {
		cs[i] = &chunkReader{rows: make(chan []schema.Account, 1), errc: make(chan error, 1)}
		go cs[i].read(p, done)
	}
	return kmerge.Merge(cs, (*chunkReader).next, func(a, b *chunkReader) bool {
		return a.batch[a.i].AccountID < b.batch[b.i].AccountID
	}, func(c *chunkReader) error { return fn(&c.batch[c.i]) })
}

func (s *authorStore) cleanup() {
	s.spill.Remove()
}

// chunkReader reads one spilled chunk in a goroutine, a batch at a time.
type chunkReader struct {
	rows  chan []schema.Account
	errc  chan error
	batch []schema.Account
	i     int
}

func (c *chunkReader) read(path string, done <-chan struct{}) {
	err := pqio.Each(path, func(batch []schema.Account) error {
		out := make([]schema.Account, len(batch))
		for i, a := range batch {
			out[i] = cloneAccount(a)
		}
		select {
		case c.rows <- out:
			return nil
		case <-done:
			return errStop
		}
	})
	if err == errStop {
		err = nil
	}
	c.errc <- err
	close(c.rows)
}

var errStop = fmt.Errorf("stopped")

// next moves to the next row; false at the end.
func (c *chunkReader) next() (bool, error) {
	c.i++
	if c.i < len(c.batch) {
		return true, nil
	}
	for {
		b, ok := <-c.rows
		if !ok {
			if err := <-c.errc; err != nil {
				return false, fmt.Errorf("read spilled authors: %w", err)
			}
			return false, nil
		}
		if len(b) > 0 {
			c.batch, c.i = b, 0
			return true, nil
		}
	}
}

// cloneAccount copies an account's strings and pointers, which the
// Parquet reader may share with its reused batch.
func cloneAccount(a schema.Account) schema.Account {
	a.Dataset, a.AccountID = strings.Clone(a.Dataset), strings.Clone(a.AccountID)
	a.ScreenName, a.DisplayName = strings.Clone(a.ScreenName), strings.Clone(a.DisplayName)
	a.Description, a.Location = strings.Clone(a.Description), strings.Clone(a.Location)
	a.ProfileURL, a.Language = strings.Clone(a.ProfileURL), strings.Clone(a.Language)
	a.Category, a.AccountType = strings.Clone(a.Category), strings.Clone(a.AccountType)
	a.SourceFile = strings.Clone(a.SourceFile)
	for _, p := range []**int64{&a.Followers, &a.Following, &a.CreatedAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return a
}
