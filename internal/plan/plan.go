// Package plan describes a takedown pipeline as jobs for a batch scheduler
// and renders it for each engine (Slurm, Kubernetes, Argo Workflows).
//
// A Plan is one StageJob per stage, in pipeline order; a StageJob is an
// array of Tasks, one per dataset and shard, each the exact takedown
// command line that runs that stage of that dataset (shard). A stage
// starts when every task of the stages it comes After has succeeded.
// Renderers only lay the plan out in an engine's terms: they decide no
// command of their own.
package plan

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Plan is the pipeline as scheduler jobs.
type Plan struct {
	Name   string // prefix of job names, e.g. takedown
	Stages []StageJob
}

// StageJob is one stage: an array of tasks that may run in parallel.
type StageJob struct {
	Name  string   // the stage, e.g. normalize
	After []string // stages whose every task must succeed first
	Tasks []Task
}

// Task is one element of a stage's array.
type Task struct {
	Dataset string
	Shard   Shard
	Args    []string // the command line; Args[0] is the program
	Env     []EnvVar // set for the command, on top of the job's environment
}

// Shard is which part of a dataset a task does: Index of Count, from 0.
// Count 1 is the whole dataset.
type Shard struct{ Index, Count int }

// EnvVar is one environment variable of a task.
type EnvVar struct{ Name, Value string }

// Label names a task in logs and messages: the dataset, and the shard when
// there are several.
func (t Task) Label() string {
	if t.Shard.Count > 1 {
		return fmt.Sprintf("%s shard %d/%d", t.Dataset, t.Shard.Index, t.Shard.Count)
	}
	return t.Dataset
}

// JobName is the scheduler's name of a stage's job: the plan's name and the
// stage, e.g. takedown-fetch.
func (p *Plan) JobName(stage string) string { return p.Name + "-" + stage }

// Options are what Build makes a plan of.
type Options struct {
	Name      string        // job name prefix (default takedown)
	Program   string        // the takedown binary: an absolute path, or a name looked up on PATH
	Workspace string        // an absolute path, or an object-storage URL (scheme://...)
	Study     string        // the study file, absolute; "" runs without one (--no-study)
	Wait      time.Duration // --wait of every task: how long to wait for a busy dataset or workspace
	JSON      bool          // tasks write JSON events (--json) on stderr
	Stages    []string      // in pipeline order; each depends on the one before
	Datasets  []string
	Shards    int      // per dataset; 0 or 1 = unsharded
	Flags     []string // stage flags (parameters) for every task, e.g. --window=60
	// Sharded are the stages that run as shards when Shards > 1: each is
	// an array of datasets x shards (--shard=i/N) followed by a merge
	// job, <stage>-merge, one task per dataset (--merge=N). The other
	// stages run one task per dataset.
	Sharded []string
}

// MergeSuffix ends the name of a sharded stage's merge job.
const MergeSuffix = "-merge"

var namePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Build makes the plan: one StageJob per stage, each an array over
// datasets x shards (dataset-major), each after the stage before it.
func Build(o Options) (*Plan, error) {
	if o.Name == "" {
		o.Name = "takedown"
	}
	if !namePattern.MatchString(o.Name) || len(o.Name) > 40 {
		return nil, fmt.Errorf("plan name %q: use lower-case letters, digits and '-' (at most 40), as Kubernetes names need", o.Name)
	}
	if o.Program == "" {
		return nil, fmt.Errorf("no takedown program given")
	}
	if !filepath.IsAbs(o.Workspace) && !strings.Contains(o.Workspace, "://") {
		return nil, fmt.Errorf("workspace %q is not an absolute path: every task must find the same workspace", o.Workspace)
	}
	if o.Study != "" && !filepath.IsAbs(o.Study) {
		return nil, fmt.Errorf("study file %q is not an absolute path", o.Study)
	}
	if len(o.Stages) == 0 {
		return nil, fmt.Errorf("no stages")
	}
	if len(o.Datasets) == 0 {
		return nil, fmt.Errorf("no datasets")
	}
	seen := map[string]bool{}
	for _, d := range o.Datasets {
		if seen[d] {
			return nil, fmt.Errorf("dataset %s is given twice", d)
		}
		seen[d] = true
	}
	shards := o.Shards
	if shards == 0 {
		shards = 1
	}
	if shards < 0 {
		return nil, fmt.Errorf("shards %d: want 1 or more", o.Shards)
	}
	if shards > 1 && strings.Contains(o.Workspace, "://") {
		return nil, fmt.Errorf("shards %d: shards need a workspace on a filesystem every task shares; %s is object storage: plan with --shards 1", o.Shards, o.Workspace)
	}
	global := []string{o.Program, "--workspace", o.Workspace}
	if o.Study != "" {
		global = append(global, "--study", o.Study)
	} else {
		global = append(global, "--no-study")
	}
	if o.Wait > 0 {
		global = append(global, "--wait", o.Wait.String())
	}
	if o.JSON {
		global = append(global, "--json")
	}
	p := &Plan{Name: o.Name}
	var after []string
	for _, stage := range o.Stages {
		sharded := shards > 1 && slices.Contains(o.Sharded, stage)
		sj := StageJob{Name: stage, After: after}
		for _, ds := range o.Datasets {
			if !sharded {
				args := append(append(append([]string{}, global...), stage), o.Flags...)
				sj.Tasks = append(sj.Tasks, Task{Dataset: ds, Shard: Shard{Index: 0, Count: 1}, Args: append(args, ds)})
				continue
			}
			for s := range shards {
				args := append(append(append([]string{}, global...), stage), o.Flags...)
				args = append(args, fmt.Sprintf("--shard=%d/%d", s, shards), ds)
				sj.Tasks = append(sj.Tasks, Task{Dataset: ds, Shard: Shard{Index: s, Count: shards}, Args: args})
			}
		}
		p.Stages = append(p.Stages, sj)
		after = []string{stage}
		if sharded {
			mj := StageJob{Name: stage + MergeSuffix, After: after}
			for _, ds := range o.Datasets {
				args := append(append(append([]string{}, global...), stage), o.Flags...)
				args = append(args, fmt.Sprintf("--merge=%d", shards), ds)
				mj.Tasks = append(mj.Tasks, Task{Dataset: ds, Shard: Shard{Index: 0, Count: 1}, Args: args})
			}
			p.Stages = append(p.Stages, mj)
			after = []string{mj.Name}
		}
	}
	return p, nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// Quote quotes s for a POSIX shell: as is when it holds nothing the shell
// would read, otherwise in single quotes.
func Quote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CommandLine is the task's command for a POSIX shell, with its
// environment in front (env NAME=VALUE ...) when it has one.
func (t Task) CommandLine() string {
	var parts []string
	if len(t.Env) > 0 {
		parts = append(parts, "env")
		for _, e := range t.Env {
			parts = append(parts, Quote(e.Name+"="+e.Value))
		}
	}
	for _, a := range t.Args {
		parts = append(parts, Quote(a))
	}
	return strings.Join(parts, " ")
}

// TaskCommand is a command that needs no shell (for containers without
// one): `PROGRAM task --index-env VAR -- TASK...`, each TASK the JSON array
// of a task's arguments; takedown task runs the one whose number is in VAR.
func (s StageJob) TaskCommand(indexVar string) []string {
	cmd := []string{s.Tasks[0].Args[0], "task", "--index-env", indexVar, "--"}
	for _, t := range s.Tasks {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // keep a URL's & readable
		enc.Encode(t.Args[1:])   // strings only: cannot fail
		cmd = append(cmd, strings.TrimSuffix(b.String(), "\n"))
	}
	return cmd
}

// Switch is a POSIX shell script that runs the task whose array index is
// in the environment variable indexVar (exec, so that the task's exit code
// is the script's); an index out of range exits 2.
func (s StageJob) Switch(indexVar string, retries int) string {
	var b strings.Builder
	if retries > 0 {
		// Exit 75 is a busy dataset or workspace that --wait did not see
		// freed: worth running again.
		fmt.Fprintf(&b, "run() { n=0; while :; do \"$@\" && return 0; rc=$?; if [ \"$rc\" -ne 75 ] || [ \"$n\" -ge %d ]; then return \"$rc\"; fi; n=$((n+1)); echo \"takedown busy (exit 75): try $n of %d again in 30s\" >&2; sleep 30; done; }\n", retries, retries)
	}
	fmt.Fprintf(&b, "case \"$%s\" in\n", indexVar)
	for i, t := range s.Tasks {
		if retries > 0 {
			fmt.Fprintf(&b, "%d) run %s ;;\n", i, t.CommandLine())
		} else {
			fmt.Fprintf(&b, "%d) exec %s ;;\n", i, t.CommandLine())
		}
	}
	fmt.Fprintf(&b, "*) echo \"stage %s has no task $%s (0-%d)\" >&2; exit 2 ;;\nesac\n", s.Name, indexVar, len(s.Tasks)-1)
	return b.String()
}
