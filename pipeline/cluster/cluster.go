// Package cluster is the stage that finds coordinated accounts: pairs of
// accounts that share the same item (an identical normalized text, the same
// reposted post, the same canonical URL) within a short time window, the
// posts that prove each pair, and the connected groups those pairs form.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/takedown-research/takedown/internal/errkind"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
	"github.com/takedown-research/takedown/internal/rules"
	"github.com/takedown-research/takedown/internal/schema"
)

// Name is the stage name.
const Name = "cluster"

// Version is bumped when the stage's output semantics change. Version 4:
// the --compat cnt networks weigh each direction on its own and take the
// raw URLs of the fingerprints' cnt_url_keys. Version 5: near_text verifies
// its candidates on the shingles the fingerprint run hashed
// (rules.AppendShingles with the run's --shingle-size, Input.ShingleSize),
// no longer on FNV-1a word 3-grams of its own. Version 6: the stage also
// writes pair_scores (every candidate edge's co-shared items with their
// time differences and rarity weights), from which summarize recomputes the
// clusters over a grid of windows, minimum weights and minimum scores.
const Version = 6

// SignalCoReply pairs accounts that reply to the same post within the
// window.
const SignalCoReply = "co_reply"

// SignalCoHashtagSeq pairs accounts that post the same ordered list of
// hashtags (the fingerprint stage keys lists of at least --min-hashtag-seq
// hashtags) within the window.
const SignalCoHashtagSeq = "co_hashtag_seq"

// SignalNearText pairs accounts whose posts are near-duplicates: they share
// a MinHash LSH band key (fingerprints column minhash_bands) and the Jaccard
// similarity of their shingle sets is at least Params.NearThreshold. The
// shingles are those the band keys were made of: rules.AppendShingles with
// the fingerprint run's shingle size (Input.ShingleSize).
const SignalNearText = "near_text"

// SignalCoDomain pairs accounts that link to the same domain (fingerprints
// column domain_keys) within the window. It is not on by default: popular
// domains make it weak evidence.
const SignalCoDomain = "co_domain"

// Signals lists every signal this stage knows, in the order of their names.
var Signals = []string{SignalCoDomain, SignalCoHashtagSeq, SignalCoImage, schema.SignalCoRepost, SignalCoReply, schema.SignalCoText, schema.SignalCoURL, SignalNearImage, SignalNearText}

// ErrNormalizerVersion means the fingerprints table was made by another
// version of the rules (its normalizer_version column) than this build's
// rules.Version, the one it verifies near-duplicates with; the fingerprint
// stage must be run again.
var ErrNormalizerVersion = errkind.New(errkind.Usage, "fingerprints made by another normalizer version")

// Role values of schema.ClusterMember.Role.
const (
	RoleOriginator = "originator"
	RoleAmplifier  = "amplifier"
)

// Params are the stage's parameters.
type Params struct {
	// WindowSeconds is the largest time difference, inclusive, between two
	// accounts' posts of one item for the item to count as co-shared. It
	// is 0 and unused when WindowAuto is set.
	WindowSeconds float64 `json:"window_seconds"`
	// WindowAuto estimates the window from the data instead: CooRnet's
	// coordination interval over the URLs (url_keys) of the table (see
	// EstimateWindow). Left out of the JSON when false, so that run ids
	// of runs with a window in seconds did not change when it was added.
	WindowAuto bool `json:"window_auto,omitempty"`
	// MinWeight is the minimum number of distinct co-shared items an edge
	// needs to be kept.
	MinWeight int `json:"min_weight"`
	// MinScore is the minimum combined rarity-weighted score (the sum of
	// a pair's kept edge weights over all signals) for a pair to join the
	// graph whose connected components are the clusters.
	MinScore float64 `json:"min_score"`
	// Signals are the signals to compute.
	Signals []string `json:"signals"`
	// MaxEvidencePerEdge bounds the evidence rows written per edge.
	MaxEvidencePerEdge int `json:"max_evidence_per_edge"`
	// MaxItemAccounts bounds how many distinct accounts may share one item
	// within one window before the posts of that window are left out of
	// pairing (viral items); 0 means no bound.
	MaxItemAccounts int `json:"max_item_accounts"`
	// MinAffinity is the minimum affinity (combined score over the
	// geometric mean of the two accounts' post counts) for a pair to join
	// the cluster graph; 0 turns the filter off.
	MinAffinity float64 `json:"min_affinity"`
	// ScorePercentile keeps, when above 0, only the pairs whose combined
	// score is at or above this quantile (0 to 1, exclusive) of every
	// pair's combined score, as CooRnet's 0.90 does.
	ScorePercentile float64 `json:"score_percentile"`
	// Communities is how the cluster graph becomes clusters: its connected
	// components, or the Louvain communities within each component.
	Communities string `json:"communities"`
	// Resolution is the Louvain modularity resolution (1 is classic
	// modularity; higher gives smaller communities).
	Resolution float64 `json:"resolution"`
	// NearThreshold is the Jaccard similarity of shingle sets (the
	// fingerprint run's, Input.ShingleSize) a near_text candidate pair
	// needs, in (0, 1].
	NearThreshold float64 `json:"near_threshold"`
	// Compat "cnt" (CompatToolkit) also writes the coordination-network-toolkit's
	// co_tweet, co_retweet and co_link networks with its semantics
	// (cnt_edges.csv, cnt_edges.graphml); "coortweet" (CompatCooRTweet)
	// CooRTweet's network of co-reposts (coortweet_edges.csv,
	// coortweet_edges.graphml); "" writes only the tables.
	Compat string `json:"compat"`
	// CooRTweet are the arguments of --compat coortweet. The parameter JSON
	// has them only in that mode (MarshalJSON); otherwise they must be
	// DefaultCooRTweetParams.
	CooRTweet CooRTweetParams `json:"coortweet"`
	// Images are the parameters of the image signals (co_image,
	// near_image); nil, and left out of the JSON, for a run without them
	// (WithoutImages), so that run ids of datasets without media did not
	// change when the image signals were added.
	Images *ImageParams `json:"images,omitempty"`
}

// Values of Params.Communities.
const (
	CommunitiesComponents = "components"
	CommunitiesLouvain    = "louvain"
)

// DefaultParams returns the default parameters.
func DefaultParams() Params {
	return Params{
		WindowSeconds:      60,
		MinWeight:          2,
		MinScore:           4,
		Signals:            []string{SignalCoHashtagSeq, SignalCoImage, schema.SignalCoRepost, SignalCoReply, schema.SignalCoText, schema.SignalCoURL, SignalNearImage, SignalNearText},
		MaxEvidencePerEdge: 20,
		MaxItemAccounts:    50,
		MinAffinity:        0.02,
		Communities:        CommunitiesComponents,
		Resolution:         1,
		NearThreshold:      0.8,
		CooRTweet:          DefaultCooRTweetParams(),
		Images:             DefaultImageParams(),
	}
}

// Validate reports a usage error naming the flag.
func (p Params) Validate() error {
	if math.IsNaN(p.WindowSeconds) || math.IsInf(p.WindowSeconds, 0) {
		return fmt.Errorf("--window must be a finite number of seconds, got %v", p.WindowSeconds)
	}
	if p.WindowSeconds < 0 {
		return fmt.Errorf("--window must be >= 0, got %v", p.WindowSeconds)
	}
	if p.WindowAuto && p.WindowSeconds != 0 {
		return fmt.Errorf("--window: auto estimates the window, it takes no number of seconds (got %v)", p.WindowSeconds)
	}
	if p.WindowSeconds > 365*24*3600 {
		return fmt.Errorf("--window must be at most a year (31536000 s), got %v", p.WindowSeconds)
	}
	if p.MinWeight < 1 {
		return fmt.Errorf("--min-weight must be >= 1, got %d", p.MinWeight)
	}
	if math.IsNaN(p.MinScore) || math.IsInf(p.MinScore, 0) || p.MinScore < 0 {
		return fmt.Errorf("--min-score must be a finite number >= 0, got %v", p.MinScore)
	}
	if len(p.Signals) == 0 {
		return fmt.Errorf("--signals must name at least one of %s", strings.Join(Signals, ", "))
	}
	seen := map[string]bool{}
	for _, s := range p.Signals {
		if !slices.Contains(Signals, s) {
			return fmt.Errorf("--signals: unknown signal %q (known: %s)", s, strings.Join(Signals, ", "))
		}
		if seen[s] {
			return fmt.Errorf("--signals: signal %q given twice", s)
		}
		seen[s] = true
	}
	if p.MaxEvidencePerEdge < 1 {
		return fmt.Errorf("--max-evidence-per-edge must be >= 1, got %d", p.MaxEvidencePerEdge)
	}
	if p.MaxItemAccounts != 0 && p.MaxItemAccounts < 2 {
		return fmt.Errorf("--max-item-accounts must be 0 (no bound) or >= 2, got %d", p.MaxItemAccounts)
	}
	if math.IsNaN(p.MinAffinity) || math.IsInf(p.MinAffinity, 0) || p.MinAffinity < 0 {
		return fmt.Errorf("--min-affinity must be a finite number >= 0, got %v", p.MinAffinity)
	}
	if math.IsNaN(p.ScorePercentile) || p.ScorePercentile < 0 || p.ScorePercentile >= 1 {
		return fmt.Errorf("--score-percentile must be in [0, 1), got %v", p.ScorePercentile)
	}
	if p.Communities != CommunitiesComponents && p.Communities != CommunitiesLouvain {
		return fmt.Errorf("--communities must be %q or %q, got %q", CommunitiesComponents, CommunitiesLouvain, p.Communities)
	}
	if math.IsNaN(p.NearThreshold) || p.NearThreshold <= 0 || p.NearThreshold > 1 {
		return fmt.Errorf("--near-threshold must be in (0, 1], got %v", p.NearThreshold)
	}
	if p.Compat != "" && p.Compat != CompatToolkit && p.Compat != CompatCooRTweet {
		return fmt.Errorf("--compat must be empty, %q (or %q) or %q, got %q", CompatToolkit, CompatToolkitLong, CompatCooRTweet, p.Compat)
	}
	if p.Compat != CompatCooRTweet && p.CooRTweet != DefaultCooRTweetParams() {
		return fmt.Errorf("the --coortweet-* flags take effect only with --compat coortweet (got --compat %q)", p.Compat)
	}
	if err := p.CooRTweet.validate(); err != nil {
		return err
	}
	if math.IsNaN(p.Resolution) || math.IsInf(p.Resolution, 0) || p.Resolution <= 0 {
		return fmt.Errorf("--resolution must be a finite number > 0, got %v", p.Resolution)
	}
	if p.Images != nil {
		if err := p.Images.validate(); err != nil {
			return err
		}
	} else if i := slices.IndexFunc(p.Signals, IsImageSignal); i >= 0 {
		return fmt.Errorf("--signals: %s needs the image parameters (--image-distance, --image-min-quality)", p.Signals[i])
	}
	return nil
}

// ParseWindow parses the --window flag: a number of seconds (at least 0;
// Validate checks the range) or "auto".
func ParseWindow(s string) (seconds float64, auto bool, err error) {
	s = strings.TrimSpace(s)
	if s == "auto" {
		return 0, true, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("--window must be a number of seconds or auto, got %q", s)
	}
	if f < 0 {
		return 0, false, fmt.Errorf("--window must be >= 0, got %v", f)
	}
	return f, false, nil
}

// windowMillis returns the window in milliseconds, rounded to the nearest.
func (p Params) windowMillis() int64 { return int64(math.Round(p.WindowSeconds * 1000)) }

// Input names the upstream file this stage reads and what the run that
// made it used.
type Input struct {
	// FingerprintsPath is the absolute path of the fingerprints table.
	FingerprintsPath string
	// ShingleSize is the words per shingle of the fingerprint run that
	// made the table (its --shingle-size): near_text verifies its MinHash
	// candidates on shingles of that size, the ones the band keys were
	// made of. It is needed, in [1, rules.MaxShingleSize], only when
	// near_text is among the signals. It is not a parameter: it is a fact
	// of the input, whose digest is already in the run id.
	ShingleSize int
	// Progress counts the phases: rows loaded, items swept, pairs
	// written; nil counts nothing.
	Progress progress.Meter
	// Resources bound the memory the run may use (--memory, --partitions).
	// They do not change the outputs, so they are not parameters.
	Resources Resources // ImageFingerprintsPath is the absolute path of the image fingerprints
	// table, "" when the fingerprint run wrote none: the image signals
	// (co_image, near_image) are then skipped.
	ImageFingerprintsPath string
}

// validate checks the input against the parameters.
func (in Input) validate(p Params) error {
	if slices.Contains(p.Signals, SignalNearText) && (in.ShingleSize < 1 || in.ShingleSize > rules.MaxShingleSize) {
		return fmt.Errorf("near_text needs the fingerprint run's shingle size (Input.ShingleSize) in [1, %d], got %d",
			rules.MaxShingleSize, in.ShingleSize)
	}
	return nil
}

// Stats are deterministic counts about one run. The maps have one entry per
// computed signal.
type Stats struct {
	Fingerprints      int64            `json:"fingerprints"`
	SkippedRows       int64            `json:"skipped_rows"`
	Accounts          int64            `json:"accounts"`
	WindowMillis      int64            `json:"window_ms"`
	WindowEstimated   bool             `json:"window_estimated"`
	WindowURLs        int64            `json:"window_estimate_urls,omitempty"`
	Items             map[string]int64 `json:"items_by_signal"`
	Occurrences       map[string]int64 `json:"occurrences_by_signal"`
	CandidateEdges    map[string]int64 `json:"candidate_edges_by_signal"`
	Edges             map[string]int64 `json:"edges_by_signal"`
	EdgeRows          int64            `json:"edge_rows"`
	EvidenceRows      int64            `json:"evidence_rows"`
	PairScoreRows     int64            `json:"pair_score_rows"`
	ScoredPairs       int64            `json:"scored_pairs"`
	PercentileScore   float64          `json:"percentile_score"`
	LowAffinityPairs  int64            `json:"low_affinity_pairs"`
	LouvainSplits     int64            `json:"louvain_splits"`
	Clusters          int64            `json:"clusters"`
	ClusterPairs      int64            `json:"cluster_pairs"`
	ClusteredAccounts int64            `json:"clustered_accounts"`
	LargestCluster    int64            `json:"largest_cluster"`
	Originators       int64            `json:"originators"`
	Amplifiers        int64            `json:"amplifiers"`
	BoundedItems      int64            `json:"bounded_items"`
	BoundedPosts      int64            `json:"bounded_posts"`
	BoundedBySignal   map[string]int64 `json:"bounded_items_by_signal"`
	NearRejected      int64            `json:"near_rejected_pairs"`
	// NearShingleSize is the words per shingle near_text verified on
	// (Input.ShingleSize); 0 without near_text.
	NearShingleSize int              `json:"near_shingle_size,omitempty"`
	ToolkitEdges    map[string]int64 `json:"cnt_edges_by_type,omitempty"`
	// CooRTweetCoShares and CooRTweetEdges count, with --compat coortweet,
	// the rows of CooRTweet's detect_groups result and of coortweet_edges.csv.
	CooRTweetCoShares int64 `json:"coortweet_co_shares,omitempty"`
	CooRTweetEdges    int64 `json:"coortweet_edges,omitempty"`
	// Images counts the image fingerprints read; absent without image
	// signals.
	Images *ImageStats `json:"images,omitempty"`
}

// ImageStats count the image fingerprints the image signals read.
type ImageStats struct {
	Fingerprints int64 `json:"image_fingerprints"`
	// Skipped are images whose account has no post in the fingerprints
	// table (or without a hash); LowQuality those left out of near_image
	// for their PDQ quality.
	Skipped    int64 `json:"skipped"`
	LowQuality int64 `json:"low_quality"`
	// NearHashes are the distinct PDQ hashes near_image indexed, NearPairs
	// the pairs of them within --image-distance.
	NearHashes int64 `json:"near_hashes"`
	NearPairs  int64 `json:"near_pairs"`
}

// Run reads the fingerprints table and writes edges, evidence, pair_scores
// and clusters into outDir.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if err := in.validate(p); err != nil {
		return Stats{}, err
	}
	if err := in.Resources.Validate(); err != nil {
		return Stats{}, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer in.Resources.limitHeap()()
	ls := &loadSpill{ctx: ctx, in: in, p: p, res: in.Resources, outDir: outDir}
	defer ls.remove()
	d, w, st, err := prepare(ctx, in, p, ls, log)
	if err != nil {
		return Stats{}, err
	}
	parts, err := plan(d, in.Resources, in.FingerprintsPath)
	if err != nil && !errors.Is(err, ErrMemory) {
		return Stats{}, err
	}
	// Only --window auto's own co_url can leave one partition enough once
	// spilled; any count writes the same bytes. A budget too small for the
	// times by post may do without them (dropTimes).
	if err != nil || parts > 1 || ls.spilled() {
		if parts, err = d.dropTimes(in.Resources, in.FingerprintsPath, 2); err != nil {
			return Stats{}, err
		}
	}
	if parts == 1 {
		if err := d.restoreTimes(); err != nil {
			return Stats{}, err
		}
	}
	log.Info("loaded the fingerprints", "rows", d.rows, "resident_bytes", d.residentBytes(), "shingle_bytes", d.shingles.bytes(), "work_bytes", d.workBytes(), "budget_bytes", in.Resources.planBudget(d), "partitions", parts, "spilled_while_loading", ls.spilled())
	if parts > 1 {
		sp, err := ls.spill()
		if err != nil {
			return Stats{}, err
		}
		if err := runPartitioned(ctx, d, in, p, w, parts, sp, outDir, &st, log); err != nil {
			return Stats{}, err
		}
		return finish(ctx, in, p, w, outDir, st, log)
	}

	// Signals are independent: each runs in its own goroutine over its own
	// data and the results are combined in signal-name order, so the output
	// does not depend on scheduling.
	d.meter().Phase("sweep", progress.Items, -1)
	results := make([]*signalResult, len(d.signals))
	errs := make([]error, len(d.signals))
	var wg sync.WaitGroup
	for i, sd := range d.signals {
		wg.Go(func() {
			if sd.name == SignalNearText {
				// Only this goroutine uses the shingles: reading them
				// overlaps the other signals' sweeps.
				if errs[i] = d.loadShingles(ctx, in.FingerprintsPath, in.ShingleSize, sd, nil); errs[i] != nil {
					return
				}
			}
			results[i], errs[i] = sweep(ctx, sd, d, p, w)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Stats{}, err
		}
	}
	for i, sd := range d.signals {
		r := results[i]
		d.sortImageEvidence(sd, r.edges)
		st.Items[sd.name] = r.items
		st.Occurrences[sd.name] = sd.occCount() + sd.singletons
		st.CandidateEdges[sd.name] = r.candidates
		st.Edges[sd.name] = int64(len(r.edges))
		st.BoundedItems += r.boundedItems
		st.BoundedPosts += r.boundedPosts
		st.BoundedBySignal[sd.name] = r.boundedItems
		st.NearRejected += r.rejected
		st.EdgeRows += int64(len(r.edges))
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	if err := write(d, results, p, outDir, &st); err != nil {
		return Stats{}, err
	}
	return finish(ctx, in, p, w, outDir, st, log)
}

// prepare loads the fingerprints, estimates the window when asked and
// starts the run's Stats: what every path (in memory, partitioned, shards
// and their merge) does first, in the same way.
//
// ls decides whether and how load holds the signals (loadSpill.holder).
func prepare(ctx context.Context, in Input, p Params, ls *loadSpill, log *slog.Logger) (*data, int64, Stats, error) {
	signals := slices.Clone(p.Signals)
	slices.Sort(signals)

	// --window auto estimates from the URLs, which are read for it when
	// co_url is not among the signals.
	imageSignals := slices.DeleteFunc(slices.Clone(signals), func(s string) bool { return !IsImageSignal(s) })
	signals = slices.DeleteFunc(signals, IsImageSignal)
	if in.ImageFingerprintsPath == "" {
		imageSignals = nil
	}
	loadSignals := signals
	urlsOnlyForWindow := p.WindowAuto && !slices.Contains(signals, schema.SignalCoURL)
	if urlsOnlyForWindow {
		loadSignals = append(slices.Clone(signals), schema.SignalCoURL)
		slices.Sort(loadSignals)
	}
	hold, err := ls.holder(in.FingerprintsPath, loadSignals)
	if err != nil {
		return nil, 0, Stats{}, err
	}
	d, err := load(ctx, in.FingerprintsPath, loadSignals, in.Progress, hold)
	if err != nil {
		return nil, 0, Stats{}, err
	}
	ls.posts = d.posts // closed by ls.remove
	if len(imageSignals) > 0 {
		if err := d.loadImages(ctx, in.ImageFingerprintsPath, imageSignals, p); err != nil {
			return nil, 0, Stats{}, err
		}
	}
	w := p.windowMillis()
	var windowURLs int64
	if p.WindowAuto {
		i := slices.IndexFunc(d.signals, func(sd *signalData) bool { return sd.name == schema.SignalCoURL })
		est := d.window
		if est == nil {
			sortOccs(d.signals[i].occ)
			est = &windowEstimate{}
			est.ms, est.urls, est.ok, err = estimateWindow(eachOcc(d.signals[i].occ))
			if err != nil {
				return nil, 0, Stats{}, err
			}
		}
		w, windowURLs = est.ms, est.urls
		ok := est.ok
		if !ok {
			return nil, 0, Stats{}, fmt.Errorf("--window auto: no URL in %s is shared twice, so there is no coordination interval to estimate; give --window in seconds", in.FingerprintsPath)
		}
		if urlsOnlyForWindow {
			d.signals = slices.Delete(d.signals, i, i+1)
		}
		log.Info("estimated the coordination window", "window_ms", w, "urls", windowURLs)
	}
	st := Stats{
		Fingerprints:    d.rows,
		SkippedRows:     d.skipped,
		Accounts:        int64(d.accounts.len()),
		WindowMillis:    w,
		WindowEstimated: p.WindowAuto,
		WindowURLs:      windowURLs,
		Items:           map[string]int64{},
		Occurrences:     map[string]int64{},
		CandidateEdges:  map[string]int64{},
		Edges:           map[string]int64{},
		BoundedBySignal: map[string]int64{},
	}
	if slices.Contains(signals, SignalNearText) {
		st.NearShingleSize = in.ShingleSize
	}
	if im := d.images; im != nil {
		st.Images = &ImageStats{Fingerprints: im.rows, Skipped: im.skipped, LowQuality: im.lowQuality,
			NearHashes: im.hashes, NearPairs: im.pairs}
	}
	return d, w, st, nil
}

// finish writes the compat networks when asked and logs the run.
func finish(ctx context.Context, in Input, p Params, w int64, outDir string, st Stats, log *slog.Logger) (Stats, error) {
	if p.Compat == CompatToolkit {
		tk, err := toolkitNetworks(ctx, in.FingerprintsPath, w, p.MinWeight)
		if err != nil {
			return Stats{}, err
		}
		st.ToolkitEdges = tk.counts()
		if err := writeToolkit(tk, outDir); err != nil {
			return Stats{}, err
		}
	}
	if p.Compat == CompatCooRTweet {
		ct, err := coortweetNetwork(ctx, in.FingerprintsPath, p.CooRTweet)
		if err != nil {
			return Stats{}, err
		}
		st.CooRTweetCoShares, st.CooRTweetEdges = ct.coShares, int64(len(ct.edges))
		if err := writeCooRTweet(ct, outDir); err != nil {
			return Stats{}, err
		}
	}
	log.Info("clustered accounts", "window_ms", st.WindowMillis, "accounts", st.Accounts, "edges", st.EdgeRows,
		"evidence", st.EvidenceRows, "clusters", st.Clusters,
		"clustered_accounts", st.ClusteredAccounts, "largest_cluster", st.LargestCluster,
		"bounded_items", st.BoundedItems)
	return st, nil
}

// write writes the four output tables, each in its own goroutine (each
// file's bytes depend only on its rows).
func write(d *data, results []*signalResult, p Params, outDir string, st *Stats) error {
	var all []edgeRef
	for si, r := range results {
		for i := range r.edges {
			all = append(all, edgeRef{si, &r.edges[i]})
		}
	}
	// Edges sort by (account_a, account_b, signal); pair keys order like
	// the account ids and results are in signal-name order.
	slices.SortStableFunc(all, func(a, b edgeRef) int {
		if a.e.pair != b.e.pair {
			if a.e.pair < b.e.pair {
				return -1
			}
			return 1
		}
		return a.sig - b.sig
	})

	d.meter().Phase("pairs", progress.Pairs, int64(len(all)))
	var wg sync.WaitGroup
	var edgesErr, evidenceErr error
	wg.Go(func() {
		edgesErr = writeEdges(d, all, filepath.Join(outDir, schema.TableEdges+".parquet"))
	})
	var evidenceRows int64
	wg.Go(func() {
		evidenceRows, evidenceErr = writeEvidence(d, results, filepath.Join(outDir, schema.TableEvidence+".parquet"))
	})
	var pairScoresErr error
	wg.Go(func() {
		st.PairScoreRows, pairScoresErr = writePairScores(d, results, filepath.Join(outDir, schema.TablePairScores+".parquet"))
	})

	// Roles: per account, the evidence rows it is in and those in which
	// its post came first.
	nAcc := d.accounts.len()
	first := make([]int32, nAcc)
	inRows := make([]int32, nAcc)
	for _, r := range results {
		for i := range r.edges {
			e := &r.edges[i]
			a, b := unpair(e.pair)
			for _, c := range e.ev {
				inRows[a]++
				inRows[b]++
				switch {
				case c.tA < c.tB:
					first[a]++
				case c.tB < c.tA:
					first[b]++
				}
			}
		}
	}
	flat := make([]*edge, len(all))
	for i, ref := range all {
		flat[i] = ref.e
	}
	members, err := components(d, pairScores(flat), first, inRows, p, st)
	if err == nil {
		_, err = pqio.WriteFile(filepath.Join(outDir, schema.TableClusters+".parquet"), members)
	}
	wg.Wait()
	st.EvidenceRows = evidenceRows
	return errors.Join(edgesErr, evidenceErr, pairScoresErr, err)
}

// edgeRef is a kept edge and the index of its signal in data.signals.
type edgeRef struct {
	sig int
	e   *edge
}

// writeEdges writes the edges table from edges sorted by (pair, signal).
func writeEdges(d *data, all []edgeRef, path string) error {
	ew, err := pqio.Create[schema.Edge](path)
	if err != nil {
		return err
	}
	buf := make([]schema.Edge, 0, 4096)
	for _, ref := range all {
		e := ref.e
		a, b := unpair(e.pair)
		buf = append(buf, schema.Edge{
			AccountA: d.accounts.at(int(a)), AccountB: d.accounts.at(int(b)), Signal: d.signals[ref.sig].name,
			SharedItems: e.items, FirstAt: e.first, LastAt: e.last, Weight: e.score,
		})
		if len(buf) == cap(buf) {
			if err := ew.Write(buf...); err != nil {
				ew.Abort()
				return err
			}
			d.meter().Add(int64(len(buf)))
			buf = buf[:0]
		}
	}
	if err := ew.Write(buf...); err != nil {
		ew.Abort()
		return err
	}
	d.meter().Add(int64(len(buf)))
	return ew.Close()
}

// writeEvidence writes the evidence table and returns its row count. Rows
// sort by (signal, account_a, account_b, item_key, post_a, post_b): results
// are in signal order, edges in pair order and each edge's evidence in
// (item, post_a, post_b) order.
func writeEvidence(d *data, results []*signalResult, path string) (int64, error) {
	vw, err := createEvidence(path, d.posts)
	if err != nil {
		return 0, err
	}
	for si, r := range results {
		sd := d.signals[si]
		for i := range r.edges {
			e := &r.edges[i]
			a, b := unpair(e.pair)
			for _, c := range e.ev {
				err := vw.add(schema.Evidence{
					Signal: sd.name, AccountA: d.accounts.at(int(a)), AccountB: d.accounts.at(int(b)),
					ItemKey: d.evidenceKey(sd, c.item, c.postA, c.postB), DtMillis: absDiff(c.tA, c.tB),
				}, c.postA, c.postB)
				if err != nil {
					vw.abort()
					return 0, err
				}
			}
		}
		if err := errors.Join(sd.keyErr(), d.posts.readErr()); err != nil {
			vw.abort()
			return 0, err
		}
	}
	return vw.close()
}

// evidenceWriter writes the evidence table: it gathers rows in batches
// (evidenceBatch) and writes each full batch on a goroutine of its own
// while the next one is filled, two batches in turn, so that making the
// rows and encoding them take two cores. The rows and their order are
// those added.
type evidenceWriter struct {
	w      *pqio.Writer[schema.Evidence]
	cur    *evidenceBatch
	full   chan *evidenceBatch // to the writing goroutine
	free   chan *evidenceBatch // back from it
	done   chan error
	failed atomic.Bool // set once err is
	err    error       // the first write's error
}

// createEvidence creates the evidence table at path; posts formats the
// rows' post ids.
func createEvidence(path string, posts *postIDs) (*evidenceWriter, error) {
	w, err := pqio.Create[schema.Evidence](path)
	if err != nil {
		return nil, err
	}
	ev := &evidenceWriter{w: w, cur: newEvidenceBatch(posts), full: make(chan *evidenceBatch),
		free: make(chan *evidenceBatch, 2), done: make(chan error, 1)}
	ev.free <- newEvidenceBatch(posts)
	go func() {
		for b := range ev.full {
			if ev.err == nil {
				if err := b.flush(w); err != nil {
					ev.err = err
					ev.failed.Store(true)
				}
			}
			b.reset()
			ev.free <- b
		}
		ev.done <- ev.err
	}()
	return ev, nil
}

// add adds a row with the ids of posts a and b as its post_a and post_b;
// it returns the error of a write that failed before.
func (ev *evidenceWriter) add(row schema.Evidence, postA, postB uint32) error {
	return ev.addNums(row, postA, postB, ev.cur.posts.numOf(postA), ev.cur.posts.numOf(postB))
}

// addNums is add given the numbers of the two posts (postIDs.numOf).
func (ev *evidenceWriter) addNums(row schema.Evidence, postA, postB uint32, numA, numB uint64) error {
	if ev.cur.add(row, postA, postB, numA, numB) {
		if ev.failed.Load() {
			return ev.err
		}
		ev.full <- ev.cur
		ev.cur = <-ev.free
	}
	return nil
}

// close writes the last rows, closes the table and returns its row count;
// on an error it removes the table.
func (ev *evidenceWriter) close() (int64, error) {
	ev.full <- ev.cur
	close(ev.full)
	if err := <-ev.done; err != nil {
		ev.w.Abort()
		return 0, err
	}
	rows := ev.w.Rows()
	return rows, ev.w.Close()
}

// abort stops the writing and removes the table.
func (ev *evidenceWriter) abort() {
	close(ev.full)
	<-ev.done
	ev.w.Abort()
}

// evidenceBatch gathers evidence rows to write, their post ids formatted
// into one buffer that becomes one string per batch instead of two per row.
type evidenceBatch struct {
	posts *postIDs
	rows  []schema.Evidence
	ids   []byte
	ends  []int // end of each row's post_a, then post_b, in ids
}

const evidenceBatchRows = 4096

func newEvidenceBatch(posts *postIDs) *evidenceBatch {
	return &evidenceBatch{posts: posts, rows: make([]schema.Evidence, 0, evidenceBatchRows),
		ends: make([]int, 0, 2*evidenceBatchRows)}
}

// add appends row with the ids of posts a and b, whose numbers are numA
// and numB, as its post_a and post_b and reports whether the batch is
// full.
func (b *evidenceBatch) add(row schema.Evidence, postA, postB uint32, numA, numB uint64) bool {
	b.ids = b.posts.appendNum(b.ids, postA, numA)
	b.ends = append(b.ends, len(b.ids))
	b.ids = b.posts.appendNum(b.ids, postB, numB)
	b.ends = append(b.ends, len(b.ids))
	b.rows = append(b.rows, row)
	return len(b.rows) == evidenceBatchRows
}

// flush writes the batch's rows and empties it.
func (b *evidenceBatch) flush(w *pqio.Writer[schema.Evidence]) error {
	ids := string(b.ids)
	start := 0
	for i := range b.rows {
		b.rows[i].PostA = ids[start:b.ends[2*i]]
		b.rows[i].PostB = ids[b.ends[2*i]:b.ends[2*i+1]]
		start = b.ends[2*i+1]
	}
	err := w.Write(b.rows...)
	b.reset()
	return err
}

// reset empties the batch.
func (b *evidenceBatch) reset() {
	clear(b.rows)
	b.rows, b.ids, b.ends = b.rows[:0], b.ids[:0], b.ends[:0]
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

func makePair(a, b uint32) uint64 { return uint64(a)<<32 | uint64(b) }

func unpair(p uint64) (uint32, uint32) { return uint32(p >> 32), uint32(p) }
