// Command takedown turns published platform takedown archives into clean,
// versioned Parquet tables and finds the coordinated groups in them.
package main

import (
	"os"

	"github.com/takedown-research/takedown/internal/sysmem"
)

func main() {
	adviseHugePages()
	// In a memory cgroup (Slurm --mem, a container's limit) the collector
	// works harder near the limit rather than the kernel kill the process.
	sysmem.LimitHeap(sysmem.Read())
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
