package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/takedown-research/takedown/internal/plan"
)

// cmdRunPlan runs the container commands of a Kubernetes or Argo plan as
// local processes, the way the cluster would: run-plan k8s|argo FILE. k8s:
// each Job once the Jobs of its after annotation completed, every
// completion index in turn with JOB_COMPLETION_INDEX set. argo: each DAG
// task once its dependencies completed, every item with the template's
// environment (JOB_COMPLETION_INDEX = the item).
func cmdRunPlan(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: run-plan k8s|argo FILE")
	}
	type job struct {
		name    string
		after   []string
		command []string
		env     []plan.KubeEnv
		items   []int
	}
	var jobs []job
	text := ts.ReadFile(args[1])
	switch args[0] {
	case "k8s":
		for _, doc := range strings.Split(text, "\n---\n")[1:] {
			var j plan.KubeJob
			ts.Check(yaml.Unmarshal([]byte(doc), &j))
			var after []string
			if a := j.Metadata.Annotations[plan.AfterAnnotation]; a != "" {
				after = strings.Split(a, ",")
			}
			c := j.Spec.Template.Spec.Containers[0]
			var items []int
			for i := range j.Spec.Completions {
				items = append(items, i)
			}
			jobs = append(jobs, job{j.Metadata.Name, after, c.Command, c.Env, items})
		}
	case "argo":
		var wf plan.ArgoWorkflow
		ts.Check(yaml.Unmarshal([]byte(text), &wf))
		tmpl := map[string]plan.ArgoTemplate{}
		for _, t := range wf.Spec.Templates {
			tmpl[t.Name] = t
		}
		for _, t := range tmpl[wf.Spec.Entrypoint].DAG.Tasks {
			c := tmpl[t.Template].Container
			jobs = append(jobs, job{t.Name, t.Dependencies, c.Command, c.Env, t.WithItems})
		}
	default:
		ts.Fatalf("run-plan: engine %q", args[0])
	}
	done := map[string]bool{}
	for len(done) < len(jobs) {
		progress := false
		for _, j := range jobs {
			if done[j.name] || slices.ContainsFunc(j.after, func(a string) bool { return !done[a] }) {
				continue
			}
			for _, item := range j.items {
				idx := strconv.Itoa(item)
				for _, e := range j.env {
					v := strings.ReplaceAll(e.Value, "{{inputs.parameters.index}}", idx)
					ts.Setenv(e.Name, v)
				}
				if args[0] == "k8s" {
					ts.Setenv(plan.IndexVar, idx)
				}
				if err := ts.Exec(j.command[0], j.command[1:]...); err != nil {
					ts.Fatalf("%s index %s: %v", j.name, idx, err)
				}
			}
			done[j.name], progress = true, true
			fmt.Fprintf(ts.Stdout(), "%s: %d tasks done\n", j.name, len(j.items))
		}
		if !progress {
			ts.Fatalf("run-plan: the dependencies of %v never complete", jobs)
		}
	}
}

// cmdCmpOutputs requires two workspaces to hold the same runs with
// byte-identical files (a manifest.json compared without its timings):
// cmp-outputs WS1 WS2. Negated, it requires a difference, and names it.
func cmdCmpOutputs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: [!] cmp-outputs WS1 WS2")
	}
	a, b := outputDigests(ts, ts.MkAbs(args[0])), outputDigests(ts, ts.MkAbs(args[1]))
	if len(a) == 0 {
		ts.Fatalf("no runs in %s", args[0])
	}
	var diffs []string
	for _, f := range slices.Sorted(maps.Keys(a)) {
		if b[f] != a[f] {
			diffs = append(diffs, fmt.Sprintf("%s: %s in %s, %s in %s", f, a[f], args[0], b[f], args[1]))
		}
	}
	for _, f := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[f]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s only in %s", f, args[1]))
		}
	}
	switch {
	case len(diffs) > 0 && !neg:
		ts.Fatalf("outputs differ:\n%s", strings.Join(diffs, "\n"))
	case len(diffs) > 0:
		fmt.Fprintln(ts.Stderr(), strings.Join(diffs, "\n"))
	case neg:
		ts.Fatalf("the %d files of %s and %s are byte-identical", len(a), args[0], args[1])
	default:
		fmt.Fprintf(ts.Stdout(), "%d files byte-identical\n", len(a))
	}
}

func outputDigests(ts *testscript.TestScript, ws string) map[string]string {
	out := map[string]string{}
	root := filepath.Join(ws, "runs")
	ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if d.Name() == "manifest.json" {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			delete(m, "timings")
			b, _ = json.Marshal(m)
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}
