package summarize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Provenance says where a run's inputs come from: the dataset and how to
// cite it, the source files, the upstream runs whose tables the stage read
// (with their parameters), and the flags of `takedown run` that reproduce
// them. The runner fills it in from the dataset's descriptor and the
// upstream runs' manifests, as Params.Provenance, so it enters the run id:
// the report prints it, and the report's bytes must be a function of the
// run id. Upstream run ids do not follow from the input digests (a stage
// rerun with other parameters that writes the same bytes keeps its
// downstream input digests), nor does a descriptor's citation, so both have
// to be hashed explicitly.
//
// The program's own version and VCS revision are deliberately not part of
// it: they change with every build while the bytes a stage version writes
// do not. They are in the run's manifest.json (code), which is not an
// output and is not compared by verify.
type Provenance struct {
	Dataset DatasetInfo `json:"dataset"`
	// Sources are the archive files the normalize run read.
	Sources []SourceFile `json:"sources,omitempty"`
	// Upstream are the runs whose tables the stage read, in pipeline order.
	Upstream []UpstreamRun `json:"upstream"`
	// RunArgs are the flags of `takedown run` that differ from their
	// defaults, for the parameters of every stage (upstream runs and this
	// one), e.g. ["--window", "120"].
	RunArgs []string `json:"run_args"`
}

// DatasetInfo describes the dataset, from its registry descriptor.
type DatasetInfo struct {
	Title       string `json:"title,omitempty"`
	Publisher   string `json:"publisher,omitempty"`
	ReleaseDate string `json:"release_date,omitempty"`
	Licence     string `json:"licence,omitempty"`
	Citation    string `json:"citation,omitempty"`
	BibTeX      string `json:"bibtex,omitempty"`
}

// SourceFile is one archive file a normalize run read.
type SourceFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// UpstreamRun is one run whose tables the stage read.
type UpstreamRun struct {
	Stage string `json:"stage"`
	RunID string `json:"run_id"`
	// RunVersion is the version that entered its run id
	// ("<stage version>+pqio<format>").
	RunVersion string `json:"run_version"`
	// Params are the run's parameters, as recorded in its manifest.
	Params json.RawMessage `json:"params"`
}

// reproduce returns the commands that recompute this run: fetch, run with
// every non-default flag, verify.
func (in Input) reproduce(pv *Provenance) []string {
	ds := shellQuote(in.Dataset)
	run := "takedown run"
	for _, a := range pv.RunArgs {
		run += " " + shellQuote(a)
	}
	run += " " + ds // flags come before the argument
	id := in.RunID
	if id == "" {
		id = "RUN-ID"
	}
	return []string{
		"takedown fetch " + ds,
		run,
		"takedown verify --dataset " + ds + " " + shellQuote(id),
	}
}

// shellQuote quotes s for a POSIX shell unless it is made of characters no
// shell treats specially.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,=+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// paramsText renders a parameter object as "key=value, ..." in the order of
// its canonical JSON (keys sorted), or the JSON itself when it is not an
// object of plain values.
func paramsText(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return strings.TrimSpace(string(raw))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		var v bytes.Buffer
		if err := json.Compact(&v, m[k]); err != nil {
			v.Reset()
			v.Write(m[k])
		}
		parts[i] = k + "=" + v.String()
	}
	return strings.Join(parts, ", ")
}

// ownParams are the stage's own parameters as they enter the report: the
// user's settings, without what the runner filled in (the published figures
// are in the report's own section, the provenance is the section itself).
func (p Params) ownParams() json.RawMessage {
	b, err := json.Marshal(struct {
		TopN                  int       `json:"top_n"`
		BurstDays             int       `json:"burst_days"`
		BurstMinAccounts      int       `json:"burst_min_accounts"`
		Published             bool      `json:"published_figures"`
		SensitivityWindows    []float64 `json:"sensitivity_windows"`
		SensitivityMinWeights []int     `json:"sensitivity_min_weights"`
		SensitivityMinScores  []float64 `json:"sensitivity_min_scores"`
	}{p.TopN, p.BurstDays, p.BurstMinAccounts, p.Published != nil,
		p.SensitivityWindows, p.SensitivityMinWeights, p.SensitivityMinScores})
	if err != nil {
		panic(fmt.Sprintf("summarize: encode params: %v", err))
	}
	return b
}

// fence returns a Markdown code fence longer than any run of backticks in s.
func fence(s string) string {
	longest, cur := 0, 0
	for _, r := range s {
		if r == '`' {
			cur++
			longest = max(longest, cur)
		} else {
			cur = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// provRow is one run of the provenance table.
type provRow struct {
	stage, runID, version, params string
	self                          bool
}

// provRows lists the upstream runs, then this run.
func (s *state) provRows() []provRow {
	var rows []provRow
	if pv := s.p.Provenance; pv != nil {
		for _, u := range pv.Upstream {
			rows = append(rows, provRow{stage: u.Stage, runID: u.RunID, version: u.RunVersion, params: paramsText(u.Params)})
		}
	}
	id, v := s.in.RunID, s.in.RunVersion
	if id == "" {
		id = "unknown"
	}
	if v == "" {
		v = fmt.Sprint(Version)
	}
	return append(rows, provRow{stage: Name, runID: id, version: v, params: paramsText(s.p.ownParams()), self: true})
}

// provenanceNote explains why the program version is not in the report.
const provenanceNote = "The stage versions above (with the Parquet writer's format version) are what " +
	"the run ids hash, and all that decides these bytes. The version and VCS revision of the " +
	"takedown program that computed the run are recorded in the run's manifest.json (`code`), " +
	"not here: they change with every build, and this report must be byte-identical wherever " +
	"the same run id is computed."

// reportProvenance renders the provenance section of report.md.
func (s *state) reportProvenance(b *bytes.Buffer) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	pv := s.p.Provenance
	w("## Provenance\n\n")
	if pv == nil {
		w("No provenance was recorded: the stage was run outside takedown's runner, which fills it in.\n\n")
	} else {
		d := pv.Dataset
		w("- **Dataset:** %s", code(s.in.Dataset))
		if d.Title != "" {
			w(", %s", md(d.Title, 300))
		}
		w("\n")
		for _, f := range []struct{ k, v string }{
			{"Published by", d.Publisher}, {"Released", d.ReleaseDate}, {"Licence", d.Licence}, {"Cite as", d.Citation},
		} {
			if f.v != "" {
				w("- **%s:** %s\n", f.k, md(f.v, 2000))
			}
		}
		if d.BibTeX != "" {
			fc := fence(d.BibTeX)
			w("\n%sbibtex\n%s\n%s\n", fc, strings.TrimRight(d.BibTeX, "\n"), fc)
		}
		w("\n")
	}
	w("| stage | run id | version | parameters |\n|---|---|---|---|\n")
	for _, r := range s.provRows() {
		stage := r.stage
		if r.self {
			stage += " (this run)"
		}
		w("| %s | %s | %s | %s |\n", stage, cell(code(r.runID)), cell(code(r.version)), cell(code(r.params)))
	}
	w("\n")
	if pv != nil && len(pv.Sources) > 0 {
		w("Archive files the normalize run read:\n\n| file | sha256 | bytes |\n|---|---|---|\n")
		for _, f := range pv.Sources {
			w("| %s | %s | %s |\n", md(f.Name, 200), cell(code(f.SHA256)), num(f.Bytes))
		}
		w("\n")
	}
	w("%s\n\n", provenanceNote)
	if pv != nil {
		w("### Reproduce this\n\n")
		cmds := strings.Join(s.in.reproduce(pv), "\n")
		fc := fence(cmds)
		w("%ssh\n%s\n%s\n\n", fc, cmds, fc)
		w("`run` lists every parameter that differs from its default; `verify` recomputes the run " +
			"in a scratch directory and compares every output byte for byte.\n")
	}
}

// cell makes a code span safe inside a Markdown table cell (md already
// escapes the pipes of plain text).
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// htmlProvenance renders the provenance section of report.html.
func (s *state) htmlProvenance(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	pv := s.p.Provenance
	w("<h2 id=\"provenance\">Provenance</h2>\n")
	if pv == nil {
		w("<p>No provenance was recorded: the stage was run outside takedown's runner, which fills it in.</p>\n")
	} else {
		d := pv.Dataset
		w("<table>\n<tr><th>dataset</th><td><code>%s</code>", esc(s.in.Dataset))
		if d.Title != "" {
			w(", %s", esc(d.Title))
		}
		w("</td></tr>\n")
		for _, f := range []struct{ k, v string }{
			{"published by", d.Publisher}, {"released", d.ReleaseDate}, {"licence", d.Licence}, {"cite as", d.Citation},
		} {
			if f.v != "" {
				w("<tr><th>%s</th><td>%s</td></tr>\n", f.k, esc(f.v))
			}
		}
		w("</table>\n")
		if d.BibTeX != "" {
			w("<pre class=\"cmd\">%s</pre>\n", esc(strings.TrimRight(d.BibTeX, "\n")))
		}
	}
	w("<table id=\"runs\">\n<tr><th>stage</th><th>run id</th><th>version</th><th>parameters</th></tr>\n")
	for _, r := range s.provRows() {
		stage := esc(r.stage)
		if r.self {
			stage += " (this run)"
		}
		w("<tr><td>%s</td><td class=\"id\"><code>%s</code></td><td class=\"id\"><code>%s</code></td><td><code>%s</code></td></tr>\n",
			stage, esc(r.runID), esc(r.version), esc(r.params))
	}
	w("</table>\n")
	if pv != nil && len(pv.Sources) > 0 {
		w("<p>Archive files the normalize run read:</p>\n<table>\n<tr><th>file</th><th>sha256</th><th>bytes</th></tr>\n")
		for _, f := range pv.Sources {
			w("<tr><td>%s</td><td><code>%s</code></td><td class=\"n\">%s</td></tr>\n", esc(f.Name), esc(f.SHA256), num(f.Bytes))
		}
		w("</table>\n")
	}
	w("<p class=\"note\">%s</p>\n", strings.ReplaceAll(esc(provenanceNote), "(`code`)", "(<code>code</code>)"))
	if pv != nil {
		w("<h3 id=\"reproduce\">Reproduce this</h3>\n<pre class=\"cmd\">%s</pre>\n", esc(strings.Join(s.in.reproduce(pv), "\n")))
		w("<p class=\"note\"><code>run</code> lists every parameter that differs from its default; <code>verify</code> " +
			"recomputes the run in a scratch directory and compares every output byte for byte.</p>\n")
	}
}
