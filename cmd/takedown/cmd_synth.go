package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/synth"
)

func synthCommand(g *globals) *cli.Command {
	d := synth.DefaultConfig()
	return &cli.Command{
		Name:  "synth",
		Usage: "write a seeded synthetic takedown archive (Twitter information-operations layout) with ground truth",
		Description: "The same flags always give byte-identical files. The demo dataset is made by this generator.\n" +
			"See docs/synth.md for the population model.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "directory to write into (created if missing)"},
			&cli.Int64Flag{Name: "seed", Value: d.Seed, Usage: "random seed"},
			&cli.IntFlag{Name: "accounts", Value: d.Accounts, Usage: "number of accounts"},
			&cli.IntFlag{Name: "posts", Value: d.Posts, Usage: "approximate number of posts"},
			&cli.StringFlag{Name: "campaign", Value: d.Campaign, Usage: "file name prefix"},
			&cli.Float64Flag{Name: "viral-factor", Value: d.ViralFactor, Usage: "multiplies viral organic activity (the hard negatives), 0..10"},
			// Quirks of other releases (docs/synth.md, "Variants").
			&cli.BoolFlag{Name: "oct2018-order", Usage: "variant: Oct 2018 column order (in_reply_to_tweetid before in_reply_to_userid)"},
			&cli.BoolFlag{Name: "hex-ids", Usage: "variant: hash small accounts' ids as 64 hex characters (Oct 2018 family)"},
			&cli.BoolFlag{Name: "bare-lists", Usage: "variant: lists without inner quotes, [a, b]"},
			&cli.BoolFlag{Name: "capital-bools", Usage: "variant: is_retweet as True/False"},
			&cli.BoolFlag{Name: "float-counts", Usage: "variant: tweet counts as 0.0"},
			&cli.BoolFlag{Name: "camel-users", Usage: "variant: camelCase users header"},
			&cli.IntFlag{Name: "parts", Usage: "variant: split the tweets into N files _1.._N"},
			&cli.StringFlag{Name: "container", Value: "zip", Usage: "variant: zip, csv (plain) or gz (.csv.gz)"},
			&cli.BoolFlag{Name: "truncate", Usage: "variant: cut the last tweets record in half"},
			&cli.BoolFlag{Name: "media", Usage: "also write media archives <campaign>_hashed_001.zip... (drawn images under edits, image-only squads, viral memes; docs/synth.md)"},
		},
		Action: func(c *cli.Context) error {
			cfg := synth.DefaultConfig()
			cfg.Seed = c.Int64("seed")
			cfg.Accounts = c.Int("accounts")
			cfg.Posts = c.Int("posts")
			cfg.Campaign = c.String("campaign")
			cfg.ViralFactor = c.Float64("viral-factor")
			cfg.Variants = synth.Variants{
				Oct2018Order: c.Bool("oct2018-order"), HexIDs: c.Bool("hex-ids"), BareLists: c.Bool("bare-lists"),
				CapitalBools: c.Bool("capital-bools"), FloatCounts: c.Bool("float-counts"), CamelUsers: c.Bool("camel-users"),
				Parts: c.Int("parts"), Container: c.String("container"), Truncate: c.Bool("truncate"),
			}
			if cfg.Variants.Container == synth.ContainerZip {
				cfg.Variants.Container = "" // the default; keeps the config's JSON form unchanged
			}
			if c.Bool("media") {
				cfg.Media = synth.DefaultMedia()
			}
			if err := cfg.Validate(); err != nil {
				return usagef("synth: %v", err)
			}
			dir := c.String("out")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("synth: %w", err)
			}
			files, err := synth.Write(c.Context, cfg, dir)
			if err != nil {
				return err
			}
			for _, f := range files {
				g.out("%s\t%s\n", f.Role, f.Name)
			}
			return nil
		},
	}
}
