package main

import (
	"fmt"
	"strings"
)

// This file is the schema of the --json event stream: every event the
// program writes on stderr with --json, and its fields. The section
// between the events markers of docs/reproducibility.md is rendered from
// it (`go test ./cmd/takedown -run TestEventDocs -update`), and
// TestEventSchema checks the events that commands actually write against
// it.

// eventField is one field of an event.
type eventField struct {
	name string
	// typ is a JSON type: string, integer, number, boolean, array,
	// object, or one of them or null (e.g. "integer|null").
	typ string
	// optional fields may be absent.
	optional bool
	doc      string
}

// eventDoc describes one event type.
type eventDoc struct {
	event  string
	by     string // commands that write it
	doc    string
	fields []eventField
	// open events may carry fields beyond the ones listed.
	open bool
}

// commonFields are the fields of every event.
var commonFields = []eventField{
	{name: "time", typ: "string", doc: "when the event was written (RFC 3339, local time zone with offset)"},
	{name: "level", typ: "string", doc: "`INFO`, `WARN` or `ERROR`"},
	{name: "msg", typ: "string", doc: "a short human text; not part of the schema (match on `event`)"},
	{name: "schema", typ: "integer", doc: fmt.Sprintf("the version of this schema: %d", EventSchema)},
	{name: "event", typ: "string", doc: "the event type, one of those below"},
}

// Fields shared by the events of a stage run.
var (
	fDataset = eventField{name: "dataset", typ: "string", doc: "dataset name"}
	fStage   = eventField{name: "stage", typ: "string", doc: "stage name"}
	fRunID   = eventField{name: "run_id", typ: "string", doc: "the stage run's id"}
)

// stageRun marks the dataset, stage and run_id fields optional: the event
// is written inside a stage run by the stage logger, or outside one.
func stageRun(optional bool) []eventField {
	out := []eventField{fDataset, fStage, fRunID}
	for i := range out {
		out[i].optional = optional
	}
	return out
}

func fields(groups ...[]eventField) []eventField {
	var out []eventField
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

var eventDocs = []eventDoc{
	{event: "stage_start", by: "run, stage commands", doc: "a stage begins to compute a run (its run id has no intact published run)",
		fields: stageRun(false)},
	{event: "stage_cached", by: "run, stage commands", doc: "the stage's run id is already published and intact: no work",
		fields: stageRun(false)},
	{event: "stage_damaged", by: "run, stage commands", doc: "the published run of this run id is damaged and is computed again (level WARN)",
		fields: fields(stageRun(false), []eventField{{name: "problems", typ: "array", doc: "`{file, reason}` per damaged file"}})},
	{event: "progress", by: "run, stage commands, verify", doc: "how far a stage run has come; at most one per second per stage run, the first at once (with `done` 0 and the total)",
		fields: fields(stageRun(false), []eventField{
			{name: "phase", typ: "string", doc: "the part of the stage: fetch `land`, `import` or `download`; cluster `load`, `sweep`, `fold` (a run in partitions) or `pairs`; empty for the one phase of normalize, fingerprint and summarize"},
			{name: "unit", typ: "string", doc: "what is counted: `bytes` (fetch: bytes landed in the source store; normalize: bytes of the source files read), `rows` (fingerprint: posts; cluster load: fingerprint rows times the column reads of the load, so that its ETA covers them all: the account column once; in memory, a numeric signal's column once more than its filter has ranges and a string signal's once; when the signals are read one at a time, a numeric signal's twice (its read, then its buckets in proportion to their records) and a string signal's three times (two reads, then its spilled (row, item) pairs); summarize: rows of its input tables), `items` (cluster sweep: items swept), `hits` (cluster fold: the spilled hits of (account pair, item) folded into edges, a range's signal at a time), `pairs` (cluster: account pairs written)"},
			{name: "done", typ: "integer", doc: "units done in this phase"},
			{name: "total", typ: "integer|null", doc: "units of the phase, null when not known in advance (cluster sweep; a download without sizes)"},
			{name: "rate", typ: "number", doc: "units per second since the phase began"},
			{name: "eta_s", typ: "integer|null", doc: "seconds left at that rate, null without a total or a rate"},
		})},
	{event: "stage_done", by: "run, stage commands", doc: "a stage run was computed and published",
		fields: fields(stageRun(false), []eventField{{name: "wall_ms", typ: "integer", doc: "wall time of the run, milliseconds"}})},
	{event: "result", by: "run, stage commands", doc: "one per stage of the command, in pipeline order, after the last stage: the run that is now current",
		fields: fields(stageRun(false), []eventField{
			{name: "cached", typ: "boolean", doc: "true for a cache hit"},
			{name: "dir", typ: "string", doc: "the run's directory (`runs/<dataset>/<stage>/<run_id>`)"},
			{name: "wall_ms", typ: "integer", doc: "wall time of the run, milliseconds (0 for a cache hit)"},
			{name: "outputs", typ: "array", doc: "the run's output files as its manifest lists them: `{file, sha256, bytes, rows, table_version}` (`rows` and `table_version` for Parquet tables only)"},
			{name: "stats", typ: "object", doc: "the stage's statistics, as in its manifest (see docs/stages); for a shard, what it hands to the merge"},
			{name: "shard", typ: "string", doc: "`INDEX/COUNT` for a shard (`--shard`): `dir` is the shard's directory under shards/ (or the run's, when the run was already published)", optional: true},
		})},
	{event: "log", by: "any stage", doc: "an informational line of a stage (`msg` says what); its other fields are the stage's and not part of the schema",
		fields: stageRun(true), open: true},
	{event: "fetch_progress", by: "run, fetch", doc: "a download's bytes: at the start of each attempt, at every tenth of the file, at its end",
		fields: fields(stageRun(true), []eventField{
			{name: "file", typ: "string", doc: "the release file"},
			{name: "bytes", typ: "integer", doc: "bytes of the file downloaded so far"},
			{name: "total", typ: "integer", doc: "the file's size, -1 when the server does not say"},
			{name: "state", typ: "string", doc: "`start`, `running`, `done` or `failed`"},
		})},
	{event: "fetch_retry", by: "run, fetch", doc: "a download attempt failed and is retried (level WARN)",
		fields: fields(stageRun(false), []eventField{
			{name: "file", typ: "string", doc: "the release file"},
			{name: "url", typ: "string", doc: "the URL tried"},
			{name: "attempt", typ: "integer", doc: "the attempt that failed, from 1"},
			{name: "error", typ: "string", doc: "why it failed"},
			{name: "wait_ms", typ: "integer", doc: "the backoff before the next attempt"},
		})},
	{event: "fetch_restart", by: "run, fetch", doc: "the server ignored a range request: the download starts over",
		fields: fields(stageRun(false), []eventField{{name: "file", typ: "string", doc: "the release file"}})},
	{event: "fetch_file", by: "run, fetch", doc: "a file was downloaded, checked and landed in the source store",
		fields: fields(stageRun(false), []eventField{
			{name: "file", typ: "string", doc: "the release file"},
			{name: "sha256", typ: "string", doc: "its digest"},
			{name: "bytes", typ: "integer", doc: "its size"},
		})},
	{event: "fetch_cached", by: "run, fetch", doc: "a file with the pinned digest is already in the source store: not downloaded",
		fields: fields(stageRun(false), []eventField{
			{name: "file", typ: "string", doc: "the release file"},
			{name: "sha256", typ: "string", doc: "its digest"},
		})},
	{event: "fetch_pin", by: "run, fetch, rebuild-lock", doc: "a file's digest was pinned in takedown.lock on its first fetch",
		fields: fields(stageRun(true), []eventField{
			{name: "file", typ: "string", doc: "the release file"},
			{name: "sha256", typ: "string", doc: "the pinned digest"},
		})},
	{event: "status", by: "status", doc: "the state of every stage of the dataset (the document of `status -o json` has the same fields)",
		fields: []eventField{fDataset,
			{name: "stages", typ: "array", doc: "`{stage, state, run_id, expected_run_id, reasons}` per stage; state is `current`, `stale`, `damaged` or `not run`"},
			{name: "workspace", typ: "object", doc: "`{leftovers: {entries, bytes}, busy, unlinked_runs}`: leftovers of killed runs in tmp/, another process at work, published runs when takedown.lock names none of the dataset's"},
		}},
	{event: "verify", by: "verify", doc: "one per run verified",
		fields: fields(stageRun(false), []eventField{
			{name: "ok", typ: "boolean", doc: "every output recomputed byte-identical and the files on disk match"},
			{name: "mismatches", typ: "array|null", doc: "`{file, reason}` per difference"},
		})},
	{event: "export", by: "export", doc: "a table was exported",
		fields: fields(stageRun(false), []eventField{
			{name: "table", typ: "string", doc: "the table"},
			{name: "format", typ: "string", doc: "`csv`, `jsonl` or `arrow`"},
			{name: "rows", typ: "integer", doc: "rows written"},
			{name: "out", typ: "string", doc: "the file written, empty for stdout"},
		})},
	{event: "gc", by: "gc", doc: "what gc removed (or, with `--dry-run`, would remove)",
		fields: []eventField{
			{name: "dry_run", typ: "boolean", doc: "`--dry-run` was given"},
			{name: "runs", typ: "array|null", doc: "run directories"},
			{name: "sources", typ: "array|null", doc: "source files"},
			{name: "temp", typ: "array|null", doc: "entries of tmp/"},
			{name: "shards", typ: "array|null", doc: "shard sets (shards/DATASET/STAGE/RUN-ID) of runs their merge published (every shard set with `--all`)"},
			{name: "bytes", typ: "integer", doc: "their size"},
		}},
	{event: "rebuild_lock", by: "rebuild-lock", doc: "takedown.lock was written anew",
		fields: []eventField{{name: "result", typ: "object", doc: "`{previous, linked, skipped}`: the runs made current and those left alone, with the reason"}}},
	{event: "error", by: "every command", doc: "the command failed (level ERROR); `msg` is the error message",
		fields: []eventField{
			{name: "kind", typ: "string", doc: "the error's kind (see Exit codes)"},
			{name: "exit_code", typ: "integer", doc: "the process's exit code"},
		}},
}

// eventDocOf returns the description of an event type.
func eventDocOf(event string) (eventDoc, bool) {
	for _, d := range eventDocs {
		if d.event == event {
			return d, true
		}
	}
	return eventDoc{}, false
}

// renderEventDocs renders the schema as the Markdown of
// docs/reproducibility.md: the common fields, then a table per event.
func renderEventDocs() string {
	var b strings.Builder
	row := func(f eventField) {
		name := "`" + f.name + "`"
		if f.optional {
			name += " (optional)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, f.typ, strings.ReplaceAll(f.doc, "|", `\|`))
	}
	fmt.Fprintf(&b, "Schema version %d. Fields of every event:\n\n", EventSchema)
	b.WriteString("| field | type | meaning |\n|---|---|---|\n")
	for _, f := range commonFields {
		row(f)
	}
	for _, d := range eventDocs {
		fmt.Fprintf(&b, "\n#### `%s`\n\n%s. Written by: %s.", d.event, upperFirst(d.doc), d.by)
		if d.open {
			b.WriteString(" Other fields may follow.")
		}
		b.WriteString("\n\n| field | type | meaning |\n|---|---|---|\n")
		for _, f := range d.fields {
			row(f)
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
