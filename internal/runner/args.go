package runner

import (
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/pipeline/cluster"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

// runFlag is one flag of `takedown run` that sets a stage parameter, with
// the flag value a Params gives it.
type runFlag struct {
	name  string
	value func(p Params) string
}

func itoa(n int) string          { return strconv.Itoa(n) }
func ftoa(x float64) string      { return strconv.FormatFloat(x, 'g', -1, 64) }
func joinList(s []string) string { return strings.Join(s, ",") }

// runFlags are the parameter flags of `takedown run`, in the order of its
// help. cmd/takedown defines the flags; its tests check that this list
// names every one of them and that RunArgs gives back the parameters.
var runFlags = []runFlag{
	{"format", func(p Params) string { return p.Normalize.Format }},
	{"map", func(p Params) string { return p.Normalize.Map }},
	{"min-text-runes", func(p Params) string { return itoa(p.Fingerprint.MinTextRunes) }},
	{"min-hashtag-seq", func(p Params) string { return itoa(p.Fingerprint.MinHashtagSeq) }},
	{"minhash-permutations", func(p Params) string { return itoa(p.Fingerprint.MinHashPermutations) }},
	{"minhash-bands", func(p Params) string { return itoa(p.Fingerprint.MinHashBands) }},
	{"shingle-size", func(p Params) string { return itoa(p.Fingerprint.ShingleSize) }},
	{"image-decode", func(p Params) string { return p.Fingerprint.ImageDecode }},
	{"window", func(p Params) string {
		if p.Cluster.WindowAuto {
			return "auto"
		}
		return ftoa(p.Cluster.WindowSeconds)
	}},
	{"min-weight", func(p Params) string { return itoa(p.Cluster.MinWeight) }},
	{"min-score", func(p Params) string { return ftoa(p.Cluster.MinScore) }},
	{"signals", func(p Params) string { return joinList(p.Cluster.Signals) }},
	{"max-evidence-per-edge", func(p Params) string { return itoa(p.Cluster.MaxEvidencePerEdge) }},
	{"max-item-accounts", func(p Params) string { return itoa(p.Cluster.MaxItemAccounts) }},
	{"min-affinity", func(p Params) string { return ftoa(p.Cluster.MinAffinity) }},
	{"score-percentile", func(p Params) string { return ftoa(p.Cluster.ScorePercentile) }},
	{"communities", func(p Params) string { return p.Cluster.Communities }},
	{"resolution", func(p Params) string { return ftoa(p.Cluster.Resolution) }},
	{"near-threshold", func(p Params) string { return ftoa(p.Cluster.NearThreshold) }},
	{"image-distance", func(p Params) string {
		if p.Cluster.Images == nil {
			return ""
		}
		return itoa(p.Cluster.Images.Distance)
	}},
	{"image-min-quality", func(p Params) string {
		if p.Cluster.Images == nil {
			return ""
		}
		return itoa(p.Cluster.Images.MinQuality)
	}},
	{"compat", func(p Params) string { return p.Cluster.Compat }},
	{"coortweet-window", func(p Params) string { return ftoa(p.Cluster.CooRTweet.WindowSeconds) }},
	{"coortweet-min-participation", func(p Params) string { return itoa(p.Cluster.CooRTweet.MinParticipation) }},
	{"coortweet-loops", func(p Params) string { return cluster.CooRTweetLoopsFlag(p.Cluster.CooRTweet.RemoveLoops) }},
	{"coortweet-edge-weight", func(p Params) string { return ftoa(p.Cluster.CooRTweet.EdgeWeight) }},
	{"coortweet-subgraph", func(p Params) string { return itoa(p.Cluster.CooRTweet.Subgraph) }},
	{"top-n", func(p Params) string { return itoa(p.Summarize.TopN) }},
	{"burst-days", func(p Params) string { return itoa(p.Summarize.BurstDays) }},
	{"burst-min-accounts", func(p Params) string { return itoa(p.Summarize.BurstMinAccounts) }},
	{"sensitivity-windows", func(p Params) string { return FormatFloats(p.Summarize.SensitivityWindows) }},
	{"sensitivity-min-weights", func(p Params) string { return FormatInts(p.Summarize.SensitivityMinWeights) }},
	{"sensitivity-min-scores", func(p Params) string { return FormatFloats(p.Summarize.SensitivityMinScores) }},
}

// RunFlagNames lists the flags RunArgs can write.
func RunFlagNames() []string {
	out := make([]string, len(runFlags))
	for i, f := range runFlags {
		out[i] = f.name
	}
	return out
}

// RunArgs returns the flags of `takedown run` that give p for dataset d:
// every flag whose value differs from the one the defaults give, as
// "--name", "value" pairs. Parameters that no flag sets (those the runner
// derives or fills in: the fingerprint stage's minhash and cnt keys, the
// normalize format hint of the descriptor, summarize's published figures)
// are compared as the runner completes them, so they add no flag.
func RunArgs(p Params, d datasets.Descriptor) []string {
	def := DefaultParams()
	def.Normalize = normalize.WithFormatHint(def.Normalize, d.Format, d.Map)
	if p.Cluster.Images == nil {
		// The runner dropped the image signals (no image fingerprints):
		// compare with the defaults as it completes them.
		def.Cluster = cluster.WithoutImages(def.Cluster)
	}
	var out []string
	for _, f := range runFlags {
		if v := f.value(p); v != f.value(def) {
			out = append(out, "--"+f.name, v)
		}
	}
	return out
}
