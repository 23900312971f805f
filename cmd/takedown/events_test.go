package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The event schema of docs/reproducibility.md lies between these markers and
// is what renderEventDocs makes of events.go; `go test ./cmd/takedown -run
// TestEventDocs -update` rewrites it.
const (
	eventsBegin = "<!-- events:begin -->"
	eventsEnd   = "<!-- events:end -->"
)

func TestEventDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "reproducibility.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, eventsBegin), strings.Index(doc, eventsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no %s ... %s section", path, eventsBegin, eventsEnd)
	}
	want := renderEventDocs()
	got := strings.TrimPrefix(doc[i+len(eventsBegin):j], "\n")
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the event schema differs from events.go (go test ./cmd/takedown -run TestEventDocs -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
	doc = doc[:i+len(eventsBegin)] + "\n" + want + doc[j:]
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkType reports whether a decoded JSON value has the documented type.
func checkType(typ string, v any) bool {
	for _, alt := range strings.Split(typ, "|") {
		switch x := v.(type) {
		case nil:
			if alt == "null" {
				return true
			}
		case string:
			if alt == "string" {
				return true
			}
		case bool:
			if alt == "boolean" {
				return true
			}
		case float64:
			if alt == "number" || alt == "integer" && x == math.Trunc(x) {
				return true
			}
		case []any:
			if alt == "array" {
				return true
			}
		case map[string]any:
			if alt == "object" {
				return true
			}
		}
	}
	return false
}

func TestCheckType(t *testing.T) {
	tests := []struct {
		typ  string
		json string
		ok   bool
	}{
		{"string", `"x"`, true}, {"string", `1`, false},
		{"integer", `3`, true}, {"integer", `3.5`, false}, {"number", `3.5`, true},
		{"integer|null", `null`, true}, {"integer", `null`, false},
		{"boolean", `true`, true}, {"array", `[]`, true}, {"array", `{}`, false},
		{"object", `{}`, true}, {"array|null", `null`, true},
	}
	for _, tc := range tests {
		var v any
		if err := json.Unmarshal([]byte(tc.json), &v); err != nil {
			t.Fatal(err)
		}
		if got := checkType(tc.typ, v); got != tc.ok {
			t.Errorf("checkType(%s, %s) = %v", tc.typ, tc.json, got)
		}
	}
}

// checkEvents decodes every line of a --json stderr and checks each event
// against the schema of events.go; it returns the events.
func checkEvents(t *testing.T, what, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line == "" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("%s: not a JSON object: %q", what, line)
			continue
		}
		out = append(out, ev)
		for _, f := range commonFields {
			if v, ok := ev[f.name]; !ok || !checkType(f.typ, v) {
				t.Errorf("%s: event without %s %s: %s", what, f.typ, f.name, line)
			}
		}
		if ev["schema"] != float64(EventSchema) {
			t.Errorf("%s: schema %v, want %d: %s", what, ev["schema"], EventSchema, line)
		}
		name, _ := ev["event"].(string)
		d, ok := eventDocOf(name)
		if !ok {
			t.Errorf("%s: event %q is not in the schema (events.go): %s", what, name, line)
			continue
		}
		known := map[string]bool{}
		for _, f := range commonFields {
			known[f.name] = true
		}
		for _, f := range d.fields {
			known[f.name] = true
			v, ok := ev[f.name]
			switch {
			case !ok && !f.optional:
				t.Errorf("%s: %s event lacks %s: %s", what, name, f.name, line)
			case ok && !checkType(f.typ, v):
				t.Errorf("%s: %s event's %s is %v, not %s: %s", what, name, f.name, v, f.typ, line)
			}
		}
		if !d.open {
			for k := range ev {
				if !known[k] {
					t.Errorf("%s: %s event has the undocumented field %s: %s", what, name, k, line)
				}
			}
		}
	}
	return out
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestEventSchema runs commands with --json and checks every event they
// write against the documented schema, and that together they write every
// documented event but those listed as not produced here.
func TestEventSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ws := t.TempDir()
	fixtures := startFixtureServer(t)
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	seen := map[string]int{}
	run := func(code int, args ...string) []map[string]any {
		t.Helper()
		var stdout, stderr bytes.Buffer
		argv := append([]string{"takedown", "--json", "-w", ws}, args...)
		if got := runContext(context.Background(), argv, &stdout, &stderr); got != code {
			t.Fatalf("%v: exit code %d, want %d\nstderr:\n%s", args, got, code, stderr.String())
		}
		evs := checkEvents(t, strings.Join(args, " "), stderr.String())
		for _, ev := range evs {
			seen[ev["event"].(string)]++
		}
		checkThrottle(t, strings.Join(args, " "), evs)
		return evs
	}
	first := run(0, "run")
	run(0, "run")
	// A damaged current run is recomputed (stage_damaged).
	reports, _ := filepath.Glob(filepath.Join(ws, "runs", "demo", "summarize", "*", "report.md"))
	if len(reports) != 1 {
		t.Fatalf("summarize runs: %v", reports)
	}
	if err := os.WriteFile(reports[0], []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(0, "run")
	run(0, "status")
	run(0, "verify")
	run(0, "export", "--out", filepath.Join(t.TempDir(), "posts.csv"), "posts")
	run(0, "gc", "--dry-run")
	run(0, "rebuild-lock")
	run(2, "show", "nosuch")
	run(0, "fetch", "--mirror", fixtures+"/flaky", "twitter-io/ira-2018-10")

	notProduced := map[string]bool{"fetch_restart": true, "fetch_cached": true}
	for _, d := range eventDocs {
		if seen[d.event] == 0 && !notProduced[d.event] {
			t.Errorf("no command of the test wrote a %s event: the schema check does not cover it", d.event)
		}
	}

	// The first run: a result per stage, in order, listing its outputs.
	var stages []string
	for _, ev := range first {
		if ev["event"] != "result" {
			continue
		}
		stages = append(stages, ev["stage"].(string))
		outs := ev["outputs"].([]any)
		if len(outs) == 0 {
			t.Errorf("result of %s lists no outputs", ev["stage"])
		}
		for _, o := range outs {
			o := o.(map[string]any)
			file, _ := o["file"].(string)
			if file == "" || !sha256Hex.MatchString(o["sha256"].(string)) || !checkType("integer", o["bytes"]) {
				t.Errorf("result of %s: output %v", ev["stage"], o)
			}
			if _, ok := o["rows"]; strings.HasSuffix(file, ".parquet") && !ok {
				t.Errorf("result of %s: table %s without rows", ev["stage"], file)
			}
		}
	}
	if strings.Join(stages, " ") != "fetch normalize fingerprint cluster summarize" {
		t.Errorf("result events for %v", stages)
	}
}

// checkThrottle checks that the progress events of each stage run in one
// command's events are at least a second apart.
func checkThrottle(t *testing.T, what string, evs []map[string]any) {
	t.Helper()
	last := map[string]time.Time{}
	for _, ev := range evs {
		if ev["event"] != "progress" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ev["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		key := ev["stage"].(string) + " " + ev["run_id"].(string)
		if prev, ok := last[key]; ok && at.Sub(prev) < time.Second {
			t.Errorf("%s: progress events of %s %s apart", what, key, at.Sub(prev))
		}
		last[key] = at
	}
}
