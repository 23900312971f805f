//go:build unix

// Command peakrss runs a command and prints its wall time and peak resident
// memory (the maximum RSS of the process and its waited-for children), for
// the benchmark script.
//
//	go run ./scripts/peakrss -- takedown run demo
//
// It builds on Unix only: it reads getrusage's ru_maxrss, which Windows
// has no counterpart of in os.ProcessState.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: peakrss -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var maxBytes int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxBytes = int64(ru.Maxrss) * maxrssUnit
	}
	fmt.Fprintf(os.Stderr, "peakrss: wall %.2f s, peak RSS %.1f MiB\n", wall.Seconds(), float64(maxBytes)/(1<<20))
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
