// Command reference writes the id columns of the demo's posts and evidence
// tables, read from Parquet through the Go API, for compare.py: one file
// <out>/<table>/<column>.txt per id column (takedown.IDColumns), one line
// per row, \N for null; and <out>/<table>.cols, the column names.
//
//	go run ./.ci/ids/reference WORKSPACE OUT
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/takedown-research/takedown"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: reference WORKSPACE OUT")
		os.Exit(2)
	}
	ws, err := takedown.Open(os.Args[1])
	check(err)
	check(dump[takedown.Post](ws, "posts", os.Args[2]))
	check(dump[takedown.Evidence](ws, "evidence", os.Args[2]))
}

func dump[T any](ws *takedown.Workspace, table, out string) error {
	t, err := ws.Table("demo", table)
	if err != nil {
		return err
	}
	rows, err := takedown.ReadAll[T](t)
	if err != nil {
		return err
	}
	cols := takedown.IDColumns(table)
	dir := filepath.Join(out, table)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rt := reflect.TypeFor[T]()
	for _, col := range cols {
		i := slices.IndexFunc(slices.Collect(rt.Fields()), func(f reflect.StructField) bool {
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			return name == col
		})
		if i < 0 {
			return fmt.Errorf("%s: no field for id column %s", table, col)
		}
		f, err := os.Create(filepath.Join(dir, col+".txt"))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for _, r := range rows {
			v := reflect.ValueOf(r).Field(i)
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					w.WriteString("\\N\n")
					continue
				}
				v = v.Elem()
			}
			w.WriteString(v.String() + "\n")
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d rows, id columns %s (%s run %s)\n", table, len(rows), strings.Join(cols, ","), t.Stage, t.RunID)
	return os.WriteFile(filepath.Join(out, table+".cols"), []byte(strings.Join(cols, ",")+"\n"), 0o644)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}
