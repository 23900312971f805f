package main

import (
	"encoding/json"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/bundle"
)

func packCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "write a citable bundle of current runs (CITATION.cff, RO-Crate) that `takedown verify BUNDLE` recomputes anywhere",
		ArgsUsage: "[DATASET...]",
		Description: "Without DATASET, packs every dataset with current runs. --out FILE.zip writes a zip file, any\n" +
			"other --out a new directory; the bytes depend only on the runs packed. Sources are named by\n" +
			"sha256 and URL, and copied in only with --with-sources. With a study file (./takedown.yaml or\n" +
			"--study), packs the study's datasets and copies the study file in.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "the bundle to write: FILE.zip, or a new directory"},
			&cli.BoolFlag{Name: "with-sources", Usage: "copy the source files into the bundle (verify then needs no download)"},
			&cli.GenericFlag{Name: "author", Value: &authorList{}, Usage: `an author of the results for CITATION.cff: "Family, Given" or a name (repeat for several)`},
			&cli.StringFlag{Name: "license", Value: "CC-BY-4.0", Usage: "SPDX licence id of the results"},
			&cli.StringFlag{Name: "title", Usage: "title of the bundle (default: takedown results for DATASET...)"},
		},
		Action: func(c *cli.Context) error {
			r, err := openRunner(g)
			if err != nil {
				return err
			}
			names, studyFile := c.Args().Slice(), ""
			s, err := g.loadStudy()
			if err != nil {
				return err
			}
			if s != nil {
				studyFile = s.Path
				if len(names) == 0 {
					for _, d := range s.Datasets {
						names = append(names, d.Name)
					}
				}
			}
			sum, err := r.Pack(bundle.Options{
				Datasets: names, Study: studyFile, WithSources: c.Bool("with-sources"),
				Authors: *c.Generic("author").(*authorList), License: c.String("license"), Title: c.String("title"),
			}, c.String("out"))
			if err != nil {
				return err
			}
			if g.json {
				b, _ := json.Marshal(sum)
				g.log.Info("packed", "event", "pack", "summary", json.RawMessage(b))
				return nil
			}
			src := "named by sha256 and URL"
			if sum.SourcesIncluded {
				src = "included"
			}
			g.out("packed %d runs of %d dataset(s) into %s: %d files, %d bytes; %d source file(s) %s\n",
				sum.Runs, len(sum.Datasets), sum.Path, sum.Files, sum.Bytes, sum.Sources, src)
			g.out("check it anywhere with: takedown -w DIR verify %s\n", sum.Path)
			return nil
		},
	}
}

// authorList collects --author values whole: a StringSliceFlag would split
// "Family, Given" at its comma.
type authorList []string

func (a *authorList) Set(v string) error {
	*a = append(*a, v)
	return nil
}

func (a *authorList) String() string { return strings.Join(*a, "; ") }
