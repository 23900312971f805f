package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/pipeline/synth"
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
		},
		Action: func(c *cli.Context) error {
			cfg := synth.DefaultConfig()
			cfg.Seed = c.Int64("seed")
			cfg.Accounts = c.Int("accounts")
			cfg.Posts = c.Int("posts")
			cfg.Campaign = c.String("campaign")
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
