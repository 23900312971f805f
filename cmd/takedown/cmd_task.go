package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/takedown-research/takedown/internal/errkind"

	"github.com/urfave/cli/v2"
)

// taskCommand runs one task of a stage job, chosen by an array index in the
// environment, so that a container needs no shell to pick its task: the
// Kubernetes and Argo plans run `takedown task --index-env
// JOB_COMPLETION_INDEX -- TASK...`, each TASK a JSON array of the task's
// arguments (its command line without the program).
func taskCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "task",
		Usage:     "run the task of a plan's stage job whose number is in an environment variable (the container command of takedown plan --engine k8s|argo)",
		ArgsUsage: "-- TASK...  (each a JSON array of a task's arguments)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "index-env", Value: "JOB_COMPLETION_INDEX", Usage: "environment variable holding the task's number, from 0"},
		},
		Action: func(c *cli.Context) error {
			name := c.String("index-env")
			v, ok := os.LookupEnv(name)
			if !ok {
				return usagef("%s is not set: takedown task runs inside a plan's job, which sets it", name)
			}
			i, err := strconv.Atoi(v)
			tasks := c.Args().Slice()
			if err != nil || i < 0 || i >= len(tasks) {
				return usagef("%s=%q: want a task number from 0 to %d", name, v, len(tasks)-1)
			}
			var args []string
			if err := json.Unmarshal([]byte(tasks[i]), &args); err != nil {
				return usagef("task %d is not a JSON array of arguments: %v", i, err)
			}
			fmt.Fprintf(g.stderr, "takedown task %d of %d: takedown %s\n", i, len(tasks), strings.Join(args, " "))
			if code := runContext(c.Context, append([]string{"takedown"}, args...), g.stdout, g.stderr); code != 0 {
				return taskExit{code}
			}
			return nil
		},
	}
}

// taskExit is a task's exit code, which the task already explained on
// stderr: takedown task exits with it and says nothing more.
type taskExit struct{ code int }

func (e taskExit) Error() string { return fmt.Sprintf("task exited %d", e.code) }

// Kind is the error kind whose exit code the task's is.
func (e taskExit) Kind() errkind.Kind {
	for k := errkind.Failure; k <= errkind.Interrupted; k++ {
		if k.ExitCode() == e.code {
			return k
		}
	}
	return errkind.Failure
}
