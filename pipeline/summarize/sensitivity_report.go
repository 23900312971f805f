package summarize

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// seconds renders a window in milliseconds as seconds.
func seconds(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'g', -1, 64) + " s"
}

func fnum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// sensitivityIntro is the paragraph both reports open the section with.
func (r *sensitivityResult) intro() []string {
	run := r.run
	out := []string{fmt.Sprintf("How the clusters change with the cluster stage's window, min weight and min score, "+
		"recomputed from the cluster run's pair_scores without running it again (its other filters as in the run: "+
		"min affinity %s, score percentile %s). A cell reads clusters / clustered accounts / share of this run's %s clusters "+
		"that survive: a run cluster survives a cell when at least half of its accounts are together in one cluster of the cell. "+
		"The run's own cell is marked *. Every cell is in sensitivity.parquet; docs/parameters.md says how to read it.",
		fnum(run.MinAffinity), fnum(run.ScorePercentile), num(r.current))}
	if len(r.dropped) > 0 {
		var ws []string
		for _, w := range r.dropped {
			ws = append(ws, seconds(w))
		}
		out = append(out, fmt.Sprintf("Windows above the run's %s (%s) are not in the grid: pair_scores holds the items found within the run's window. "+
			"Run the cluster stage with the largest window to be studied (--window) to see them.", seconds(run.WindowMillis), strings.Join(ws, ", ")))
	}
	if run.Communities != "" && run.Communities != "components" {
		out = append(out, fmt.Sprintf("The run split its components into %s communities; the cells are connected components, so the run's cell can count fewer, larger clusters than the run.", run.Communities))
	}
	if run.BoundedPosts > 0 {
		out = append(out, fmt.Sprintf("The run's viral-item bound left %s posts out of pairing; cells at smaller windows keep them out, where a rerun would bound fewer posts and could find more pairs among them.", num(run.BoundedPosts)))
	}
	return out
}

// cellText renders one cell.
func (r *sensitivityResult) cellText(w int64, mw int, ms float64) string {
	c, ok := r.cell(w, mw, ms)
	if !ok {
		return ""
	}
	t := num(c.Clusters) + " / " + num(c.ClusteredAccounts)
	if c.SurvivingShare != nil {
		t += " / " + strconv.FormatFloat(100**c.SurvivingShare, 'f', 0, 64) + "%"
	}
	if c.Run {
		t += " *"
	}
	return t
}

// grids returns the two tables of the section: windows by min score at
// the run's min weight, and min weights by min score at the run's window,
// as a caption, row labels and cells.
func (r *sensitivityResult) grids() []sensitivityGrid {
	ws, mws, mss := r.axes()
	head := []string{}
	for _, ms := range mss {
		head = append(head, "min score "+fnum(ms))
	}
	byWindow := sensitivityGrid{caption: fmt.Sprintf("By window, at the run's min weight %d", r.run.MinWeight), corner: "window", head: head}
	for _, w := range ws {
		row := []string{seconds(w)}
		for _, ms := range mss {
			row = append(row, r.cellText(w, r.run.MinWeight, ms))
		}
		byWindow.rows = append(byWindow.rows, row)
	}
	byWeight := sensitivityGrid{caption: fmt.Sprintf("By min weight, at the run's window %s", seconds(r.run.WindowMillis)), corner: "min weight", head: head}
	for _, mw := range mws {
		row := []string{strconv.Itoa(mw)}
		for _, ms := range mss {
			row = append(row, r.cellText(r.run.WindowMillis, mw, ms))
		}
		byWeight.rows = append(byWeight.rows, row)
	}
	return []sensitivityGrid{byWindow, byWeight}
}

type sensitivityGrid struct {
	caption string
	corner  string
	head    []string
	rows    [][]string
}

// reportSensitivity writes the Markdown section.
func (s *state) reportSensitivity(b *bytes.Buffer, r *results) {
	res := r.sensitivity
	if res == nil {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## Parameter sensitivity\n\n")
	for _, p := range res.intro() {
		w("%s\n\n", p)
	}
	for _, g := range res.grids() {
		w("%s:\n\n| %s | %s |\n|---|%s\n", g.caption, g.corner, strings.Join(g.head, " | "), strings.Repeat("---|", len(g.head)))
		for _, row := range g.rows {
			w("| %s |\n", strings.Join(row, " | "))
		}
		w("\n")
	}
}

// htmlSensitivity writes the HTML section.
func (s *state) htmlSensitivity(b *strings.Builder, r *results) {
	res := r.sensitivity
	if res == nil {
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("<h2 id=\"sensitivity\">Parameter sensitivity</h2>\n")
	for _, p := range res.intro() {
		w("<p>%s</p>\n", esc(p))
	}
	for _, g := range res.grids() {
		w("<table>\n<caption>%s</caption>\n<tr><th>%s</th>", esc(g.caption), esc(g.corner))
		for _, h := range g.head {
			w("<th>%s</th>", esc(h))
		}
		w("</tr>\n")
		for _, row := range g.rows {
			w("<tr><th>%s</th>", esc(row[0]))
			for _, c := range row[1:] {
				w("<td class=\"n\">%s</td>", esc(c))
			}
			w("</tr>\n")
		}
		w("</table>\n")
	}
}
