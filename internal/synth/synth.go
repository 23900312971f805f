// Package synth writes a seeded, deterministic synthetic takedown archive in
// the Twitter information-operations layout (users and tweets files, zipped,
// as published from January 2019 on) together with a ground-truth file naming
// the planted coordinated squads.
//
// The population mixes organic accounts, including hard negatives (viral
// posts retweeted by many accounts, trending hashtags, popular news links),
// with squads that copy-paste, paraphrase, co-retweet, push links and post
// hashtag sequences within seconds of each other. See docs/synth.md.
//
// The same Config always gives byte-identical files on any machine and any
// GOMAXPROCS.
package synth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Config is every parameter of the generator. The zero value is not valid:
// start from DefaultConfig.
type Config struct {
	Seed     int64  `json:"seed"`
	Accounts int    `json:"accounts"` // total accounts (organic + squad members)
	Posts    int    `json:"posts"`    // total posts (tweets incl. retweets)
	Campaign string `json:"campaign"` // file prefix, e.g. "demo"

	Start             string  `json:"start"`               // first day of activity, YYYY-MM-DD (UTC)
	Days              int     `json:"days"`                // length of the activity window in days
	SquadShare        float64 `json:"squad_share"`         // share of accounts that belong to squads (0 = none)
	SquadMinSize      int     `json:"squad_min_size"`      // smallest squad
	SquadMaxSize      int     `json:"squad_max_size"`      // largest squad
	ViralFactor       float64 `json:"viral_factor"`        // multiplies viral organic activity (hard negatives)
	MissingUsersShare float64 `json:"missing_users_share"` // share of accounts left out of the users file

	// Variants reproduce the quirks of other releases; the zero value is
	// the default layout and is left out of the JSON form.
	Variants Variants `json:"variants,omitzero"`

	// Media asks for media archives (images, GIFs, videos named by tweet
	// id); the zero value writes none and is left out of the JSON form.
	Media MediaConfig `json:"media,omitzero"`
}

// DefaultConfig returns the configuration of the demo dataset.
func DefaultConfig() Config {
	return Config{
		Seed:              1,
		Accounts:          1000,
		Posts:             30000,
		Campaign:          "demo",
		Start:             "2019-03-01",
		Days:              60,
		SquadShare:        0.10,
		SquadMinSize:      4,
		SquadMaxSize:      30,
		ViralFactor:       1,
		MissingUsersShare: 0.02,
	}
}

var campaignRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

const (
	maxAccounts = 20_000_000
	maxPosts    = 250_000_000
)

// Validate reports the first invalid field, naming it by its json tag.
func (c Config) Validate() error {
	if c.Accounts < 20 {
		return fmt.Errorf("accounts must be >= 20, got %d", c.Accounts)
	}
	if c.Accounts > maxAccounts {
		return fmt.Errorf("accounts must be <= %d, got %d", maxAccounts, c.Accounts)
	}
	if c.Posts < 5*c.Accounts {
		return fmt.Errorf("posts must be >= 5 x accounts (%d), got %d", 5*c.Accounts, c.Posts)
	}
	if c.Posts > maxPosts {
		return fmt.Errorf("posts must be <= %d, got %d", maxPosts, c.Posts)
	}
	if !campaignRE.MatchString(c.Campaign) {
		return fmt.Errorf("campaign must be 1-64 letters, digits, '_' or '-' starting with a letter or digit, got %q", c.Campaign)
	}
	start, err := time.Parse(time.DateOnly, c.Start)
	if err != nil {
		return fmt.Errorf("start must be a date YYYY-MM-DD, got %q", c.Start)
	}
	if start.Year() < 2012 || start.Year() > 2030 {
		return fmt.Errorf("start must be between 2012-01-01 and 2030-12-31, got %q", c.Start)
	}
	if c.Days < 7 || c.Days > 730 {
		return fmt.Errorf("days must be between 7 and 730, got %d", c.Days)
	}
	if !(c.SquadShare >= 0 && c.SquadShare <= 0.5) { // also rejects NaN
		return fmt.Errorf("squad_share must be between 0 and 0.5, got %v", c.SquadShare)
	}
	if c.SquadMinSize < 2 {
		return fmt.Errorf("squad_min_size must be >= 2, got %d", c.SquadMinSize)
	}
	if c.SquadMaxSize < c.SquadMinSize || c.SquadMaxSize > 500 {
		return fmt.Errorf("squad_max_size must be between squad_min_size (%d) and 500, got %d", c.SquadMinSize, c.SquadMaxSize)
	}
	if c.SquadShare > 0 && c.SquadMinSize > c.Accounts/2 {
		return fmt.Errorf("squad_min_size must be <= accounts/2 (%d), got %d", c.Accounts/2, c.SquadMinSize)
	}
	if !(c.ViralFactor >= 0 && c.ViralFactor <= 10) {
		return fmt.Errorf("viral_factor must be between 0 and 10, got %v", c.ViralFactor)
	}
	if !(c.MissingUsersShare >= 0 && c.MissingUsersShare <= 0.5) {
		return fmt.Errorf("missing_users_share must be between 0 and 0.5, got %v", c.MissingUsersShare)
	}
	if math.IsInf(c.SquadShare, 0) || math.IsInf(c.ViralFactor, 0) {
		return errors.New("squad_share and viral_factor must be finite")
	}
	if err := c.Media.validate(); err != nil {
		return err
	}
	return c.Variants.validate()
}

// File roles.
const (
	RoleUsers  = "users"
	RoleTweets = "tweets"
	RoleTruth  = "truth"
)

// File is one file written by Write: its base name inside the directory and
// its role ("users", "tweets" or "truth").
type File struct {
	Name string
	Role string
	part int // 1-based part of a split tweets file; 0 when not split
}

// FileNames returns the names Write uses for cfg, in Name order.
func FileNames(cfg Config) []File {
	v := cfg.Variants
	files := []File{
		{Name: cfg.Campaign + "_truth.csv", Role: RoleTruth},
		{Name: v.fileName(cfg.Campaign+"_users_csv_hashed", 0), Role: RoleUsers},
	}
	if v.Parts > 1 {
		for k := 1; k <= v.Parts; k++ {
			files = append(files, File{Name: v.fileName(cfg.Campaign+"_tweets_csv_hashed", k), Role: RoleTweets, part: k})
		}
	} else {
		files = append(files, File{Name: v.fileName(cfg.Campaign+"_tweets_csv_hashed", 0), Role: RoleTweets})
	}
	files = append(files, mediaFileNames(cfg)...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

// Write writes the release into dir (which must exist) and returns the files
// written, sorted by Name: <campaign>_users_csv_hashed.zip (inner
// <campaign>_users_csv_hashed.csv), <campaign>_tweets_csv_hashed.zip (inner
// <campaign>_tweets_csv_hashed.csv) and <campaign>_truth.csv. On error the
// files it created are removed.
func Write(ctx context.Context, cfg Config, dir string) (files []File, err error) {
	return WriteExcept(ctx, cfg, dir, nil)
}

// A plan of largePlan posts or more is written with the collector's target
// at largePlanGC percent (restored after). The plan is one large live heap
// (about 44 bytes a post and 400 an account, 14 GB for 217M posts by 10.9M
// accounts) that only grows while it is made; at the default 100 the heap
// may reach twice the live part before a collection, more than the machine
// has. The plan's records hold no pointers, so the extra collections cost
// little.
const (
	largePlan   = 4 << 20
	largePlanGC = 20
)

// WriteExcept is Write without the files skip reports (nil skips none):
// fetch leaves the media archives out this way unless asked for them. The
// other files are the same bytes as Write's.
func WriteExcept(ctx context.Context, cfg Config, dir string, skip func(File) bool) (files []File, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synth config: %w", err)
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("synth output dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("synth output dir %s: not a directory", dir)
	}
	if cfg.Posts >= largePlan {
		defer debug.SetGCPercent(debug.SetGCPercent(largePlanGC))
	}
	p, err := newPlan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	files = FileNames(cfg)
	if skip != nil {
		var kept []File
		for _, f := range files {
			if !skip(f) {
				kept = append(kept, f)
			}
		}
		files = kept
	}
	var created []string
	defer func() {
		if err != nil {
			for _, path := range created {
				_ = os.Remove(path)
			}
			files = nil
		}
	}()
	var media []File
	for _, f := range files {
		if f.Role == RoleMedia {
			media = append(media, f)
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		created = append(created, path)
		switch f.Role {
		case RoleMedia:
			if f.Name == media[0].Name {
				for _, m := range media {
					created = append(created, filepath.Join(dir, m.Name))
				}
				err = p.writeMedia(ctx, dir, media)
			}
		case RoleUsers:
			err = cfg.Variants.writeData(path, cfg.Campaign+"_users_csv_hashed.csv", func(w *rowWriter) error { return p.writeUsers(ctx, w) })
		case RoleTweets:
			inner := strings.TrimSuffix(strings.TrimSuffix(f.Name, ".zip"), ".csv.gz")
			inner = strings.TrimSuffix(inner, ".csv") + ".csv"
			part := f.part
			err = cfg.Variants.writeData(path, inner, func(w *rowWriter) error { return p.writeTweets(ctx, w, part) })
		case RoleTruth:
			err = p.writeTruth(path)
		}
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
