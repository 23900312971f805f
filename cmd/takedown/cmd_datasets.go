package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/pipeline/store"
)

func datasetsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "datasets",
		Usage: "list, describe and add datasets (registry releases and your own local ones)",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list every release in the registry and every local dataset of the workspace",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the descriptors as JSON"}},
				Action: func(c *cli.Context) error {
					all, err := datasets.All()
					if err != nil {
						return err
					}
					local, err := datasets.ListLocal(g.workspace)
					if err != nil {
						return err
					}
					all = append(all, local...)
					if c.Bool("json") {
						b, _ := json.MarshalIndent(all, "", "  ")
						g.out("%s\n", b)
						return nil
					}
					for _, d := range all {
						kind := d.Platform
						if d.Local {
							kind = "local"
						}
						g.out("%-32s %-10s %-10s %s\n", d.Name, kind, d.ReleaseDate, d.Title)
					}
					return nil
				},
			},
			{
				Name:      "show",
				Usage:     "print one dataset's descriptor",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets show takes one NAME")
					}
					d, err := datasets.Lookup(g.workspace, c.Args().First())
					if err != nil {
						return err
					}
					b, _ := json.MarshalIndent(d, "", "  ")
					g.out("%s\n", b)
					return nil
				},
			},
			{
				Name:      "cite",
				Usage:     "print how to cite a dataset",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets cite takes one NAME")
					}
					d, err := datasets.Lookup(g.workspace, c.Args().First())
					if err != nil {
						return err
					}
					g.out("%s\n", d.Citation)
					return nil
				},
			},
			{
				Name:      "add",
				Usage:     "describe your own archive files once, so every stage works on them as on a registry release",
				ArgsUsage: "NAME FILE...",
				Description: "Writes a descriptor into the workspace (datasets/NAME.json) that pins every file by its\n" +
					"sha256. A file's role (users, tweets, truth) is guessed from its name; truth files are\n" +
					"ground truth for evaluation and are not normalized. Run ids do not depend on where the\n" +
					"files are, only on their bytes.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "twitter-io", Usage: "archive format of the files"},
					&cli.StringFlag{Name: "title", Usage: "a one-line title"},
					&cli.StringFlag{Name: "citation", Usage: "how to cite the data"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() < 2 {
						return usagef("datasets add takes a NAME and at least one FILE")
					}
					name := c.Args().First()
					if err := datasets.ValidateName(name); err != nil {
						return usageError{err}
					}
					d := datasets.Descriptor{
						Name: name, Title: c.String("title"), Platform: "local", Format: c.String("format"),
						Citation: c.String("citation"), Local: true,
					}
					if d.Title == "" {
						d.Title = "local dataset " + name
					}
					for _, f := range c.Args().Slice()[1:] {
						abs, err := filepath.Abs(f)
						if err != nil {
							return err
						}
						sum, n, err := store.FileDigest(abs)
						if err != nil {
							return fmt.Errorf("%w: datasets add: %v", errInput, err)
						}
						d.Files = append(d.Files, datasets.File{
							Name: filepath.Base(abs), Role: datasets.RoleOf(abs), SHA256: sum, Bytes: n, Path: abs,
						})
					}
					p, err := datasets.AddLocal(g.workspace, d)
					if err != nil {
						return usageError{err}
					}
					g.out("added %s (%d files) in %s\n", name, len(d.Files), p)
					return nil
				},
			},
		},
	}
}
