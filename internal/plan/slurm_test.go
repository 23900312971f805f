package plan

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubs writes fake sbatch, squeue and scontrol into a directory: sbatch
// records each submission's arguments and task script and answers with the
// next job id (in --parsable form, with a cluster name); squeue reports
// nothing pending; scontrol prints the file scontrol_JOBID.
func stubs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"sbatch": `n=$(( $(cat "$STUB/n" 2>/dev/null || echo 0) + 1 )); echo $n > "$STUB/n"
printf '%s\n' "$@" > "$STUB/args_$n"; cat > "$STUB/script_$n"; echo "$n;ci"`,
		"squeue":   `exit 0`,
		"scontrol": `cat "$STUB/scontrol_$4"`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runSubmit(t *testing.T, dir string, script []byte, args ...string) (string, string, error) {
	f := filepath.Join(dir, "submit.sh")
	if err := os.WriteFile(f, script, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{f}, args...)...)
	cmd.Env = append(os.Environ(), "STUB="+dir, "PATH="+dir+":"+os.Getenv("PATH"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestSlurmSubmit runs the submit script against a fake sbatch: one array
// per stage, each after the job id sbatch gave the stage before, and each
// array index of a stage's script runs that task.
func TestSlurmSubmit(t *testing.T) {
	p, err := Build(opts(func(o *Options) { o.Program = "echo" }))
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	logs := t.TempDir()
	if err := Slurm(&script, p, SlurmOptions{CPUs: 2, Mem: "4G", Logs: logs, Parallel: 1}); err != nil {
		t.Fatal(err)
	}
	dir := stubs(t)
	out, stderr, err := runSubmit(t, dir, script.Bytes())
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	for i, s := range p.Stages {
		id := i + 1
		if !strings.Contains(out, fmt.Sprintf("%s: job array %d\n", s.Name, id)) {
			t.Errorf("output does not give %s job %d:\n%s", s.Name, id, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("args_%d", id)))
		if err != nil {
			t.Fatalf("stage %s not submitted: %v", s.Name, err)
		}
		args := strings.Split(strings.TrimSpace(string(b)), "\n")
		want := []string{"--parsable", "--job-name=takedown-" + s.Name, "--array=0-1%1",
			"--output=" + filepath.Join(logs, s.Name+"_%A_%a.log"), "--cpus-per-task=2", "--mem=4G"}
		if i > 0 {
			want = append(want, fmt.Sprintf("--dependency=afterok:%d", id-1), "--kill-on-invalid-dep=yes")
		}
		if strings.Join(args, " ") != strings.Join(want, " ") {
			t.Errorf("sbatch %s\n got %q\nwant %q", s.Name, args, want)
		}
		for idx, task := range s.Tasks {
			cmd := exec.Command("sh", filepath.Join(dir, fmt.Sprintf("script_%d", id)))
			cmd.Env = []string{fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", idx), "PATH=/usr/bin:/bin"}
			got, err := cmd.Output()
			if err != nil || string(got) != strings.Join(task.Args[1:], " ")+"\n" {
				t.Errorf("%s task %d ran %q (%v), want %q", s.Name, idx, got, err, task.Args[1:])
			}
		}
	}
}

// TestSlurmWait: with --wait the script checks every task as scontrol
// reports it; a failed task is named with its dataset and log, a stage
// cancelled for its dependency is reported not run, and the script fails.
func TestSlurmWait(t *testing.T) {
	p, err := Build(opts(func(o *Options) { o.Stages = []string{"fetch", "normalize"} }))
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	if err := Slurm(&script, p, SlurmOptions{Logs: "/logs"}); err != nil {
		t.Fatal(err)
	}
	ok := func(job, task int) string {
		return fmt.Sprintf("JobId=%d ArrayJobId=%d ArrayTaskId=%d JobName=x JobState=COMPLETED Reason=None ExitCode=0:0 DerivedExitCode=0:0 StdOut=/logs/x_%d_%d.log\n", job+task+10, job, task, job, task)
	}
	cases := []struct {
		name     string
		scontrol map[int]string
		fail     bool
		want     []string
	}{
		{"all ok", map[int]string{1: ok(1, 0) + ok(1, 1), 2: ok(2, 0) + ok(2, 1)}, false,
			[]string{"fetch: 2 of 2 tasks exited 0\nnormalize: 2 of 2 tasks exited 0\nall 2 stages done: every task exited 0"}},
		{"fetch of local/other fails", map[int]string{
			1: ok(1, 0) + "JobId=12 ArrayJobId=1 ArrayTaskId=1 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 DerivedExitCode=0:0 StdOut=/logs/fetch_1_1.log\n",
			2: "JobId=2 ArrayJobId=2 ArrayTaskId=0-1 JobName=x JobState=CANCELLED Reason=DependencyNeverSatisfied ExitCode=0:0 StdOut=/logs/normalize_2_%a.log\n",
		}, true, []string{
			"FAILED: stage fetch task 1 (local/other): job 1_1 FAILED, exit code 3:0, log /logs/fetch_1_1.log",
			"NOT RUN: stage normalize tasks 0-1: job 2 CANCELLED (DependencyNeverSatisfied)",
			"fetch: 1 of 2 tasks exited 0", "normalize: 0 of 2 tasks exited 0",
		}},
		{"job gone", map[int]string{1: ok(1, 0) + ok(1, 1), 2: "slurm_load_jobs error: Invalid job id specified\n"}, true,
			[]string{"NOT RUN: stage normalize tasks ?: job 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := stubs(t)
			for id, text := range c.scontrol {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("scontrol_%d", id)), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, stderr, err := runSubmit(t, dir, script.Bytes(), "--wait")
			if (err != nil) != c.fail {
				t.Fatalf("err = %v, want failure %v\nstdout:\n%s\nstderr:\n%s", err, c.fail, out, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out+stderr, w) {
					t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", w, out, stderr)
				}
			}
		})
	}
}
