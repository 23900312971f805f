package synth

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/takedown-research/takedown/internal/csvfield"
)

// zipModified is the fixed modification time of every zip entry.
var zipModified = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)

// UsersHeader is the header of the users file.
var UsersHeader = []string{
	"userid", "user_display_name", "user_screen_name", "user_reported_location",
	"user_profile_description", "user_profile_url", "follower_count", "following_count",
	"account_creation_date", "account_language",
}

// TweetsHeader is the header of the tweets file, in the order of releases
// from January 2019 on (in_reply_to_userid before in_reply_to_tweetid).
var TweetsHeader = []string{
	"tweetid", "userid", "user_display_name", "user_screen_name", "user_reported_location",
	"user_profile_description", "user_profile_url", "follower_count", "following_count",
	"account_creation_date", "account_language", "tweet_language", "tweet_text", "tweet_time",
	"tweet_client_name", "in_reply_to_userid", "in_reply_to_tweetid", "quoted_tweet_tweetid",
	"is_retweet", "retweet_userid", "retweet_tweetid", "latitude", "longitude", "quote_count",
	"reply_count", "like_count", "retweet_count", "hashtags", "urls", "user_mentions",
	"poll_choices",
}

// TruthHeader is the header of the ground-truth file.
var TruthHeader = []string{"account_id", "group", "role", "behaviours"}

// rowWriter writes CSV rows with every field double-quoted and "\n" line ends.
type rowWriter struct {
	w     *bufio.Writer
	buf   []byte
	first bool
}

func (w *rowWriter) comma() {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
}

func (w *rowWriter) str(s string) {
	w.comma()
	w.buf = csvfield.AppendQuoted(w.buf, s)
}

func (w *rowWriter) bytes(s []byte) {
	w.comma()
	w.buf = csvfield.AppendQuoted(w.buf, s)
}

func (w *rowWriter) int(v int64) {
	w.comma()
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

// raw appends already quoted, comma-separated fields.
func (w *rowWriter) raw(s []byte) {
	w.comma()
	w.buf = append(w.buf, s...)
}

// list writes a Python-repr list; an empty list is "[]" or "" by style.
func (w *rowWriter) list(items []string, brackets bool) {
	w.comma()
	w.buf = append(w.buf, '"')
	if len(items) > 0 || brackets {
		w.buf = append(w.buf, '[')
		for i, it := range items {
			if i > 0 {
				w.buf = append(w.buf, ", "...)
			}
			w.buf = append(w.buf, '\'')
			w.buf = append(w.buf, it...)
			w.buf = append(w.buf, '\'')
		}
		w.buf = append(w.buf, ']')
	}
	w.buf = append(w.buf, '"')
}

// bareList writes a list without inner quotes, as the October 2018
// releases do: [a, b].
func (w *rowWriter) bareList(items []string, brackets bool) {
	w.comma()
	w.buf = append(w.buf, '"')
	if len(items) > 0 || brackets {
		w.buf = append(w.buf, '[')
		for i, it := range items {
			if i > 0 {
				w.buf = append(w.buf, ", "...)
			}
			w.buf = csvfield.AppendEscaped(w.buf, it)
		}
		w.buf = append(w.buf, ']')
	}
	w.buf = append(w.buf, '"')
}

func (w *rowWriter) end() error {
	w.buf = append(w.buf, '\n')
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	w.first = true
	return err
}

func (w *rowWriter) header(cols []string) error {
	for _, c := range cols {
		w.str(c)
	}
	return w.end()
}

// writeZip creates path as a zip holding one stored (uncompressed) entry
// named inner, filled by fill.
func writeZip(path, inner string, fill func(*rowWriter) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	fb := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(fb)
	hdr := &zip.FileHeader{Name: inner, Method: zip.Store, Modified: zipModified}
	hdr.SetMode(0o644)
	ew, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("zip entry %s: %w", inner, err)
	}
	bw := bufio.NewWriterSize(ew, 1<<20)
	rw := &rowWriter{w: bw, first: true, buf: make([]byte, 0, 4096)}
	if err := fill(rw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("close zip %s: %w", path, err)
	}
	if err := fb.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// profilePrefix appends the 10 quoted profile fields of a and its profile
// pr, comma-separated, to w (a row just begun) and returns its buffer.
func profilePrefix(w *rowWriter, a *account, pr *profile) []byte {
	w.str(a.id)
	w.str(pr.display)
	w.str(a.screen)
	w.str(pr.location)
	w.str(pr.description)
	w.str(pr.profileURL)
	w.int(a.followers)
	w.int(pr.following)
	w.str(pr.created)
	w.str(langCodes[a.lang])
	return w.buf
}

func (p *plan) writeUsers(ctx context.Context, w *rowWriter) error {
	if err := w.header(p.cfg.Variants.usersHeader()); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	for n, i := range p.acctOrder {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("write users: %w", err)
			}
		}
		a := &p.accts[i]
		if !a.inUsers {
			continue
		}
		w.raw(a.prefix)
		if err := w.end(); err != nil {
			return fmt.Errorf("write users: %w", err)
		}
	}
	return nil
}

// writeTweets writes the tweets file, or part k (1-based) of a split one:
// the k-th of Parts contiguous slices of the posts in time order. Every
// row is a function of its record alone (the renderer reseeds its random
// stream per record), so a part renders only its own posts, and a split
// release holds exactly the rows of the unsplit one. Rows are rendered in
// chunks by GOMAXPROCS workers and written in order: the bytes do not
// depend on the number of cores.
func (p *plan) writeTweets(ctx context.Context, w *rowWriter, part int) error {
	v := p.cfg.Variants
	if err := w.header(v.tweetsHeader()); err != nil {
		return fmt.Errorf("write tweets: %w", err)
	}
	lo, hi := 0, len(p.order)
	if part > 0 {
		lo, hi = len(p.order)*(part-1)/v.Parts, len(p.order)*part/v.Parts
	}
	// Truncate cuts the last record of the release in half, without its
	// line end.
	cut := -1
	if v.Truncate && (part == 0 || part == v.Parts) {
		cut = hi - 1
	}
	err := inOrderChunks(ctx, lo, hi, tweetChunk, func() func(from, to int, buf []byte) []byte {
		rd := newRenderer(p)
		rw := &rowWriter{first: true}
		var tbuf []byte
		return func(from, to int, buf []byte) []byte {
			rw.buf = buf
			for n := from; n < to; n++ {
				start := len(rw.buf)
				tbuf = p.tweetRow(rd, rw, p.order[n], tbuf)
				if n == cut {
					rw.buf = rw.buf[:start+(len(rw.buf)-start)/2]
					rw.first = true
					continue
				}
				rw.buf = append(rw.buf, '\n')
				rw.first = true
			}
			return rw.buf
		}
	}, func(b []byte) error {
		_, err := w.w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write tweets: %w", err)
	}
	return nil
}

// tweetChunk is the number of rows a worker renders at a time.
const tweetChunk = 4096

// tweetRow appends the fields of record i (without the line end) to w.buf;
// tbuf is scratch for the time, returned for reuse.
func (p *plan) tweetRow(rd *renderer, w *rowWriter, i int32, tbuf []byte) []byte {
	v := p.cfg.Variants
	rc := &p.recs[i]
	a := &p.accts[rc.acct]
	row := rd.render(i)
	w.int(rc.id)
	w.raw(a.prefix)
	w.str(row.c.lang)
	w.bytes(row.c.text)
	tbuf = time.UnixMilli(rc.ms).UTC().AppendFormat(tbuf[:0], "2006-01-02 15:04")
	w.bytes(tbuf)
	w.str(row.client)
	if v.Oct2018Order {
		w.str(row.replyTweet)
		w.str(row.replyUser)
	} else {
		w.str(row.replyUser)
		w.str(row.replyTweet)
	}
	w.str(row.quoted)
	switch {
	case row.isRetweet && v.CapitalBools:
		w.str("True")
	case row.isRetweet:
		w.str("true")
	case v.CapitalBools:
		w.str("False")
	default:
		w.str("false")
	}
	w.str(row.rtUser)
	w.str(row.rtTweet)
	w.str(row.latlon)
	w.str(row.latlon)
	for _, c := range [4]int64{row.quotes, row.replies, row.likes, row.retweets} {
		if v.FloatCounts {
			w.str(strconv.FormatInt(c, 10) + ".0")
		} else {
			w.int(c)
		}
	}
	if v.BareLists {
		w.bareList(row.c.tags, row.emptyStyle[0])
		w.bareList(row.c.urls, row.emptyStyle[1])
		w.bareList(row.c.ments, row.emptyStyle[2])
	} else {
		w.list(row.c.tags, row.emptyStyle[0])
		w.list(row.c.urls, row.emptyStyle[1])
		w.list(row.c.ments, row.emptyStyle[2])
	}
	w.str("")
	return tbuf
}

func (p *plan) writeTruth(path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriter(f)
	cw := csv.NewWriter(bw)
	if err := cw.Write(TruthHeader); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	for _, i := range p.acctOrder { // sorted by account id

		a := &p.accts[i]
		group, behaviours := "", ""
		if a.squad >= 0 {
			s := &p.squads[a.squad]
			group = s.name
			names := make([]string, len(s.behaviours))
			for k, b := range s.behaviours {
				names[k] = behaviourNames[b]
			}
			behaviours = strings.Join(names, ";")
		}
		if err := cw.Write([]string{a.id, group, roleNames[a.role], behaviours}); err != nil {
			return fmt.Errorf("write truth: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}
