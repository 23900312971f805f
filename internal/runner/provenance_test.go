package runner

import (
	"context"
	"github.com/takedown-research/takedown/pipeline/normalize"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/takedown-research/takedown/pipeline/summarize"
)

func reportOf(t *testing.T, res []Result) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(res[len(res)-1].Dir, summarize.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReportProvenance checks that summarize's report names the upstream
// runs it read and the commands that recompute it, and that an upstream run
// replaced by one with other parameters but the same tables (early cutoff
// keeps fingerprint and cluster) gives summarize a new run, whose report
// names the new run; status sees the replacement.
func TestReportProvenance(t *testing.T) {
	r := newRunner(t)
	ctx := context.Background()
	p := DefaultParams()
	p.Summarize.TopN = 7
	res, err := r.Run(ctx, Options{Dataset: "demo", Params: p})
	if err != nil {
		t.Fatal(err)
	}
	id := map[string]string{}
	for _, x := range res {
		id[x.Stage] = x.RunID
	}
	report := reportOf(t, res)
	for _, want := range []string{
		"| normalize | `" + id["normalize"] + "` | `" + strconv.Itoa(normalize.Version) + "+pqio",
		"| fingerprint | `" + id["fingerprint"] + "` |",
		"| cluster | `" + id["cluster"] + "` |",
		"| summarize (this run) | `" + id["summarize"] + "` |",
		"- **Cite as:** takedown demo dataset",
		"```bibtex\n@misc{demo,",
		"| demo\\_tweets\\_csv\\_hashed.zip | `",
		"```sh\ntakedown fetch demo\ntakedown run --top-n 7 demo\ntakedown verify --dataset demo " + id["summarize"] + "\n```",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// --format twitter-io names the demo's own format: a new normalize run
	// that writes the same tables.
	p.Normalize.Format = "twitter-io"
	res2, err := r.Run(ctx, Options{Dataset: "demo", Params: p})
	if err != nil {
		t.Fatal(err)
	}
	id2 := map[string]string{}
	for _, x := range res2 {
		id2[x.Stage] = x.RunID
	}
	if id2["normalize"] == id["normalize"] || id2["fingerprint"] != id["fingerprint"] || id2["cluster"] != id["cluster"] {
		t.Fatalf("run ids before %v, after %v: want a new normalize run and the same fingerprint and cluster runs", id, id2)
	}
	if id2["summarize"] == id["summarize"] {
		t.Fatal("summarize kept its run id although its report names another normalize run")
	}
	report2 := reportOf(t, res2)
	if !strings.Contains(report2, "| normalize | `"+id2["normalize"]+"` |") ||
		!strings.Contains(report2, "takedown run --format twitter-io --top-n 7 demo") {
		t.Error("the new summarize run's report does not name the new normalize run and its flag")
	}

	// Back to the first normalize run (a cache hit) without summarize: the
	// current summarize run names another normalize run.
	p.Normalize.Format = "auto"
	if _, err := r.Run(ctx, Options{Dataset: "demo", Params: p, From: "normalize", To: "normalize"}); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status("demo")
	if err != nil {
		t.Fatal(err)
	}
	last := st[len(st)-1]
	if last.State != StateStale || last.Expected != id["summarize"] ||
		len(last.Reasons) == 0 || !strings.Contains(last.Reasons[0], "upstream runs changed") {
		t.Errorf("summarize status %+v, want stale, expecting run %s, because an upstream run changed", last, id["summarize"])
	}

	// verify recomputes the report byte for byte, run id included.
	vr, err := r.Verify(ctx, "demo", id2["summarize"])
	if err != nil {
		t.Fatal(err)
	}
	if len(vr) != 1 || !vr[0].OK {
		t.Errorf("verify %s: %+v", id2["summarize"], vr)
	}
}
