// Package facts reads the registry facts files (../shared/data/registry-facts):
// the table of Twitter/X information-operations releases and the per-release
// statistics an independent project computed from the real files. The
// descriptor generator and the registry test both read them through here.
package facts

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ReleasesFile and StatsFile are the names of the two facts files.
const (
	ReleasesFile = "twitter-io-releases.csv"
	StatsFile    = "published-release-stats.csv"
)

// Release is one row of twitter-io-releases.csv. Nil counts are blank cells.
type Release struct {
	Line                int // 1-based line in the file
	Folder              string
	Campaign            string
	AccountsInUsersFile *int64
	AccountsAnnounced   *int64
	Tweets              *int64
	TweetsCSVBytes      *int64
	Basis               string
}

// Computed reports whether the row's figures were counted from the real files.
func (r Release) Computed() bool { return strings.HasPrefix(r.Basis, "computed from files") }

// KV is one entry of a top list: a key and its count.
type KV struct {
	Key   string
	Count int64
}

// Stats is one row of published-release-stats.csv.
type Stats struct {
	Line             int
	UsersFile        string
	TweetsFile       string
	Accounts         int64
	AccountsReported int64
	ReleaseDate      string // as published, "2019_12"
	Country          string
	Affiliation      string
	Targets          string
	URLs             []string
	QuoteSum         int64
	ReplySum         int64
	LikeSum          int64
	RetweetSum       int64
	Tweets           int64
	TweetsBytes      int64
	// MediaSize is tweet_media_size as published: documented as bytes,
	// but the values are gigabytes (274 for ira); "" when blank.
	MediaSize  string
	FirstTweet string // "YYYY-MM-DD HH:MM:SS"
	LastTweet  string
	Languages  []KV // most first
	Hashtags   []KV
	Clients    []KV
}

// Prefix is the campaign part of the users file name ("iran_201901_1" for
// iran_201901_1_users_csv_hashed.csv, "032020" for 032020_users_csv_hashed.csv).
func (s Stats) Prefix() string {
	return strings.TrimSuffix(s.UsersFile, "_users_csv_hashed.csv")
}

// Matches reports whether the stats row describes the release with this
// campaign name (the Ghana/Nigeria files are named "032020_..." only).
func (s Stats) Matches(campaign string) bool {
	p := s.Prefix()
	if strings.Trim(p, "0123456789") == "" { // a date only, like "032020"
		return strings.HasSuffix(campaign, "_"+p)
	}
	return campaign == p
}

func readCSV(path string) ([]map[string]string, []int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var rows []map[string]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		m := map[string]string{}
		for i, h := range header {
			if h == "" { // the trailing comma of the stats header
				continue
			}
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		rows = append(rows, m)
		lines = append(lines, line)
	}
	return rows, lines, nil
}

func optInt(path string, line int, field, s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	v, err := parseCount(s)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: field %s: %w", path, line, field, err)
	}
	return &v, nil
}

// parseCount reads an integer count written as "123" or "123.0".
func parseCount(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return int64(f), nil
}

// ReadReleases reads twitter-io-releases.csv.
func ReadReleases(path string) ([]Release, error) {
	rows, lines, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var out []Release
	for i, m := range rows {
		r := Release{Line: lines[i], Folder: m["folder"], Campaign: m["campaign"], Basis: m["basis"]}
		for _, f := range []struct {
			dst  **int64
			name string
		}{
			{&r.AccountsInUsersFile, "accounts_in_users_file"}, {&r.AccountsAnnounced, "accounts_announced"},
			{&r.Tweets, "tweets"}, {&r.TweetsCSVBytes, "tweets_csv_bytes"},
		} {
			if *f.dst, err = optInt(path, r.Line, f.name, m[f.name]); err != nil {
				return nil, err
			}
		}
		if r.Folder == "" || r.Campaign == "" {
			return nil, fmt.Errorf("%s:%d: folder and campaign are required", path, r.Line)
		}
		out = append(out, r)
	}
	return out, nil
}

// ReadStats reads published-release-stats.csv.
func ReadStats(path string) ([]Stats, error) {
	rows, lines, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	var out []Stats
	for i, m := range rows {
		s := Stats{
			Line: lines[i], UsersFile: m["users_filename"], TweetsFile: m["tweets_filename"],
			ReleaseDate: m["release_date"], Country: m["attributed_country"], Affiliation: m["affiliation"],
			Targets: m["target_countries"], FirstTweet: m["first_tweet"], LastTweet: m["last_tweet"],
			MediaSize: strings.TrimSpace(m["tweet_media_size"]),
		}
		for _, u := range strings.Split(m["urls"], ",") {
			if u = strings.TrimSpace(u); u != "" {
				s.URLs = append(s.URLs, u)
			}
		}
		for _, f := range []struct {
			dst  *int64
			name string
		}{
			{&s.Accounts, "accounts"}, {&s.AccountsReported, "accounts_reported"},
			{&s.QuoteSum, "total_quote_count"}, {&s.ReplySum, "total_reply_count"},
			{&s.LikeSum, "total_like_count"}, {&s.RetweetSum, "total_retweet_count"},
			{&s.Tweets, "tweets_count"}, {&s.TweetsBytes, "tweets_information_size"},
		} {
			v, err := parseCount(m[f.name])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: field %s: %w", path, s.Line, f.name, err)
			}
			*f.dst = v
		}
		for _, f := range []struct {
			dst  *[]KV
			name string
		}{{&s.Languages, "tweet_languages"}, {&s.Hashtags, "hashtags"}, {&s.Clients, "tweet_client_names"}} {
			kv, err := ParseCounts(m[f.name])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: field %s: %w", path, s.Line, f.name, err)
			}
			*f.dst = kv
		}
		out = append(out, s)
	}
	return out, nil
}

// ParseCounts reads a JSON object of counts ({"en":12,"ru":3}) into a list
// sorted by count, most first; equal counts keep the object's order.
func ParseCounts(s string) ([]KV, error) {
	if s == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object: %.40q", s)
	}
	var out []KV
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var n json.Number
		if err := dec.Decode(&n); err != nil {
			return nil, fmt.Errorf("count of %v: %w", kt, err)
		}
		v, err := parseCount(n.String())
		if err != nil {
			return nil, err
		}
		out = append(out, KV{Key: kt.(string), Count: v})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out, nil
}

// Top formats the first n entries as "key:count".
func Top(kv []KV, n int) []string {
	var out []string
	for i := 0; i < len(kv) && i < n; i++ {
		out = append(out, kv[i].Key+":"+strconv.FormatInt(kv[i].Count, 10))
	}
	return out
}
