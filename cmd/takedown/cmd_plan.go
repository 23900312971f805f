package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/plan"
	"github.com/takedown-research/takedown/internal/runner"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/cluster"
)

// planEngines are the --engine values of takedown plan.
var planEngines = []string{"slurm", "k8s", "argo"}

func planCommand(g *globals) *cli.Command {
	flags := append([]cli.Flag{
		&cli.StringFlag{Name: "engine", Value: "slurm", Usage: "scheduler to write the plan for: " + strings.Join(planEngines, ", ")},
		&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "write the plan to this file (default: standard output)"},
		&cli.StringFlag{Name: "binary", Usage: "the takedown program every task runs: an absolute path, or a name on the PATH of the nodes (default: this program's absolute path for slurm, takedown for k8s and argo)"},
		&cli.StringFlag{Name: "name", Value: "takedown", Usage: "prefix of the job names (lower-case letters, digits, '-')"},
		&cli.StringFlag{Name: "from", Usage: "first stage of the plan (fetch, normalize, fingerprint, cluster, summarize)"},
		&cli.StringFlag{Name: "to", Usage: "last stage of the plan"},
		&cli.IntFlag{Name: "shards", Value: 1, Usage: "shards per dataset of the stages that shard (normalize, fingerprint, cluster): each is an array of datasets x shards (--shard i/N) and a merge job (--merge N) after it; the other stages run one task per dataset"},
		&cli.DurationFlag{Name: "task-wait", Value: defaultTaskWait, Usage: "--wait of every task: how long a task waits for a dataset or workspace another task holds"},
		&cli.IntFlag{Name: "retries", Value: 2, Usage: "runs again of a task that exits 75 (busy)"},
		&cli.BoolFlag{Name: "events", Usage: "tasks write one JSON event per line on stderr (--json) into their logs"},
		&cli.IntFlag{Name: "cpus-per-task", Category: "resources", Usage: "CPUs of each task (slurm --cpus-per-task; k8s/argo requests.cpu)"},
		&cli.StringFlag{Name: "mem", Category: "resources", Usage: "memory of each task, its limit too (slurm --mem, e.g. 4G; k8s/argo requests.memory and limits.memory, e.g. 4Gi); takedown plans within it"},
		&cli.StringFlag{Name: "time", Category: "resources", Usage: "slurm --time of each task, e.g. 2:00:00"},
		&cli.StringFlag{Name: "partition", Category: "resources", Usage: "slurm --partition"},
		&cli.StringFlag{Name: "account", Category: "resources", Usage: "slurm --account"},
		&cli.StringFlag{Name: "logs", Category: "resources", Value: "takedown-logs", Usage: "slurm: directory of the task logs (one per task, STAGE_JOBID_INDEX.log)"},
		&cli.StringFlag{Name: "image", Category: "kubernetes", Usage: "k8s/argo: container image holding the takedown program"},
		&cli.StringFlag{Name: "namespace", Category: "kubernetes", Usage: "k8s/argo: namespace of the jobs"},
		&cli.IntFlag{Name: "parallelism", Category: "resources", Usage: "tasks of a stage at once (slurm --array=0-N%P, k8s parallelism, argo parallelism; default: all)"},
		&cli.StringFlag{Name: "claim", Category: "kubernetes", Usage: "k8s/argo: PersistentVolumeClaim mounted at the workspace path"},
	}, paramFlags()...)
	return &cli.Command{
		Name:      "plan",
		Usage:     "write the pipeline as scheduler jobs: a job array per stage over the datasets, each stage after the one before",
		ArgsUsage: "[DATASET...]  (default: the study's datasets, or demo)",
		Description: "Each task runs the stage command of one dataset (takedown STAGE DATASET) on the\n" +
			"shared workspace, so a plan's outputs are those of takedown run, byte for byte.\n" +
			"slurm: a bash script that submits with sbatch (bash FILE --wait also waits and checks);\n" +
			"k8s: Indexed Jobs, one per stage; argo: a Workflow DAG. See docs/scale.md.",
		Flags: flags,
		Action: func(c *cli.Context) error {
			engine := c.String("engine")
			if !slices.Contains(planEngines, engine) {
				return usagef("--engine %q: want one of %s", engine, strings.Join(planEngines, ", "))
			}
			if n := c.Int("shards"); n < 1 || n > cluster.MaxPartitions {
				return usagef("--shards %d: want 1 to %d", n, cluster.MaxPartitions)
			}
			o, err := planOptions(c, g, engine)
			if err != nil {
				return err
			}
			p, err := plan.Build(o)
			if err != nil {
				return usageError{err}
			}
			return writePlan(c, g, engine, p, o.Workspace)
		},
	}
}

const defaultTaskWait = 30 * time.Minute

func planOptions(c *cli.Context, g *globals, engine string) (plan.Options, error) {
	o := plan.Options{Name: c.String("name"), Wait: c.Duration("task-wait"), JSON: c.Bool("events"), Shards: c.Int("shards"),
		Sharded: runner.ShardedStages()}
	var err error
	if store.IsObjectStorageURL(g.workspace) {
		// An object-storage URL names the same workspace from every node.
		o.Workspace = g.workspace
	} else if o.Workspace, err = filepath.Abs(g.workspace); err != nil {
		return o, err
	}
	o.Program = c.String("binary")
	if o.Program == "" {
		o.Program = "takedown"
		if engine == "slurm" {
			if o.Program, err = os.Executable(); err != nil {
				return o, fmt.Errorf("the path of this program (give --binary): %w", err)
			}
			if strings.Contains(o.Program, "go-build") {
				fmt.Fprintf(g.stderr, "takedown: warning: the tasks run %s, a temporary build of go run that will be gone; build takedown (go build -o DIR ./cmd/takedown) or give --binary\n", o.Program)
			}
		}
	} else if strings.ContainsRune(o.Program, filepath.Separator) && !filepath.IsAbs(o.Program) {
		if o.Program, err = filepath.Abs(o.Program); err != nil {
			return o, err
		}
	}
	if o.Stages, err = planStages(c.String("from"), c.String("to")); err != nil {
		return o, err
	}
	s, err := g.loadStudy()
	if err != nil {
		return o, err
	}
	o.Datasets = c.Args().Slice()
	if s != nil {
		o.Study = s.Path
		var names []string
		for _, d := range s.Datasets {
			names = append(names, d.Name)
		}
		for _, d := range o.Datasets {
			if !slices.Contains(names, d) {
				return o, usagef("dataset %s is not in the study file %s (it has %s): add it there, or give --no-study",
					d, s.Path, strings.Join(names, ", "))
			}
		}
		if len(o.Datasets) == 0 {
			o.Datasets = names
		}
	}
	if len(o.Datasets) == 0 {
		o.Datasets = []string{defaultDataset}
	}
	o.Flags = setParamFlags(c)
	return o, nil
}

// planStages are the stages from..to ("" = the first, the last).
func planStages(from, to string) ([]string, error) {
	i, j := 0, len(runner.Stages)-1
	for _, x := range []struct {
		flag, name string
		at         *int
	}{{"from", from, &i}, {"to", to, &j}} {
		if x.name == "" {
			continue
		}
		if *x.at = slices.Index(runner.Stages, x.name); *x.at < 0 {
			return nil, usagef("--%s %q is not a stage (stages: %s)", x.flag, x.name, strings.Join(runner.Stages, ", "))
		}
	}
	if i > j {
		return nil, usagef("--from %s comes after --to %s", runner.Stages[i], runner.Stages[j])
	}
	return slices.Clone(runner.Stages[i : j+1]), nil
}

// setParamFlags are the stage parameter flags given on the command line,
// as --name=value for the tasks' commands.
func setParamFlags(c *cli.Context) []string {
	var out []string
	for _, f := range paramFlags() {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		var v string
		switch x := c.Value(name).(type) {
		case float64:
			v = strconv.FormatFloat(x, 'g', -1, 64)
		case cli.StringSlice:
			v = strings.Join(c.StringSlice(name), ",")
		default:
			v = fmt.Sprint(x)
		}
		out = append(out, "--"+name+"="+v)
	}
	return out
}

func writePlan(c *cli.Context, g *globals, engine string, p *plan.Plan, workspace string) error {
	var w io.Writer = g.stdout
	var f *os.File
	if out := c.String("out"); out != "" {
		var err error
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755); err != nil {
			return usagef("--out: %v", err)
		}
		w = f
	}
	var err error
	switch engine {
	case "slurm":
		logs, aerr := filepath.Abs(c.String("logs"))
		if aerr != nil {
			return aerr
		}
		err = plan.Slurm(w, p, plan.SlurmOptions{
			CPUs: c.Int("cpus-per-task"), Mem: c.String("mem"), Time: c.String("time"),
			Partition: c.String("partition"), Account: c.String("account"), Logs: logs, Retries: c.Int("retries"),
			Parallel: c.Int("parallelism"),
		})
	default:
		ko := plan.KubeOptions{
			Image: c.String("image"), Namespace: c.String("namespace"), Parallelism: c.Int("parallelism"),
			Mem: c.String("mem"), Claim: c.String("claim"), Workspace: workspace, Retries: c.Int("retries"),
		}
		if n := c.Int("cpus-per-task"); n > 0 {
			ko.CPU = strconv.Itoa(n)
		}
		if ko.Image == "" {
			err = usagef("--engine %s needs --image (a container image holding the takedown program)", engine)
		} else if engine == "k8s" {
			err = plan.Kubernetes(w, p, ko)
		} else {
			err = plan.Argo(w, p, ko)
		}
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil && !g.quiet {
			tasks := 0
			for _, s := range p.Stages {
				tasks += len(s.Tasks)
			}
			fmt.Fprintf(g.stderr, "wrote %s: %d jobs, %d tasks (%s)\n", c.String("out"), len(p.Stages), tasks, engine)
		}
	}
	return err
}
