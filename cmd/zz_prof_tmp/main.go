package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/takedown-research/takedown/pipeline/normalize"
)

func main() {
	f, _ := os.Create(os.Args[2])
	pprof.StartCPUProfile(f)
	out, _ := os.MkdirTemp("", "prof")
	defer os.RemoveAll(out)
	t := time.Now()
	st, err := normalize.Run(context.Background(), normalize.Input{Dataset: "b", Files: []normalize.SourceFile{{Name: "t.csv", Path: os.Args[1]}}}, normalize.DefaultParams(), out, nil)
	pprof.StopCPUProfile()
	fmt.Println(st.Posts, err, time.Since(t))
}
