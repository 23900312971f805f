package main

import (
	"github.com/urfave/cli/v2"
)

func pathCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "path",
		Usage:     "print the stable path of a current table, for scripts",
		ArgsUsage: "TABLE",
		Description: "Prints <workspace>/current/<table>/dataset=<name>/part-0.parquet (or the variant's, under\n" +
			"variants/<table>/variant=<v>/), a link to the table of the current run that every run refreshes.\n" +
			"The folder current/<table> holds every dataset's: DuckDB, pandas and arrow read it as one\n" +
			"Hive-partitioned dataset (docs/export.md).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dataset", Aliases: []string{"d"}, Value: defaultDataset, Usage: "dataset of the table"},
			&cli.StringFlag{Name: "variant", Usage: "a study variant's table instead of the study's own"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("path takes one TABLE (e.g. clusters, posts, evidence)")
			}
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			_, p, err := r.StablePath(c.String("dataset"), c.Args().First(), c.String("variant"))
			if err != nil {
				return err
			}
			g.out("%s\n", p)
			return nil
		},
	}
}
