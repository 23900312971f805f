// Package summarize is the last stage of the pipeline. It reads the canonical
// tables of one dataset (accounts, posts, rejects, fingerprints, edges and
// clusters) and writes the summary tables (release_summary, cluster_summary,
// daily_timeline, top_entities, account_creation, creation_bursts,
// coordination_share and, when the release has published figures,
// published_comparison), a Markdown
// report, report.md, and a self-contained HTML report with charts,
// report.html.
//
// Every input is streamed, never loaded whole. What the stage keeps in
// memory is bounded by the number of accounts, clusters and days and by a
// fixed spill budget, not by the number of posts, fingerprints or pairs:
//
//	clusters ──► member map (accounts in clusters are few)
//	edges    ──► per-cluster signal counts
//	accounts ──► creation days, follower snapshots
//	posts    ──► release and per-cluster sums; one repost bit per row ─► file;
//	             distinct (day, account) pairs and entity values ─► spilled counter
//	fingerprints ─► text owners (copy share), cluster texts ─► spilled counters;
//	                keyed posts (coordination share) ─► spilled sort
//	pair_scores ─► pair scores per (window, min weight) ─► spilled sort
//	rejects  ──► counts by reason
//
// The spilled counters and sorts (spill.go, coordination.go) write sorted
// runs under the output directory above their budget and merge them in key
// order; what the stage keeps of them is TopN entries per list.
//
// Every output is sorted on explicit keys, and no wall clock is read, so the
// same inputs give byte-identical outputs on any machine and any GOMAXPROCS.
package summarize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/progress"
)

// Name is the stage name.
const Name = "summarize"

// Version is bumped when the meaning of the stage's outputs changes.
// Version 3: hashtags and domains are counted with the rules the
// fingerprint stage keys them with (internal/rules): hashtags case-folded
// and NFKC-normalized with every leading '#' dropped, instead of lowercased
// with one '#' dropped; domains of http(s) URLs only, as in domain_keys.
// Version 4: the reports name their run and its provenance (dataset,
// citation, upstream runs and parameters, source files, the commands that
// recompute it), the parameters carry it (provenance), and the charts have
// axis titles and labels clipped to fit. Version 5: the sensitivity table
// and the report's parameter sensitivity section, recomputed from the
// cluster run's pair_scores over a grid of windows, minimum weights and
// minimum scores (the sensitivity_* parameters); coordination_share (the
// co-tweet and co-retweet share of Schoch et al. 2022) and its report
// section; published_comparison compares the figures published per account
// category. Version 6: the reports' provenance lists the sensitivity grid
// among the stage's own parameters. Version 7: all of these in one stage,
// with the media thumbnails of the largest clusters.
const Version = 7

// ReportFile is the name of the Markdown report written next to the tables.
const ReportFile = "report.md"

// HTMLReportFile is the name of the HTML report written next to the tables.
const HTMLReportFile = "report.html"

// ScopeRelease is the scope of daily_timeline and top_entities rows that
// describe the whole release. Any other scope is a cluster id.
const ScopeRelease = "release"

// Entity kinds of the top_entities table.
const (
	KindClient   = "client"
	KindDomain   = "domain"
	KindHashtag  = "hashtag"
	KindLanguage = "language"
	KindMention  = "mention"
)

// Role values of the clusters table that the summary counts. Any other role
// is counted as neither.
const (
	RoleOriginator = "originator"
	RoleAmplifier  = "amplifier"
)

// Params holds every parameter of the stage; it enters the run id.
type Params struct {
	// TopN is how many entries each ranked list keeps (entities, texts,
	// clusters and bursts in the report).
	TopN int `json:"top_n"`
	// BurstDays is the width, in UTC calendar days, of the window that
	// defines an account creation burst.
	BurstDays int `json:"burst_days"`
	// BurstMinAccounts is how many accounts a window must hold to count as a
	// creation burst.
	BurstMinAccounts int `json:"burst_min_accounts"`
	// Published holds the figures published for the release (from its
	// registry descriptor); when set, published_comparison.parquet compares
	// them with the computed values. The runner fills it in, so editing a
	// descriptor's figures gives a new run id.
	Published *datasets.Published `json:"published,omitempty"`
	// Provenance names the dataset, its citation, the upstream runs and
	// their parameters, for the reports; the runner fills it in, so that
	// they enter the run id (see Provenance). Nil when the stage is run
	// outside the runner: the reports then say so.
	Provenance *Provenance `json:"provenance,omitempty"`
	// SensitivityWindows, SensitivityMinWeights and SensitivityMinScores
	// are the grid of the sensitivity table: windows in seconds (those
	// above the cluster run's window are left out: pair_scores holds the
	// items found within it), the cluster stage's min_weight and min_score
	// values. The run's own values are always added.
	SensitivityWindows    []float64 `json:"sensitivity_windows"`
	SensitivityMinWeights []int     `json:"sensitivity_min_weights"`
	SensitivityMinScores  []float64 `json:"sensitivity_min_scores"`
	// ClusterRun is what the sensitivity grid needs of the cluster run
	// whose pair_scores it reads; the runner fills it in from that run's
	// manifest, so that it enters the run id. Nil outside the runner: then
	// Input.PairScoresPath must be empty too, and there is no grid.
	ClusterRun *ClusterRun `json:"cluster_run,omitempty"`
}

// DefaultParams returns the parameters used when none are given.
func DefaultParams() Params {
	return Params{TopN: 10, BurstDays: 3, BurstMinAccounts: 10,
		SensitivityWindows:    slices.Clone(defaultSensitivityWindows),
		SensitivityMinWeights: slices.Clone(defaultSensitivityMinWeights),
		SensitivityMinScores:  slices.Clone(defaultSensitivityMinScores),
	}
}

// Validate reports the first parameter out of range, naming its flag.
func (p Params) Validate() error {
	if p.TopN < 1 || p.TopN > 1000 {
		return fmt.Errorf("--top-n must be between 1 and 1000, got %d", p.TopN)
	}
	if p.BurstDays < 1 || p.BurstDays > 3660 {
		return fmt.Errorf("--burst-days must be between 1 and 3660, got %d", p.BurstDays)
	}
	if p.BurstMinAccounts < 2 {
		return fmt.Errorf("--burst-min-accounts must be at least 2, got %d", p.BurstMinAccounts)
	}
	return validateGrid(p)
}

// Input names the dataset and the absolute paths of the upstream tables.
// Every path is required. RunID and RunVersion name the run being computed
// (its run id is a hash of the parameters and input digests, so printing it
// keeps the report a function of the run id); they are optional.
type Input struct {
	Dataset          string
	RunID            string
	RunVersion       string
	AccountsPath     string
	PostsPath        string
	RejectsPath      string
	FingerprintsPath string
	EdgesPath        string
	ClustersPath     string
	// PairScoresPath is the cluster run's pair_scores table; with it (and
	// Params.ClusterRun), the stage writes the sensitivity table and the
	// report's sensitivity section. It is optional: without it there is
	// neither.
	PairScoresPath string
	// Progress counts the rows read of the input tables; nil counts
	// nothing.
	Progress progress.Meter
	// Images, optional, are the media the HTML report shows thumbnails of.
	Images ImageInput
}

func (in Input) validate() error {
	if in.Dataset == "" {
		return errors.New("summarize input: dataset is empty")
	}
	for _, f := range []struct{ name, path string }{
		{"accounts", in.AccountsPath},
		{"posts", in.PostsPath},
		{"rejects", in.RejectsPath},
		{"fingerprints", in.FingerprintsPath},
		{"edges", in.EdgesPath},
		{"clusters", in.ClustersPath},
	} {
		if f.path == "" {
			return fmt.Errorf("summarize input: %s path is empty", f.name)
		}
	}
	return nil
}

// Join methods recorded in Stats.FingerprintJoin.
const (
	// JoinRowOrder means fingerprints list the same post ids in the same
	// order as posts, so a post's repost flag was looked up by row number.
	JoinRowOrder = "row_order"
	// JoinPostID means the row orders differ, so repost flags were looked
	// up by a 64-bit FNV-1a hash of the post id (a second pass over posts).
	JoinPostID = "post_id"
)

// Stats holds deterministic facts about one run; the runner records them in
// the manifest.
type Stats struct {
	Accounts          int64  `json:"accounts"`
	Posts             int64  `json:"posts"`
	Rejects           int64  `json:"rejects"`
	Fingerprints      int64  `json:"fingerprints"`
	Edges             int64  `json:"edges"`
	Clusters          int64  `json:"clusters"`
	ClusteredAccounts int64  `json:"clustered_accounts"`
	CreationBursts    int64  `json:"creation_bursts"`
	TimelineRows      int64  `json:"timeline_rows"`
	TopEntityRows     int64  `json:"top_entity_rows"`
	CreationRows      int64  `json:"creation_rows"`
	PublishedFigures  int64  `json:"published_figures"`
	PublishedDiffers  int64  `json:"published_differs"`
	SensitivityCells  int64  `json:"sensitivity_cells"`
	FingerprintJoin   string `json:"fingerprint_join"`
}

// Run reads the tables named by in, writes release_summary.parquet,
// cluster_summary.parquet, daily_timeline.parquet, top_entities.parquet,
// account_creation.parquet, creation_bursts.parquet, coordination_share.parquet,
// published_comparison.parquet
// (only when p.Published is set), report.md and report.html into outDir, and
// returns the run's Stats.
func Run(ctx context.Context, in Input, p Params, outDir string, log *slog.Logger) (Stats, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := p.Validate(); err != nil {
		return Stats{}, err
	}
	if err := in.validate(); err != nil {
		return Stats{}, err
	}
	if (in.PairScoresPath == "") != (p.ClusterRun == nil) {
		return Stats{}, errors.New("summarize: the pair_scores path (Input.PairScoresPath) and the cluster run (Params.ClusterRun) go together")
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("summarize: %w", err)
	}
	st := newState(p)
	st.counts.dir = outDir
	defer st.counts.cleanup()
	defer func() { st.repostFlags.remove() }()
	st.in = in
	st.meter = progress.Or(in.Progress)
	var total int64
	for _, path := range []string{in.ClustersPath, in.EdgesPath, in.AccountsPath, in.PostsPath, in.FingerprintsPath, in.RejectsPath} {
		n, err := pqio.NumRows(path)
		if err != nil {
			total = -1
			break
		}
		total += n
	}
	st.meter.Phase("", progress.Rows, total)
	if err := st.readClusters(ctx, in.ClustersPath); err != nil {
		return Stats{}, err
	}
	if err := st.readEdges(ctx, in.EdgesPath); err != nil {
		return Stats{}, err
	}
	for _, n := range st.networks {
		if err := ctx.Err(); err != nil {
			return Stats{}, fmt.Errorf("summarize: %w", err)
		}
		n.finish()
	}
	if err := st.readAccounts(ctx, in.AccountsPath); err != nil {
		return Stats{}, err
	}
	log.Debug("summarize: read clusters, edges, accounts",
		"clusters", len(st.clusters), "edges", st.edges, "accounts", st.accounts)
	if err := st.readPosts(ctx, in.PostsPath); err != nil {
		return Stats{}, err
	}
	if err := st.readFingerprints(ctx, in.FingerprintsPath, in.PostsPath); err != nil {
		return Stats{}, err
	}
	if st.fpJoin == JoinPostID {
		log.Warn("summarize: fingerprints are not in posts order; joined on post id",
			"fingerprints", in.FingerprintsPath)
	}
	if err := st.readRejects(ctx, in.RejectsPath); err != nil {
		return Stats{}, err
	}
	if err := st.readCoordination(ctx, in, outDir); err != nil {
		return Stats{}, err
	}
	if p.Published != nil && len(p.Published.Categories) > 0 {
		if err := st.readCategories(ctx, p.Published); err != nil {
			return Stats{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("summarize: %w", err)
	}

	res := st.results(in.Dataset)
	stats := Stats{
		Accounts:          st.accounts,
		Posts:             st.rel.posts,
		Rejects:           st.rejects,
		Fingerprints:      st.fingerprints,
		Edges:             st.edges,
		Clusters:          int64(len(st.clusters)),
		ClusteredAccounts: int64(len(st.memberOf)),
		CreationBursts:    int64(len(res.bursts)),
		FingerprintJoin:   st.fpJoin,
	}
	var err error
	if stats.TimelineRows, stats.TopEntityRows, err = st.writeTables(ctx, res, outDir); err != nil {
		return Stats{}, err
	}
	if stats.CreationRows, err = st.writeCreation(res, outDir); err != nil {
		return Stats{}, err
	}
	if err := st.writeCoordination(in.Dataset, outDir); err != nil {
		return Stats{}, err
	}
	if p.Published != nil {
		res.published = st.comparePublished(res, p.Published)
		for _, c := range res.published {
			if c.Differs {
				stats.PublishedDiffers++
			}
		}
		stats.PublishedFigures = int64(len(res.published))
		if err := st.writePublished(res, outDir); err != nil {
			return Stats{}, err
		}
	}
	if st.images, err = st.clusterImages(res); err != nil {
		return Stats{}, fmt.Errorf("summarize images: %w", err)
	}
	if in.PairScoresPath != "" {
		if res.sensitivity, err = st.sensitivity(ctx); err != nil {
			return Stats{}, err
		}
		if err := writeSensitivity(res.sensitivity, outDir); err != nil {
			return Stats{}, err
		}
		stats.SensitivityCells = int64(len(res.sensitivity.cells))
	}
	if err := writeFileExcl(filepath.Join(outDir, ReportFile), st.report(res)); err != nil {
		return Stats{}, err
	}
	if err := writeFileExcl(filepath.Join(outDir, HTMLReportFile), st.htmlReport(res)); err != nil {
		return Stats{}, err
	}
	log.Info("summarize: done",
		"accounts", stats.Accounts, "posts", stats.Posts,
		"clusters", stats.Clusters, "copy_share", res.release.CopyShare,
		"creation_bursts", stats.CreationBursts)
	return stats, nil
}

// writeFileExcl writes data to a new file at path and fsyncs it.
func writeFileExcl(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
