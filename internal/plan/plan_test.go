package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

var stages = []string{"fetch", "normalize", "fingerprint", "cluster", "summarize"}

func opts(mod func(*Options)) Options {
	o := Options{Program: "/opt/bin/takedown", Workspace: "/scratch/ws", Wait: 10 * time.Minute,
		Stages: stages, Datasets: []string{"demo", "local/other"}}
	if mod != nil {
		mod(&o)
	}
	return o
}

// TestBuildShards: a sharded stage is an array of datasets x shards and a
// merge job after it, one task per dataset; the next stage waits for the
// merge.
func TestBuildShards(t *testing.T) {
	p, err := Build(opts(func(o *Options) { o.Shards, o.Sharded = 3, []string{"fingerprint", "cluster"} }))
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		name  string
		after string
		tasks int
		last  string // the flag before the dataset in the first task
	}
	var got []job
	for _, s := range p.Stages {
		a := s.Tasks[0].Args
		got = append(got, job{s.Name, strings.Join(s.After, ","), len(s.Tasks), a[len(a)-2]})
	}
	want := []job{
		{"fetch", "", 2, "fetch"},
		{"normalize", "fetch", 2, "normalize"},
		{"fingerprint", "normalize", 6, "--shard=0/3"},
		{"fingerprint-merge", "fingerprint", 2, "--merge=3"},
		{"cluster", "fingerprint-merge", 6, "--shard=0/3"},
		{"cluster-merge", "cluster", 2, "--merge=3"},
		{"summarize", "cluster-merge", 2, "summarize"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("jobs:\n%v\nwant\n%v", got, want)
	}
	// Dataset-major: the shards of the first dataset, then the second's.
	if l := p.Stages[2].Tasks[4].Label(); l != "local/other shard 1/3" {
		t.Errorf("task 4 of fingerprint is %s", l)
	}
}

func TestBuild(t *testing.T) {
	cases := []struct {
		name  string
		o     Options
		tasks int      // per stage
		args  []string // of the first task of the second stage
		err   string
	}{
		{"two datasets", opts(nil), 2,
			[]string{"/opt/bin/takedown", "--workspace", "/scratch/ws", "--no-study", "--wait", "10m0s", "normalize", "demo"}, ""},
		{"study, events, flags", opts(func(o *Options) {
			o.Study, o.JSON, o.Wait, o.Flags = "/home/me/takedown.yaml", true, 0, []string{"--window=60"}
		}), 2, []string{"/opt/bin/takedown", "--workspace", "/scratch/ws", "--study", "/home/me/takedown.yaml", "--json", "normalize", "--window=60", "demo"}, ""},
		{"shards of no sharded stage", opts(func(o *Options) { o.Shards = 3 }), 2,
			[]string{"/opt/bin/takedown", "--workspace", "/scratch/ws", "--no-study", "--wait", "10m0s", "normalize", "demo"}, ""},
		{"object storage", opts(func(o *Options) { o.Workspace = "s3://bucket/ws" }), 2,
			[]string{"/opt/bin/takedown", "--workspace", "s3://bucket/ws", "--no-study", "--wait", "10m0s", "normalize", "demo"}, ""},
		{"shards on object storage", opts(func(o *Options) { o.Workspace, o.Shards = "s3://bucket/ws", 2 }), 0, nil, "shards need a workspace on a filesystem"},
		{"relative workspace", opts(func(o *Options) { o.Workspace = "ws" }), 0, nil, "not an absolute path"},
		{"relative study", opts(func(o *Options) { o.Study = "takedown.yaml" }), 0, nil, "not an absolute path"},
		{"dataset twice", opts(func(o *Options) { o.Datasets = []string{"demo", "demo"} }), 0, nil, "dataset demo is given twice"},
		{"no datasets", opts(func(o *Options) { o.Datasets = nil }), 0, nil, "no datasets"},
		{"bad name", opts(func(o *Options) { o.Name = "Take_Down" }), 0, nil, "plan name"},
		{"negative shards", opts(func(o *Options) { o.Shards = -1 }), 0, nil, "shards -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Build(c.o)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Stages) != len(stages) {
				t.Fatalf("%d stages, want %d", len(p.Stages), len(stages))
			}
			for i, s := range p.Stages {
				if s.Name != stages[i] || len(s.Tasks) != c.tasks {
					t.Errorf("stage %d: %s with %d tasks, want %s with %d", i, s.Name, len(s.Tasks), stages[i], c.tasks)
				}
				if want := stages[max(i-1, 0):i]; !slices.Equal(s.After, want) {
					t.Errorf("stage %s after %v, want %v", s.Name, s.After, want)
				}
				for _, task := range s.Tasks {
					// The dataset is the last argument, after every flag.
					if task.Args[len(task.Args)-1] != task.Dataset {
						t.Errorf("task %v does not end with its dataset %s", task.Args, task.Dataset)
					}
				}
			}
			if got := p.Stages[1].Tasks[0].Args; !slices.Equal(got, c.args) {
				t.Errorf("args\n got %q\nwant %q", got, c.args)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/opt/bin/takedown": "/opt/bin/takedown",
		"--window=60":       "--window=60",
		"local/other":       "local/other",
		"a b":               "'a b'",
		"it's":              `'it'\''s'`,
		"$HOME":             "'$HOME'",
		"":                  "''",
		"x;rm -rf /":        "'x;rm -rf /'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
		// The shell reads back what was quoted.
		out, err := exec.Command("sh", "-c", "printf %s "+Quote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh reads %s as %q (%v), want %q", Quote(in), out, err, in)
		}
	}
}

// TestSwitch runs a stage's task script with sh for each index: it runs
// exactly that task's command, and an index out of range exits 2.
func TestSwitch(t *testing.T) {
	p, err := Build(opts(func(o *Options) { o.Program = "echo"; o.Datasets = []string{"demo", "it's here"} }))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Stages[2]
	s.Tasks[1].Env = []EnvVar{{"TZ", "UTC"}}
	for _, retries := range []int{0, 2} {
		script := s.Switch("JOB_COMPLETION_INDEX", retries)
		for i, task := range s.Tasks {
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), "PATH=/usr/bin:/bin"}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("index %d: %v", i, err)
			}
			if want := strings.Join(task.Args[1:], " ") + "\n"; string(out) != want {
				t.Errorf("retries %d, index %d: ran %q, want %q", retries, i, out, want)
			}
		}
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = []string{"JOB_COMPLETION_INDEX=2"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "stage fingerprint has no task 2 (0-1)") {
			t.Errorf("index out of range: %v, %q", err, stderr.String())
		}
	}
}

// TestSwitchRetriesBusy: with retries, a task that exits 75 runs again, at
// most retries times; another exit code is final.
func TestSwitchRetriesBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps")
	}
	s := StageJob{Name: "fetch", Tasks: []Task{{Args: []string{"sh", "-c", "echo x >> tries; exit 75"}}, {Args: []string{"sh", "-c", "echo x >> tries; exit 3"}}}}
	script := strings.ReplaceAll(s.Switch("I", 1), "sleep 30", "sleep 0")
	for i, want := range []struct{ code, tries int }{{75, 2}, {3, 1}} {
		dir := t.TempDir()
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir, cmd.Env = dir, []string{fmt.Sprintf("I=%d", i), "PATH=/usr/bin:/bin"}
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != want.code {
			t.Errorf("task %d: %v, want exit %d", i, err, want.code)
		}
		out, _ := exec.Command("wc", "-l", dir+"/tries").Output()
		if n := strings.Fields(string(out)); len(n) == 0 || n[0] != fmt.Sprint(want.tries) {
			t.Errorf("task %d ran %s times, want %d", i, n, want.tries)
		}
	}
}

// TestKubernetesJobs reads the Kubernetes YAML back and checks what a Job
// needs, and that the Jobs' after annotations are exactly the stage DAG.
func TestKubernetesJobs(t *testing.T) {
	for _, par := range []int{0, 1, 5} {
		p, err := Build(opts(func(o *Options) { o.Datasets = []string{"demo", "a", "b"} }))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Kubernetes(&buf, p, KubeOptions{Image: "ghcr.io/x/takedown:1", Parallelism: par, Retries: 2}); err != nil {
			t.Fatal(err)
		}
		docs := strings.Split(buf.String(), "\n---\n")[1:]
		if len(docs) != len(p.Stages) {
			t.Fatalf("%d documents, want %d", len(docs), len(p.Stages))
		}
		edges := map[string][]string{}
		for i, d := range docs {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(d), &m); err != nil {
				t.Fatalf("document %d: %v", i, err)
			}
			get := func(path string) any {
				var v any = m
				for _, k := range strings.Split(path, ".") {
					switch x := v.(type) {
					case map[string]any:
						v = x[k]
					case []any:
						var n int
						fmt.Sscan(k, &n)
						v = x[n]
					default:
						t.Fatalf("document %d: no %s", i, path)
					}
				}
				return v
			}
			name := fmt.Sprint(get("metadata.name"))
			for path, want := range map[string]any{
				"apiVersion": "batch/v1", "kind": "Job", "metadata.name": p.JobName(p.Stages[i].Name),
				"spec.completionMode": "Indexed", "spec.template.spec.restartPolicy": "Never",
			} {
				if got := get(path); got != want {
					t.Errorf("%s: %s = %v, want %v", name, path, got, want)
				}
			}
			comp, _ := get("spec.completions").(uint64)
			paral, _ := get("spec.parallelism").(uint64)
			if int(comp) != len(p.Stages[i].Tasks) || paral < 1 || paral > comp || (par > 0 && int(paral) > par) {
				t.Errorf("%s: completions %d, parallelism %d; want %d tasks, parallelism in [1, completions] and <= %d", name, comp, paral, len(p.Stages[i].Tasks), par)
			}
			// No shell: takedown task picks the task by the index, one
			// JSON argument array per task.
			cmd, _ := get("spec.template.spec.containers.0.command").([]any)
			if len(cmd) != 5+len(p.Stages[i].Tasks) || fmt.Sprint(cmd[1:5]) != "[task --index-env "+IndexVar+" --]" {
				t.Errorf("%s: container command %v", name, cmd)
			}
			for k, task := range p.Stages[i].Tasks {
				var args []string
				if err := json.Unmarshal([]byte(fmt.Sprint(cmd[5+k])), &args); err != nil || !slices.Equal(args, task.Args[1:]) {
					t.Errorf("%s: task %d is %v, want %v (%v)", name, k, cmd[5+k], task.Args[1:], err)
				}
			}
			if a, ok := get("metadata").(map[string]any)["annotations"].(map[string]any); ok {
				edges[name] = strings.Split(fmt.Sprint(a[AfterAnnotation]), ",")
			}
		}
		if want := stageDAG(p); !equalDAG(edges, want) {
			t.Errorf("after annotations %v, want the stage DAG %v", edges, want)
		}
	}
}

// TestArgoWorkflow reads the Workflow back: a DAG whose dependencies are
// exactly the stage DAG, each task fanned out over its stage's indexes and
// running a container template that sets JOB_COMPLETION_INDEX.
func TestArgoWorkflow(t *testing.T) {
	p, err := Build(opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Argo(&buf, p, KubeOptions{Image: "takedown:dev", Retries: 2}); err != nil {
		t.Fatal(err)
	}
	var wf ArgoWorkflow
	if err := yaml.Unmarshal(buf.Bytes(), &wf); err != nil {
		t.Fatal(err)
	}
	if wf.APIVersion != "argoproj.io/v1alpha1" || wf.Kind != "Workflow" || wf.Metadata.Name == "" || wf.Spec.Entrypoint == "" {
		t.Fatalf("workflow head: %+v", wf)
	}
	tmpl := map[string]ArgoTemplate{}
	for _, x := range wf.Spec.Templates {
		tmpl[x.Name] = x
	}
	entry, ok := tmpl[wf.Spec.Entrypoint]
	if !ok || entry.DAG == nil {
		t.Fatalf("entrypoint %s is not a DAG template", wf.Spec.Entrypoint)
	}
	edges := map[string][]string{}
	stageOf := map[string]StageJob{}
	for _, s := range p.Stages {
		stageOf[s.Name] = s
	}
	for _, task := range entry.DAG.Tasks {
		s, ok := stageOf[task.Name]
		if !ok {
			t.Fatalf("DAG task %s is not a stage", task.Name)
		}
		if want := len(s.Tasks); len(task.WithItems) != want || task.WithItems[want-1] != want-1 {
			t.Errorf("%s: withItems %v, want 0..%d", task.Name, task.WithItems, want-1)
		}
		c := tmpl[task.Template].Container
		if c == nil || c.Image != "takedown:dev" || len(c.Command) != 5+len(s.Tasks) || !slices.Contains(c.Env, KubeEnv{IndexVar, "{{inputs.parameters.index}}"}) {
			t.Errorf("%s: template %s container %+v", task.Name, task.Template, c)
		}
		if rs := tmpl[task.Template].RetryStrategy; rs == nil || !strings.Contains(rs.Expression, "75") {
			t.Errorf("%s: retry strategy %+v, want one retrying exit 75", task.Name, rs)
		}
		if len(task.Dependencies) > 0 {
			var deps []string
			for _, d := range task.Dependencies {
				deps = append(deps, p.JobName(d))
			}
			edges[p.JobName(task.Name)] = deps
		}
	}
	if want := stageDAG(p); !equalDAG(edges, want) {
		t.Errorf("DAG %v, want the stage DAG %v", edges, want)
	}
}

// stageDAG is the plan's stage dependencies by job name: a stage's job to
// the jobs of the stage before it.
func stageDAG(p *Plan) map[string][]string {
	out := map[string][]string{}
	for i := 1; i < len(stages); i++ {
		out[p.JobName(stages[i])] = []string{p.JobName(stages[i-1])}
	}
	return out
}

func equalDAG(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestContainerResources: --mem is a container's memory request and its
// limit, as it is a Slurm task's, so that takedown finds the limit in its
// cgroup and plans within it; --cpus-per-task is a request only.
func TestContainerResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    KubeOptions
		want *Resources
	}{
		{"none", KubeOptions{}, nil},
		{"cpu", KubeOptions{CPU: "2"}, &Resources{Requests: map[string]string{"cpu": "2"}}},
		{"memory", KubeOptions{Mem: "4Gi"}, &Resources{Requests: map[string]string{"memory": "4Gi"}, Limits: map[string]string{"memory": "4Gi"}}},
		{"both", KubeOptions{CPU: "2", Mem: "1Gi"}, &Resources{Requests: map[string]string{"cpu": "2", "memory": "1Gi"}, Limits: map[string]string{"memory": "1Gi"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := container(StageJob{Name: "fetch", Tasks: []Task{{Args: []string{"fetch", "demo"}}}}, tc.o, nil).Resources
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resources %+v, want %+v", got, tc.want)
			}
		})
	}
}
