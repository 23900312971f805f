// Command takedown turns published platform takedown archives into clean,
// versioned Parquet tables and finds the coordinated groups in them.
package main

import "os"

func main() {
	adviseHugePages()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
