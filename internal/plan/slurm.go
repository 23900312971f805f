package plan

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/template"
)

// SlurmOptions are the resources and logs of every Slurm task.
type SlurmOptions struct {
	CPUs      int    // --cpus-per-task; 0 leaves Slurm's default
	Mem       string // --mem, e.g. 4G
	Time      string // --time, e.g. 1:00:00
	Partition string
	Account   string
	Logs      string // directory of the task logs, absolute
	Retries   int    // runs again of a task that exits 75 (busy)
	Parallel  int    // tasks of a stage at once (--array=0-N%P); 0 = no limit
}

// slurmStage is what the template needs of a stage.
type slurmStage struct {
	Var     string // the shell variable holding the stage's job id
	Name    string
	After   []string // shell variables of the stages before
	Options []string // sbatch options, quoted
	Script  string   // the task script read by sbatch on stdin
	Labels  []string // per array index
}

// Slurm writes a bash script that submits one job array per stage with
// sbatch --parsable, each stage after the one before (afterok: every task
// of it succeeded; --kill-on-invalid-dep cancels a stage whose dependency
// failed instead of leaving it pending). Run with --wait, the script then
// waits for the jobs and checks every task, naming a failed task and its
// log.
func Slurm(w io.Writer, p *Plan, o SlurmOptions) error {
	if !filepath.IsAbs(o.Logs) {
		return fmt.Errorf("log directory %q is not an absolute path", o.Logs)
	}
	var stages []slurmStage
	for _, s := range p.Stages {
		st := slurmStage{Var: shellVar(s.Name), Name: s.Name}
		opt := []string{
			"--job-name=" + p.JobName(s.Name),
			"--array=" + arrayRange(len(s.Tasks), o.Parallel),
			"--output=" + filepath.Join(o.Logs, s.Name+"_%A_%a.log"),
		}
		if o.CPUs > 0 {
			opt = append(opt, fmt.Sprintf("--cpus-per-task=%d", o.CPUs))
		}
		for _, kv := range [][2]string{{"mem", o.Mem}, {"time", o.Time}, {"partition", o.Partition}, {"account", o.Account}} {
			if kv[1] != "" {
				opt = append(opt, "--"+kv[0]+"="+kv[1])
			}
		}
		for i := range opt {
			opt[i] = Quote(opt[i])
		}
		if len(s.After) > 0 {
			var deps []string
			for _, a := range s.After {
				st.After = append(st.After, shellVar(a))
				deps = append(deps, "$"+shellVar(a))
			}
			opt = append(opt, `--dependency="afterok:`+strings.Join(deps, ":")+`"`, "--kill-on-invalid-dep=yes")
		}
		st.Options = opt
		st.Script = "#!/bin/sh\n" + s.Switch("SLURM_ARRAY_TASK_ID", o.Retries)
		for _, t := range s.Tasks {
			st.Labels = append(st.Labels, t.Label())
		}
		stages = append(stages, st)
	}
	return slurmTemplate.Execute(w, map[string]any{"Plan": p, "Stages": stages, "Logs": o.Logs})
}

// arrayRange is sbatch's --array value for n tasks, at most limit at once.
func arrayRange(n, limit int) string {
	r := fmt.Sprintf("0-%d", n-1)
	if limit > 0 && limit < n {
		r += fmt.Sprintf("%%%d", limit)
	}
	return r
}

// shellVar is a stage's name as a shell variable name.
func shellVar(stage string) string {
	return "job_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, stage)
}

var slurmTemplate = template.Must(template.New("slurm").Funcs(template.FuncMap{
	"q":    Quote,
	"join": strings.Join,
	"last": func(i int, s []slurmStage) bool { return i == len(s)-1 },
}).Parse(`#!/usr/bin/env bash
# Submits the takedown pipeline to Slurm: one job array per stage, each
# array index one dataset (shard), each stage after the one before
# (afterok). Written by takedown plan --engine slurm.
#   bash THIS          submit, print the job ids
#   bash THIS --wait   submit, wait, check every task's exit code
set -euo pipefail
logs={{q .Logs}}
mkdir -p "$logs"
submit() { local id; id=$(sbatch --parsable "$@") || exit 1; echo "${id%%;*}"; }
{{range .Stages}}
# {{.Name}}: {{len .Labels}} task(s): {{range $i, $l := .Labels}}{{if $i}}, {{end}}{{$i}}={{$l}}{{end}}
{{.Var}}=$(submit {{join .Options " "}} <<'TASKS'
{{.Script}}TASKS
)
echo "{{.Name}}: job array $` + "{{.Var}}" + `"
{{- end}}

stages=({{range .Stages}}{{.Name}} {{end}})
jobs=({{range .Stages}}"$` + "{{.Var}}" + `" {{end}})
{{- range $i, $s := .Stages}}
labels_{{$i}}=({{range .Labels}}{{q .}} {{end}})
{{- end}}
[ "${1:-}" = --wait ] || exit 0

# Wait for each stage in turn and check its tasks as soon as it ends
# (scontrol keeps a finished job for MinJobAge, 300s by default).
failed=0
for i in "${!stages[@]}"; do
  while [ -n "$(squeue -h -j "${jobs[$i]}" -o %i 2>/dev/null)" ]; do sleep 2; done
  declare -n labels="labels_$i"
  n=0
  while read -r line; do
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
    state=$(field JobState) task=$(field ArrayTaskId) code=$(field ExitCode) log=$(field StdOut)
    if [ "$state" = COMPLETED ] && [ "$code" = 0:0 ]; then n=$((n+1)); continue; fi
    failed=1
    if [ -n "$task" ] && [ "$task" -eq "$task" ] 2>/dev/null; then
      echo "FAILED: stage ${stages[$i]} task $task (${labels[$task]}): job ${jobs[$i]}_$task $state, exit code $code, log $log" >&2
      tail -n 5 "$log" 2>/dev/null | sed 's/^/  | /' >&2 || true
    else
      echo "NOT RUN: stage ${stages[$i]} tasks ${task:-?}: job ${jobs[$i]} $state ($(field Reason))" >&2
    fi
  done < <(scontrol show job -o "${jobs[$i]}" 2>&1)
  echo "${stages[$i]}: $n of ${#labels[@]} tasks exited 0"
done
if [ "$failed" = 1 ]; then exit 1; fi
echo "all {{len .Stages}} stages done: every task exited 0"
`))
