package synth

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/klauspost/pgzip"
)

// Variants select the quirks of the published releases the generator
// reproduces, so that every quirk the normalize stage handles is covered
// offline. The zero value is the default layout (January 2019 and later,
// zipped, base64 hashes, Python-repr lists, true/false, integer counts),
// whose bytes do not change when variants are added.
type Variants struct {
	// Oct2018Order writes in_reply_to_tweetid before in_reply_to_userid,
	// as the October 2018 releases do.
	Oct2018Order bool `json:"oct2018_order,omitempty"`
	// HexIDs hashes small accounts' ids as 64 lowercase hex characters (the
	// October 2018 family) instead of base64.
	HexIDs bool `json:"hex_ids,omitempty"`
	// BareLists writes lists without inner quotes: [a, b] (October 2018).
	BareLists bool `json:"bare_lists,omitempty"`
	// CapitalBools writes is_retweet as True/False.
	CapitalBools bool `json:"capital_bools,omitempty"`
	// FloatCounts writes the tweet counts as floats: 0.0, 12.0.
	FloatCounts bool `json:"float_counts,omitempty"`
	// CamelUsers writes the users header in camelCase (userDisplayName...).
	CamelUsers bool `json:"camel_users,omitempty"`
	// Parts splits the tweets into this many files named _1.._n (0 or 1:
	// one file).
	Parts int `json:"parts,omitempty"`
	// Container is "zip" (default, ""), "csv" (plain) or "gz" (the
	// unhashed .csv.gz form).
	Container string `json:"container,omitempty"`
	// Truncate cuts the last tweets record in half, as a file cut with head.
	Truncate bool `json:"truncate,omitempty"`
}

// Containers accepted by Variants.Container.
const (
	ContainerZip  = "zip"
	ContainerCSV  = "csv"
	ContainerGzip = "gz"
)

// validate reports the first invalid variant.
func (v Variants) validate() error {
	switch v.Container {
	case "", ContainerZip, ContainerCSV, ContainerGzip:
	default:
		return fmt.Errorf("variants.container must be zip, csv or gz, got %q", v.Container)
	}
	if v.Parts < 0 || v.Parts > 100 {
		return fmt.Errorf("variants.parts must be between 0 and 100, got %d", v.Parts)
	}
	return nil
}

// container returns the effective container.
func (v Variants) container() string {
	if v.Container == "" {
		return ContainerZip
	}
	return v.Container
}

// fileName returns the name of a data file: base is
// "<campaign>_tweets_csv_hashed" (or _users_), part is 0 for an unsplit
// file.
func (v Variants) fileName(base string, part int) string {
	if part > 0 {
		base += "_" + strconv.Itoa(part)
	}
	switch v.container() {
	case ContainerCSV:
		return base + ".csv"
	case ContainerGzip:
		return base + ".csv.gz"
	}
	return base + ".zip"
}

// camel turns snake_case into camelCase.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// usersHeader returns the users header of the variant.
func (v Variants) usersHeader() []string {
	if !v.CamelUsers {
		return UsersHeader
	}
	out := make([]string, len(UsersHeader))
	for i, c := range UsersHeader {
		out[i] = camel(c)
	}
	return out
}

// tweetsHeader returns the tweets header of the variant.
func (v Variants) tweetsHeader() []string {
	if !v.Oct2018Order {
		return TweetsHeader
	}
	out := append([]string(nil), TweetsHeader...)
	for i, c := range out {
		switch c {
		case "in_reply_to_userid":
			out[i] = "in_reply_to_tweetid"
		case "in_reply_to_tweetid":
			out[i] = "in_reply_to_userid"
		}
	}
	return out
}

// gzipBlock is the size of the blocks gzip parts are compressed in; the
// bytes of a part depend on it, so it is fixed.
const gzipBlock = 1 << 20

// writePlain creates path as a plain or gzipped csv filled by fill.
func writePlain(path string, gz bool, fill func(*rowWriter) error) (err error) {
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
	var zw *pgzip.Writer
	bw := fb
	if gz {
		// A gzip header with no name and no time, blocks of a fixed size
		// compressed in parallel while the rows are generated: the bytes
		// depend only on the content, not on the number of cores.
		zw, _ = pgzip.NewWriterLevel(fb, pgzip.BestSpeed)
		if err := zw.SetConcurrency(gzipBlock, 2*runtime.GOMAXPROCS(0)); err != nil {
			return err
		}
		bw = bufio.NewWriterSize(zw, 1<<20)
	}
	rw := &rowWriter{w: bw, first: true, buf: make([]byte, 0, 4096)}
	if err := fill(rw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("close gzip %s: %w", path, err)
		}
		if err := fb.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// writeData writes one data file in the variant's container; inner is the
// zip entry name.
func (v Variants) writeData(path, inner string, fill func(*rowWriter) error) error {
	switch v.container() {
	case ContainerCSV:
		return writePlain(path, false, fill)
	case ContainerGzip:
		return writePlain(path, true, fill)
	}
	return writeZip(path, inner, fill)
}
