package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/datasets"
	"github.com/takedown-research/takedown/internal/store"
	"github.com/takedown-research/takedown/pipeline/fetch"
	"github.com/takedown-research/takedown/pipeline/normalize"
)

func datasetsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "datasets",
		Usage: "list, describe, cite and add datasets (registry releases and your own local ones)",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list every release in the registry and every local dataset of the workspace",
				Flags: []cli.Flag{
					outputFlag(), oldJSONFlag(),
					&cli.StringFlag{Name: "platform", Usage: "only this platform (twitter, reddit, synthetic, local)"},
					&cli.StringFlag{Name: "country", Usage: "only releases attributed to this country (case-insensitive, part of the name is enough)"},
					&cli.StringFlag{Name: "year", Usage: "only releases published in this year (YYYY)"},
				},
				Action: func(c *cli.Context) error { return listDatasets(c, g) },
			},
			{
				Name:      "show",
				Usage:     "print one dataset's descriptor and what of it is already fetched in the workspace",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{outputFlag(), oldJSONFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets show takes one NAME")
					}
					asJSON, err := wantJSON(c, g)
					if err != nil {
						return err
					}
					d, err := datasets.Lookup(g.workspace, c.Args().First())
					if err != nil {
						return err
					}
					st := localState(g.workspace, d)
					if asJSON {
						return printDocument(g, struct {
							Schema int `json:"schema"`
							datasets.Descriptor
							Local localFetch `json:"local_state"`
						}{DocumentSchema, d, st})
					}
					printDescriptor(g, d, st)
					return nil
				},
			},
			{
				Name:      "cite",
				Usage:     "print how to cite a dataset (text, or BibTeX with --bibtex)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "bibtex", Usage: "print a BibTeX entry"}},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets cite takes one NAME")
					}
					d, err := datasets.Lookup(g.workspace, c.Args().First())
					if err != nil {
						return err
					}
					if c.Bool("bibtex") {
						g.out("%s\n", strings.TrimRight(d.BibTeX(), "\n"))
						return nil
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
					"sha256. A file's role (users, tweets, truth, media) is guessed from its name; truth files are\n" +
					"ground truth for evaluation and are not normalized; media archives (NAME_hashed_001.zip,\n" +
					"NAME_tweet_media_hashed_1.zip, or any file after --media) are used by fetch and run without --media. Run ids do not depend on where the\n" +
					"files are, only on their bytes.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Value: "twitter-io", Usage: "archive format of the files: " + strings.Join(datasets.Formats, ", ") + " (auto: detected from each file's header)"},
					&cli.StringFlag{Name: "map", Usage: "column map of the generic format (account=COLUMN,post=COLUMN,time=COLUMN[:rfc3339|s|ms],...; see docs/formats.md); implies --format generic"},
					&cli.StringFlag{Name: "title", Usage: "a one-line title"},
					&cli.StringFlag{Name: "citation", Usage: "how to cite the data"},
					&cli.StringSliceFlag{Name: "media", Usage: "a media archive (zip of images and videos named by tweet id) whatever its name; repeat for each"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 || c.NArg()-1+len(c.StringSlice("media")) < 1 {
						return usagef("datasets add takes a NAME and at least one FILE")
					}
					name := c.Args().First()
					if err := datasets.ValidateName(name); err != nil {
						return usageError{err}
					}
					if err := datasets.ValidateFormat(c.String("format")); err != nil {
						return usagef("--format: %v", err)
					}
					d := datasets.Descriptor{
						Name: name, Title: c.String("title"), Platform: "local", Format: c.String("format"),
						Citation: c.String("citation"), Local: true,
					}
					if m := c.String("map"); m != "" {
						if !c.IsSet("format") {
							d.Format = normalize.FormatGeneric
						}
						np := normalize.Params{Format: d.Format, Map: m}
						if err := np.Validate(); err != nil {
							return usagef("--%v", err)
						}
						d.Map = normalize.CanonicalMap(m)
					} else if d.Format == normalize.FormatGeneric {
						return usagef("--format %s needs --map (account=COLUMN,post=COLUMN,time=COLUMN)", normalize.FormatGeneric)
					}
					if d.Title == "" {
						d.Title = "local dataset " + name
					}
					args := c.Args().Slice()[1:]
					isMedia := map[string]bool{}
					for _, f := range c.StringSlice("media") {
						args = append(args, f)
						isMedia[f] = true
					}
					for _, f := range args {
						abs, err := filepath.Abs(f)
						if err != nil {
							return err
						}
						sum, n, err := store.FileDigest(abs)
						if err != nil {
							return fmt.Errorf("%w: datasets add: %v", errInput, err)
						}
						role := datasets.RoleOf(abs)
						if isMedia[f] {
							role = datasets.RoleMedia
						}
						d.Files = append(d.Files, datasets.File{
							Name: filepath.Base(abs), Role: role, SHA256: sum, Bytes: n, Path: abs,
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
			{
				Name:      "remove",
				Usage:     "remove a local dataset's descriptor (fetched files and runs stay), so that its name can be added again",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usagef("datasets remove takes one NAME")
					}
					p, err := datasets.RemoveLocal(g.workspace, c.Args().First())
					if err != nil {
						return usageError{err}
					}
					g.out("removed %s (%s)\n", c.Args().First(), p)
					return nil
				},
			},
		},
	}
}

func listDatasets(c *cli.Context, g *globals) error {
	asJSON, err := wantJSON(c, g)
	if err != nil {
		return err
	}
	all, err := datasets.All()
	if err != nil {
		return err
	}
	local, err := datasets.ListLocal(g.workspace)
	if err != nil {
		return err
	}
	all = append(all, local...)
	platform, country, year := strings.ToLower(c.String("platform")), strings.ToLower(c.String("country")), c.String("year")
	if year != "" {
		if _, err := strconv.Atoi(year); err != nil || len(year) != 4 {
			return usagef("--year %q: give a year like 2019", year)
		}
	}
	var out []datasets.Descriptor
	for _, d := range all {
		kind := d.Platform
		if d.Local {
			kind = "local"
		}
		if platform != "" && kind != platform ||
			country != "" && !strings.Contains(strings.ToLower(d.Country), country) ||
			year != "" && !strings.HasPrefix(d.ReleaseDate, year) {
			continue
		}
		out = append(out, d)
	}
	if asJSON {
		if out == nil {
			out = []datasets.Descriptor{}
		}
		return printDocument(g, struct {
			Schema   int                   `json:"schema"`
			Datasets []datasets.Descriptor `json:"datasets"`
		}{DocumentSchema, out})
	}
	if len(out) == 0 {
		g.out("no dataset matches (datasets list without filters shows all %d)\n", len(all))
		return nil
	}
	g.out("%-32s %-10s %-10s %-24s %9s %11s\n", "NAME", "PLATFORM", "RELEASED", "COUNTRY", "ACCOUNTS", "POSTS")
	for _, d := range out {
		kind := d.Platform
		if d.Local {
			kind = "local"
		}
		accounts, posts := "", ""
		if p := d.Published; p != nil {
			switch {
			case p.AccountsInUsersFile != nil:
				accounts = strconv.FormatInt(*p.AccountsInUsersFile, 10)
			case p.AccountsAnnounced != nil:
				accounts = strconv.FormatInt(*p.AccountsAnnounced, 10) + "*"
			}
			if p.Posts != nil {
				posts = strconv.FormatInt(*p.Posts, 10)
			}
		}
		g.out("%-32s %-10s %-10s %-24s %9s %11s\n", d.Name, kind, d.ReleaseDate, clip(d.Country, 24), accounts, posts)
	}
	g.out("(%d datasets; * accounts announced, not counted in a users file; details: takedown datasets show NAME)\n", len(out))
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// localFetch is what of a dataset the workspace holds.
type localFetch struct {
	Workspace string            `json:"workspace"`
	FetchRun  string            `json:"fetch_run,omitempty"`
	Files     []localFile       `json:"files,omitempty"`
	Pins      map[string]string `json:"pins,omitempty"`
	Partial   map[string]int64  `json:"partial_downloads,omitempty"`
	StageRuns map[string]string `json:"stage_runs,omitempty"` // stage -> current run id
	Error     string            `json:"error,omitempty"`
}

type localFile struct {
	store.SourceFile
	InStore bool `json:"in_store"`
}

// localState reads the workspace without creating it.
func localState(root string, d datasets.Descriptor) localFetch {
	ws := store.At(root)
	st := localFetch{Workspace: ws.Root, StageRuns: map[string]string{}}
	st.Partial = nilIfEmpty(fetch.PartialDownloads(ws, d.Name))
	lock, err := ws.ReadCurrent()
	if err != nil {
		st.Error = err.Error()
		return st
	}
	for stage, e := range lock.Datasets[d.Name] {
		st.StageRuns[stage] = e.RunID
	}
	st.Pins = lock.Pins[d.Name]
	e, ok := lock.Entry(d.Name, fetch.Name)
	if !ok {
		return st
	}
	st.FetchRun = e.RunID
	list, err := store.ReadSourceList(filepath.Join(ws.RunDir(d.Name, fetch.Name, e.RunID), store.SourceListName))
	if err != nil {
		st.Error = err.Error()
		return st
	}
	for _, s := range list {
		st.Files = append(st.Files, localFile{SourceFile: s, InStore: ws.HasSource(s.SHA256)})
	}
	return st
}

func nilIfEmpty(m map[string]int64) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	return m
}

func printDescriptor(g *globals, d datasets.Descriptor, st localFetch) {
	row := func(k, v string) {
		if v != "" {
			g.out("%-13s %s\n", k, v)
		}
	}
	row("name", d.Name)
	row("title", d.Title)
	row("platform", d.Platform)
	row("released", d.ReleaseDate)
	row("country", d.Country)
	row("operator", d.Operator)
	row("targets", d.Targets)
	row("campaign", d.Campaign)
	row("format", d.Format)
	row("column map", d.Map)
	row("publisher", d.Publisher)
	row("licence", d.Licence)
	row("description", d.Description)
	for i, a := range d.Announcements {
		if i == 0 {
			row("announced at", a)
		} else {
			g.out("%-13s %s\n", "", a)
		}
	}
	if len(d.Synth) > 0 {
		row("generator", string(d.Synth))
	}
	if p := d.Published; p != nil {
		g.out("published figures (%s)\n", p.Basis)
		num := func(k string, v *int64) {
			if v != nil {
				g.out("  %-24s %d\n", k, *v)
			}
		}
		num("accounts in users file", p.AccountsInUsersFile)
		num("accounts announced", p.AccountsAnnounced)
		num("posts", p.Posts)
		num("posts CSV bytes", p.PostsCSVBytes)
		if p.FirstPost != "" {
			g.out("  %-24s %s .. %s (UTC)\n", "posts from", p.FirstPost, p.LastPost)
		}
		num("likes", p.LikesSum)
		num("reposts", p.RepostsSum)
		num("replies", p.RepliesSum)
		num("quotes", p.QuotesSum)
		for _, l := range []struct {
			k string
			v []string
		}{{"top languages", p.TopLanguages}, {"top hashtags", p.TopHashtags}, {"top clients", p.TopClients}} {
			if len(l.v) > 0 {
				g.out("  %-24s %s\n", l.k, strings.Join(l.v, ", "))
			}
		}
	}
	g.out("files (%d)\n", len(d.Files))
	for _, f := range d.Files {
		line := fmt.Sprintf("  %-7s %s", f.Role, f.Name)
		if f.Part > 0 {
			line += fmt.Sprintf(" (part %d)", f.Part)
		}
		if f.Inner != "" {
			line += " holding " + f.Inner
		}
		g.out("%s\n", line)
		if f.URL != "" {
			g.out("          %s\n", f.URL)
		}
		if f.Path != "" {
			g.out("          %s\n", f.Path)
		}
		switch {
		case f.SHA256 != "":
			g.out("          sha256 %s  %d bytes\n", f.SHA256, f.Bytes)
		case st.Pins[f.Name] != "":
			g.out("          sha256 %s (pinned on first fetch in this workspace)\n", st.Pins[f.Name])
		default:
			g.out("          sha256 unknown: the first fetch pins it\n")
		}
	}
	g.out("in this workspace (%s)\n", st.Workspace)
	if st.Error != "" {
		g.out("  cannot read it: %s\n", st.Error)
	}
	if st.FetchRun == "" {
		g.out("  not fetched (takedown fetch %s)\n", d.Name)
	} else {
		g.out("  fetch run %s\n", st.FetchRun)
		for _, f := range st.Files {
			state := "in the source store"
			if !f.InStore {
				state = "MISSING from the source store"
			}
			g.out("  %-40s %s  %d bytes  %s\n", f.Name, f.SHA256, f.Bytes, state)
		}
	}
	var stages []string
	for s, id := range st.StageRuns {
		if s != fetch.Name {
			stages = append(stages, s+" "+id)
		}
	}
	sort.Strings(stages)
	for _, s := range stages {
		g.out("  %s\n", s)
	}
	var parts []string
	for n, b := range st.Partial {
		parts = append(parts, fmt.Sprintf("%s (%d bytes so far)", n, b))
	}
	sort.Strings(parts)
	if len(parts) > 0 {
		g.out("  partial downloads (resumed by the next fetch): %s\n", strings.Join(parts, ", "))
	}
}
