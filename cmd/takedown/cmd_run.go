package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/sysmem"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/fetch"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

const defaultDataset = "demo"

// paramFlags are the stage parameters, shared by run and the stage commands.
func paramFlags() []cli.Flag {
	d := runner.DefaultParams()
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Value: d.Normalize.Format, Category: "normalize",
			Usage: "archive format: auto (detect from each file's header; a dataset's own format is used as a hint) or one of " + strings.Join(normalize.Formats(), ", ")},
		&cli.StringFlag{Name: "map", Value: d.Normalize.Map, Category: "normalize",
			Usage: "column map of the generic format: key=COLUMN pairs, comma-separated, keys " + strings.Join(normalize.MapKeys(), ", ") + " (account, post, time required; time=COLUMN:rfc3339|s|ms fixes the time spelling, else it is detected per file); every file is then read as generic"},
		&cli.IntFlag{Name: "min-text-runes", Value: d.Fingerprint.MinTextRunes, Category: "fingerprint",
			Usage: "normalized texts shorter than this get no text key"},
		&cli.IntFlag{Name: "min-hashtag-seq", Value: d.Fingerprint.MinHashtagSeq, Category: "fingerprint",
			Usage: "posts with at least this many hashtags get a hashtag sequence key (co_hashtag_seq)"},
		&cli.IntFlag{Name: "minhash-permutations", Value: d.Fingerprint.MinHashPermutations, Category: "fingerprint",
			Usage: "MinHash signature length; bands use rows = permutations/bands values each"},
		&cli.IntFlag{Name: "minhash-bands", Value: d.Fingerprint.MinHashBands, Category: "fingerprint",
			Usage: "LSH band keys per text; the Jaccard threshold is about (1/bands)^(1/rows)"},
		&cli.IntFlag{Name: "shingle-size", Value: d.Fingerprint.ShingleSize, Category: "fingerprint",
			Usage: "words per MinHash shingle (word n-grams of the normalized text)"},
		&cli.StringFlag{Name: "image-decode", Value: d.Fingerprint.ImageDecode, Category: "fingerprint",
			Usage: "image hashes' decode route: fast (JPEGs of at least 512x512 that are baseline or extended sequential are read at 1/4 scale from their DCT coefficients; PDQ is close to, not equal to, the reference's) or exact (every image decoded in full; PDQ bit-exact)"},
		&cli.StringFlag{Name: "window", Value: strconv.FormatFloat(d.Cluster.WindowSeconds, 'g', -1, 64), Category: "cluster",
			Usage: "seconds: two posts of one item within +-window (inclusive) are co-shared; auto: estimate it from the URLs (CooRnet's coordination interval)",
			Action: func(_ *cli.Context, v string) error {
				if _, _, err := cluster.ParseWindow(v); err != nil {
					return usagef("%v", err)
				}
				return nil
			}},
		&cli.IntFlag{Name: "min-weight", Value: d.Cluster.MinWeight, Category: "cluster",
			Usage: "keep an edge when its accounts co-shared at least this many distinct items"},
		&cli.Float64Flag{Name: "min-score", Value: d.Cluster.MinScore, Category: "cluster",
			Usage: "a pair joins the cluster graph when its rarity-weighted score over all signals reaches this (see docs/stages/cluster.md)"},
		&cli.StringSliceFlag{Name: "signals", Value: cli.NewStringSlice(d.Cluster.Signals...), Category: "cluster",
			Usage: "signals that make edges, repeat or comma-separate: " + strings.Join(cluster.Signals, ", ")},
		&cli.IntFlag{Name: "max-evidence-per-edge", Value: d.Cluster.MaxEvidencePerEdge, Category: "cluster",
			Usage: "evidence rows kept per edge"},
		&cli.IntFlag{Name: "max-item-accounts", Value: d.Cluster.MaxItemAccounts, Category: "cluster",
			Usage: "bound on accounts per item within one window (viral items); what is bounded is reported"},
		&cli.Float64Flag{Name: "min-affinity", Value: d.Cluster.MinAffinity, Category: "cluster",
			Usage: "a pair joins the cluster graph when its score over the geometric mean of the two accounts' posts reaches this; 0 = off"},
		&cli.Float64Flag{Name: "score-percentile", Value: d.Cluster.ScorePercentile, Category: "cluster",
			Usage: "keep only pairs whose combined score is at or above this quantile of all pairs' scores (e.g. 0.9); 0 = off"},
		&cli.StringFlag{Name: "communities", Value: d.Cluster.Communities, Category: "cluster",
			Usage: "clusters are the graph's connected components (components) or their Louvain communities (louvain)"},
		&cli.Float64Flag{Name: "resolution", Value: d.Cluster.Resolution, Category: "cluster",
			Usage: "Louvain modularity resolution (with --communities louvain)"},
		&cli.Float64Flag{Name: "near-threshold", Value: d.Cluster.NearThreshold, Category: "cluster",
			Usage: "near_text: Jaccard similarity of shingles (of --shingle-size words, as the band keys) a MinHash candidate pair needs, in (0,1]"},
		&cli.IntFlag{Name: "image-distance", Value: d.Cluster.Images.Distance, Category: "cluster",
			Usage: "near_image: largest PDQ distance (of 256 bits) between two near-duplicate images"},
		&cli.IntFlag{Name: "image-min-quality", Value: d.Cluster.Images.MinQuality, Category: "cluster",
			Usage: "near_image: PDQ quality (0-100) an image needs; below it images are nearly featureless and left out"},
		&cli.StringFlag{Name: "compat", Value: d.Cluster.Compat, Category: "cluster",
			Usage: "cnt (or coordination-network-toolkit): also write the coordination-network-toolkit's co_tweet/co_retweet/co_link networks (cnt_edges.csv, .graphml); coortweet: CooRTweet's co-repost network (coortweet_edges.csv, .graphml)"},
		&cli.Float64Flag{Name: "coortweet-window", Value: d.Cluster.CooRTweet.WindowSeconds, Category: "cluster",
			Usage: "--compat coortweet: CooRTweet's time_window, seconds (inclusive)"},
		&cli.IntFlag{Name: "coortweet-min-participation", Value: d.Cluster.CooRTweet.MinParticipation, Category: "cluster",
			Usage: "--compat coortweet: CooRTweet's min_participation (shares an account needs)"},
		&cli.StringFlag{Name: "coortweet-loops", Value: cluster.CooRTweetLoopsFlag(d.Cluster.CooRTweet.RemoveLoops), Category: "cluster",
			Usage: "--compat coortweet: remove (CooRTweet's remove_loops = TRUE) or keep loops",
			Action: func(_ *cli.Context, v string) error {
				if _, err := cluster.ParseCooRTweetLoops(v); err != nil {
					return usagef("%v", err)
				}
				return nil
			}},
		&cli.Float64Flag{Name: "coortweet-edge-weight", Value: d.Cluster.CooRTweet.EdgeWeight, Category: "cluster",
			Usage: "--compat coortweet: CooRTweet's edge_weight, the quantile of edge weights above which weight_threshold is 1, in [0,1]"},
		&cli.IntFlag{Name: "coortweet-subgraph", Value: d.Cluster.CooRTweet.Subgraph, Category: "cluster",
			Usage: "--compat coortweet: CooRTweet's subgraph, 0 (every edge) or 1 (only edges with weight_threshold 1)"},
		&cli.IntFlag{Name: "top-n", Value: d.Summarize.TopN, Category: "summarize",
			Usage: "entries in each top list of the summaries"},
		&cli.IntFlag{Name: "burst-days", Value: d.Summarize.BurstDays, Category: "summarize",
			Usage: "account-creation bursts: window in days"},
		&cli.IntFlag{Name: "burst-min-accounts", Value: d.Summarize.BurstMinAccounts, Category: "summarize",
			Usage: "account-creation bursts: accounts a window must hold"},
		&cli.StringFlag{Name: "sensitivity-windows", Value: runner.FormatFloats(d.Summarize.SensitivityWindows), Category: "summarize",
			Usage:  "sensitivity grid: cluster windows in seconds, comma-separated (those above the cluster run's --window are left out; the run's own is added)",
			Action: checkList(runner.ParseFloats)},
		&cli.StringFlag{Name: "sensitivity-min-weights", Value: runner.FormatInts(d.Summarize.SensitivityMinWeights), Category: "summarize",
			Usage:  "sensitivity grid: cluster --min-weight values, comma-separated (the run's own is added)",
			Action: checkList(runner.ParseInts)},
		&cli.StringFlag{Name: "sensitivity-min-scores", Value: runner.FormatFloats(d.Summarize.SensitivityMinScores), Category: "summarize",
			Usage:  "sensitivity grid: cluster --min-score values, comma-separated (the run's own is added)",
			Action: checkList(runner.ParseFloats)},
	}
}

// checkList is the Action of a list flag: a usage error when parse fails.
func checkList[T any](parse func(string) ([]T, error)) func(*cli.Context, string) error {
	return func(c *cli.Context, v string) error {
		if _, err := parse(v); err != nil {
			return usagef("%v", err)
		}
		return nil
	}
}

// resourceFlags bound what a run may use without changing its outputs:
// they are not parameters (not in the run id, not in a study file).
func resourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "memory", Category: "cluster",
			Usage: "memory budget, e.g. 4GiB (default: half the machine's memory, from 1 GiB to 1.5 GiB unless the run's resident data need more; under a memory cgroup's limit (Slurm --mem, a container's limit) half of it and at most the limit less " + sysmem.FormatBytes(sysmem.Headroom) + "); above it the stage works in partitions spilled to disk, with the same output bytes; not a parameter",
			Action: func(_ *cli.Context, v string) error {
				if _, err := sysmem.ParseBytes(v); err != nil {
					return usagef("%v", err)
				}
				return nil
			}},
		&cli.IntFlag{Name: "partitions", Category: "cluster",
			Usage: "work in this many partitions whatever --memory (1: all in memory); 0 = from --memory; not a parameter"},
	}
}

func paramsFrom(c *cli.Context) runner.Params {
	p := runner.DefaultParams()
	applyParamFlags(c, &p, false)
	return p
}

// applyParamFlags sets p's parameters from the command's flags: every one,
// or with onlySet only those given on the command line (over a study
// file's). It returns the names of the flags it applied.
func applyParamFlags(c *cli.Context, p *runner.Params, onlySet bool) []string {
	var applied []string
	set := func(name string, apply func()) {
		if !onlySet || c.IsSet(name) {
			apply()
			if c.IsSet(name) {
				applied = append(applied, "--"+name)
			}
		}
	}
	set("format", func() { p.Normalize.Format = c.String("format") })
	set("map", func() { p.Normalize.Map = c.String("map") })
	set("min-text-runes", func() { p.Fingerprint.MinTextRunes = c.Int("min-text-runes") })
	// --window was checked by its flag Action.
	set("window", func() { p.Cluster.WindowSeconds, p.Cluster.WindowAuto, _ = cluster.ParseWindow(c.String("window")) })
	set("min-weight", func() { p.Cluster.MinWeight = c.Int("min-weight") })
	set("min-score", func() { p.Cluster.MinScore = c.Float64("min-score") })
	set("min-hashtag-seq", func() { p.Fingerprint.MinHashtagSeq = c.Int("min-hashtag-seq") })
	set("minhash-permutations", func() { p.Fingerprint.MinHashPermutations = c.Int("minhash-permutations") })
	set("minhash-bands", func() { p.Fingerprint.MinHashBands = c.Int("minhash-bands") })
	set("shingle-size", func() { p.Fingerprint.ShingleSize = c.Int("shingle-size") })
	set("image-decode", func() { p.Fingerprint.ImageDecode = c.String("image-decode") })
	set("signals", func() {
		var sig []string
		for _, s := range c.StringSlice("signals") {
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					sig = append(sig, part)
				}
			}
		}
		p.Cluster.Signals = sig
	})
	set("max-evidence-per-edge", func() { p.Cluster.MaxEvidencePerEdge = c.Int("max-evidence-per-edge") })
	set("max-item-accounts", func() { p.Cluster.MaxItemAccounts = c.Int("max-item-accounts") })
	set("min-affinity", func() { p.Cluster.MinAffinity = c.Float64("min-affinity") })
	set("score-percentile", func() { p.Cluster.ScorePercentile = c.Float64("score-percentile") })
	set("communities", func() { p.Cluster.Communities = c.String("communities") })
	set("resolution", func() { p.Cluster.Resolution = c.Float64("resolution") })
	set("near-threshold", func() { p.Cluster.NearThreshold = c.Float64("near-threshold") })
	set("compat", func() { p.Cluster.Compat = cluster.ParseCompat(c.String("compat")) })
	set("coortweet-window", func() { p.Cluster.CooRTweet.WindowSeconds = c.Float64("coortweet-window") })
	set("coortweet-min-participation", func() { p.Cluster.CooRTweet.MinParticipation = c.Int("coortweet-min-participation") })
	// --coortweet-loops was checked by its flag Action.
	set("coortweet-loops", func() { p.Cluster.CooRTweet.RemoveLoops, _ = cluster.ParseCooRTweetLoops(c.String("coortweet-loops")) })
	set("coortweet-edge-weight", func() { p.Cluster.CooRTweet.EdgeWeight = c.Float64("coortweet-edge-weight") })
	set("coortweet-subgraph", func() { p.Cluster.CooRTweet.Subgraph = c.Int("coortweet-subgraph") })
	image := func(f func(ip *cluster.ImageParams)) {
		ip := *cluster.DefaultImageParams()
		if p.Cluster.Images != nil {
			ip = *p.Cluster.Images
		}
		f(&ip)
		p.Cluster.Images = &ip // a copy: Params values may share the pointer
	}
	set("image-distance", func() { image(func(ip *cluster.ImageParams) { ip.Distance = c.Int("image-distance") }) })
	set("image-min-quality", func() { image(func(ip *cluster.ImageParams) { ip.MinQuality = c.Int("image-min-quality") }) })
	set("top-n", func() { p.Summarize.TopN = c.Int("top-n") })
	set("burst-days", func() { p.Summarize.BurstDays = c.Int("burst-days") })
	set("burst-min-accounts", func() { p.Summarize.BurstMinAccounts = c.Int("burst-min-accounts") })
	// The lists were checked by their flags' Actions.
	set("sensitivity-windows", func() { p.Summarize.SensitivityWindows, _ = runner.ParseFloats(c.String("sensitivity-windows")) })
	set("sensitivity-min-weights", func() { p.Summarize.SensitivityMinWeights, _ = runner.ParseInts(c.String("sensitivity-min-weights")) })
	set("sensitivity-min-scores", func() { p.Summarize.SensitivityMinScores, _ = runner.ParseFloats(c.String("sensitivity-min-scores")) })
	return applied
}

// resourcesFrom returns the cluster stage's --memory and --partitions. They
// bound what a run may use and do not change its outputs, so they are not
// parameters: not in the run id, not in the manifest.
func resourcesFrom(c *cli.Context) (cluster.Resources, error) {
	var r cluster.Resources
	if v := c.String("memory"); v != "" {
		b, err := sysmem.ParseBytes(v)
		if err != nil {
			return r, usagef("%v", err)
		}
		if b == 0 {
			return r, usagef("--memory must be above 0, got %q", v)
		}
		r.Memory = b
	}
	r.Partitions = c.Int("partitions")
	if err := r.Validate(); err != nil {
		return r, usagef("%v", err)
	}
	return r, nil
}

func datasetArg(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return defaultDataset, nil
	case 1:
		return c.Args().First(), nil
	}
	return "", usagef("%s takes at most one DATASET argument, got %d", c.Command.Name, c.NArg())
}

func runCommand(g *globals) *cli.Command {
	flags := append([]cli.Flag{
		&cli.StringFlag{Name: "from", Usage: "first stage to run (fetch, normalize, fingerprint, cluster, summarize)"},
		&cli.StringFlag{Name: "to", Usage: "last stage to run"},
		&cli.StringFlag{Name: "from-dir", Usage: "fetch: import the release's files from this folder"},
	}, append(downloadFlags(), append(paramFlags(), resourceFlags()...)...)...)
	return &cli.Command{
		Name:      "run",
		Usage:     "run every stage that is not current (fetch -> normalize -> fingerprint -> cluster -> summarize)",
		ArgsUsage: "[DATASET]  (default: demo, the embedded synthetic release)",
		Description: "Each stage's run id hashes its stage version, parameters and input digests; a stage\n" +
			"whose run id is already published is a cache hit and does no work.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			o := runner.Options{
				From: c.String("from"), To: c.String("to"), FromDir: c.String("from-dir"),
				Download: downloadOptionsFrom(c), Refetch: c.Bool("refetch"), Repin: c.Bool("repin"),
			}
			var err error
			if o.Resources, err = resourcesFrom(c); err != nil {
				return err
			}
			s, err := g.loadStudy()
			if err != nil {
				return err
			}
			if s != nil {
				return studyRun(c, g, s, o)
			}
			if o.Dataset, err = datasetArg(c); err != nil {
				return err
			}
			o.Params = paramsFrom(c)
			o.Params.Fetch.Media = c.Bool("media")
			return doRun(c, g, o)
		},
	}
}

func stageCommand(g *globals, stage, usage string) *cli.Command {
	flags := append(paramFlags(), resourceFlags()...)
	sharded := slices.Contains(runner.ShardedStages(), stage)
	if sharded {
		flags = append(flags,
			&cli.StringFlag{Name: "shard", Category: "shards",
				Usage: "compute only shard INDEX/COUNT of this stage's run (e.g. 0/4) and publish it under shards/; the run is made by --merge COUNT once every shard is published"},
			&cli.IntFlag{Name: "merge", Category: "shards",
				Usage: "make this stage's run from its COUNT published shards: the bytes an unsharded run writes, under the same run id"})
	}
	if stage == "fetch" {
		flags = append(flags,
			&cli.StringFlag{Name: "from-dir", Usage: "import the release's files from this folder (the files a researcher downloaded by hand)"},
			// The old name, kept so that `fetch --from DIR` in existing
			// scripts and the registry's dataset descriptions still works;
			// help shows --from-dir only, since in run --from is a stage.
			&cli.StringFlag{Name: "from", Hidden: true, Usage: "old name of --from-dir"})
		flags = append(flags, downloadFlags()...)
	}
	return &cli.Command{
		Name:      stage,
		Usage:     usage,
		ArgsUsage: "[DATASET]  (default: demo)",
		Description: "Runs only this stage (its upstream stages must be current). The parameters of the\n" +
			"other stages are accepted and ignored, so one flag set fits every stage command.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			ds, err := datasetArg(c)
			if err != nil {
				return err
			}
			o := runner.Options{Dataset: ds, From: stage, To: stage, Params: paramsFrom(c)}
			if o.Resources, err = resourcesFrom(c); err != nil {
				return err
			}
			if sharded {
				if v := c.String("shard"); v != "" {
					if o.Shard, err = runner.ParseShard(v); err != nil {
						return err
					}
				}
				o.Merge = c.Int("merge")
			}
			if stage == "fetch" {
				if o.FromDir, err = fromDirFlag(c); err != nil {
					return err
				}
				o.Download, o.Refetch, o.Repin = downloadOptionsFrom(c), c.Bool("refetch"), c.Bool("repin")
				o.Params.Fetch.Media = c.Bool("media")
			}
			s, err := g.loadStudy()
			if err != nil {
				return err
			}
			if s != nil {
				return studyRun(c, g, s, o)
			}
			return doRun(c, g, o)
		},
	}
}

// fromDirFlag is fetch's folder: --from-dir, or its old name --from.
func fromDirFlag(c *cli.Context) (string, error) {
	if c.IsSet("from") {
		if c.IsSet("from-dir") {
			return "", usagef("give the folder once, with --from-dir (--from is its old name)")
		}
		return c.String("from"), nil
	}
	return c.String("from-dir"), nil
}

func doRun(c *cli.Context, g *globals, o runner.Options) error {
	if err := prepareRun(g, &o); err != nil {
		return err
	}
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	start := time.Now()
	results, err := r.Run(c.Context, o)
	if err != nil {
		return err
	}
	printResults(g, r.WS.Root, o, results)
	if !g.json {
		g.out("done in %.1fs\n", time.Since(start).Seconds())
	}
	return nil
}

// prepareRun checks the download options and sets how downloads report
// progress.
func prepareRun(g *globals, o *runner.Options) error {
	if o.Download.Mirror != "" {
		if _, err := fetch.MirrorURL("https://example.org/x", o.Download.Mirror); err != nil {
			return usageError{err}
		}
	}
	if g.json {
		o.Download.Progress = fetch.JSONProgress(g.log)
	}
	return nil
}

// printResults reports the stage results of one run of a dataset (in a
// variant, for a study's).
func printResults(g *globals, root string, o runner.Options, results []runner.Result) {
	if g.json {
		for _, res := range results {
			attrs := []any{"event", "result", "dataset", o.Dataset, "stage", res.Stage, "run_id", res.RunID, "cached", res.Cached,
				"dir", res.Dir, "wall_ms", res.WallMillis, "outputs", res.Outputs, "stats", res.Stats}
			if o.Variant != "" {
				attrs = append(attrs, "variant", o.Variant)
			}
			if res.Shard != "" {
				attrs = append(attrs, "shard", res.Shard)
			}
			g.log.Info("stage result", attrs...)
		}
		return
	}
	head := fmt.Sprintf("dataset %s  workspace %s", o.Dataset, root)
	if o.Variant != "" {
		head = fmt.Sprintf("dataset %s  variant %s", o.Dataset, o.Variant)
	}
	g.out("%s\n", head)
	for _, res := range results {
		state := fmt.Sprintf("ran in %s", (time.Duration(res.WallMillis) * time.Millisecond).String())
		if res.Cached {
			state = "cache hit (no work)"
		}
		if res.Shard != "" {
			if res.Cached && filepath.Base(res.Dir) == res.RunID {
				state = "run published (no work)"
			}
			g.out("  %-11s %s  %-22s shard %s: %s\n", res.Stage, res.RunID, state, res.Shard, res.Dir)
			continue
		}
		g.out("  %-11s %s  %-22s %s\n", res.Stage, res.RunID, state, statLine(res))
		if res.Stage == normalize.Name && !g.quiet && o.Variant == "" {
			g.out("%s", normalizeTable(res))
		}
	}
	for _, res := range results {
		if res.Shard != "" {
			continue
		}
		switch res.Stage {
		case "normalize":
			g.out("tables:  %s\n", res.Dir)
		case "cluster":
			g.out("clusters: %s\n", res.Dir)
		case "summarize":
			g.out("report:  %s\n         %s\n", filepath.Join(res.Dir, "report.html"), filepath.Join(res.Dir, "report.md"))
		}
	}
}

// normalizeTable renders the per-file table of a normalize result, or
// nothing when its stats do not decode.
func normalizeTable(res runner.Result) string {
	var st normalize.Stats
	if err := json.Unmarshal(res.Stats, &st); err != nil {
		return ""
	}
	return st.Table()
}

// statLine picks the headline counts of a stage's stats.
func statLine(res runner.Result) string {
	var m map[string]any
	if err := json.Unmarshal(res.Stats, &m); err != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"accounts", "posts", "rejects", "with_text_key", "edges", "window_ms", "clusters", "clustered_accounts", "bytes"} {
		switch v := m[k].(type) {
		case float64:
			parts = append(parts, fmt.Sprintf("%s=%d", k, int64(v)))
		case map[string]any:
			var n float64
			for _, x := range v {
				if f, ok := x.(float64); ok {
					n += f
				}
			}
			parts = append(parts, fmt.Sprintf("%s=%d", k, int64(n)))
		}
	}
	if v, ok := m["edges_by_signal"].(map[string]any); ok {
		var n float64
		for _, x := range v {
			if f, ok := x.(float64); ok {
				n += f
			}
		}
		parts = append(parts, fmt.Sprintf("edges=%d", int64(n)))
	}
	return strings.Join(parts, " ")
}

// downloadFlags are fetch's download settings, shared by fetch and run.
// They say how to get the bytes, never which bytes: they do not enter run ids.
func downloadFlags() []cli.Flag {
	d := fetch.DefaultDownloadOptions()
	return []cli.Flag{
		&cli.StringFlag{Name: "mirror", Category: "fetch", EnvVars: []string{"TAKEDOWN_MIRROR"},
			Usage: "download from this base URL instead of each file's host (the URL's path is kept)"},
		&cli.IntFlag{Name: "jobs", Value: d.Jobs, Category: "fetch", Usage: "files downloaded at once"},
		&cli.IntFlag{Name: "retries", Value: d.Retries, Category: "fetch",
			Usage: "retries of a failed download (5xx, timeouts, cut connections), with backoff; downloads resume"},
		&cli.BoolFlag{Name: "media", Category: "fetch",
			Usage: "also fetch a registry release's media archives (files of role media; often hundreds of GB); a local or generated dataset's media is used without it; normalize then writes the media table"},
		&cli.BoolFlag{Name: "refetch", Category: "fetch",
			Usage: "download again even when fetch is current, and check the bytes against their pins"},
		&cli.BoolFlag{Name: "repin", Category: "fetch",
			Usage: "download again and accept new bytes for files the registry gives no digest for (re-issued releases)"},
	}
}

func downloadOptionsFrom(c *cli.Context) fetch.DownloadOptions {
	o := fetch.DefaultDownloadOptions()
	o.Mirror = c.String("mirror")
	o.Jobs = c.Int("jobs")
	o.Retries = c.Int("retries")
	o.Refetch = c.Bool("refetch") || c.Bool("repin")
	return o
}
