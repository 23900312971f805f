package main

import (
	"fmt"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/takedown-research/takedown/internal/evaluate"
	"github.com/takedown-research/takedown/internal/pqio"
	"github.com/takedown-research/takedown/internal/schema"
)

// evalOptions are the flags of `takedown eval`.
type evalOptions struct {
	dataset string
	truth   string
	runID   string
	json    bool
}

func evalCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "score the clusters of a dataset against a ground-truth file (pairwise and B-cubed P/R/F1, organic false positives)",
		ArgsUsage: "[DATASET]  (default: demo)",
		Description: "The truth file is the dataset's fetched source with role truth (the synth generator's\n" +
			"<campaign>_truth.csv) unless --truth names one; takedown_like_csv.py's <out>.truth.csv\n" +
			"(user_id,group) is read too. See docs/evaluation.md for the definitions.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "truth", Usage: "truth CSV: account_id,group,... (synth) or user_id,group (takedown_like_csv.py)"},
			&cli.StringFlag{Name: "run", Usage: "score the clusters of this cluster run id instead of the current one"},
			outputFlag(), oldJSONFlag(),
		},
		Action: func(c *cli.Context) error {
			ds, err := datasetArg(c)
			if err != nil {
				return err
			}
			asJSON, err := wantJSON(c, g)
			if err != nil {
				return err
			}
			return runEval(g, evalOptions{dataset: ds, truth: c.String("truth"), runID: c.String("run"), json: asJSON})
		},
	}
}

func runEval(g *globals, o evalOptions) error {
	r, err := openRunner(g)
	if err != nil {
		return err
	}
	clusters, err := r.Table(o.dataset, schema.TableClusters, o.runID, true)
	if err != nil {
		return err
	}
	truthPath, truthName := o.truth, filepath.Base(o.truth)
	if truthPath == "" {
		if truthPath, truthName, err = r.SourceByRole(o.dataset, "truth"); err != nil {
			return err
		}
	}
	truth, err := evaluate.ReadTruth(truthPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errInput, err)
	}
	pred, err := evaluate.ReadClusters(clusters.Path)
	if err != nil {
		return err
	}
	var universe []string
	if acc, err := r.Table(o.dataset, schema.TableAccounts, "", true); err == nil {
		rows, err := pqio.ReadAll[schema.Account](acc.Path)
		if err != nil {
			return err
		}
		for _, a := range rows {
			universe = append(universe, a.AccountID)
		}
		if n, all := truth.Matched(universe), len(truth.Group); 2*n < all {
			return fmt.Errorf("%w: truth file %s: %d of %d ids match accounts of dataset %s: is it the truth of another dataset?",
				errInput, truthPath, n, all, o.dataset)
		}
	} else if !truth.Complete {
		return fmt.Errorf("truth file %s lists only planted accounts, so the organic ones come from the accounts table, which is not available: %w", truthPath, err)
	}
	s := evaluate.Score(pred, truth, universe)
	if o.json {
		return printDocument(g, struct {
			Schema       int    `json:"schema"`
			Dataset      string `json:"dataset"`
			ClusterRunID string `json:"cluster_run_id"`
			Truth        string `json:"truth"`
			evaluate.Scores
		}{DocumentSchema, o.dataset, clusters.RunID, truthName, s})
	}
	g.out("dataset %s  cluster run %s  truth %s (%s)\n", o.dataset, clusters.RunID, truthName, truth.Format)
	g.out("  accounts %d: planted %d in %d groups, organic %d; clustered %d in %d clusters\n",
		s.Accounts, s.PlantedAccounts, s.PlantedGroups, s.OrganicAccounts, s.Clustered, s.Clusters)
	g.out("  %-10s %9s %9s %9s\n", "", "precision", "recall", "F1")
	g.out("  %-10s %9.4f %9.4f %9.4f\n", "B-cubed", s.BCubedP, s.BCubedR, s.BCubedF1)
	g.out("  %-10s %9.4f %9.4f %9.4f\n", "pairwise", s.PairP, s.PairR, s.PairF1)
	g.out("  organic accounts clustered: %d of %d (%.2f%%)\n", s.OrganicInClust, s.OrganicAccounts, 100*s.OrganicFPShare)
	g.out("  planted groups recovered (majority in one cluster they dominate): %d of %d\n", s.GroupsRecovered, s.PlantedGroups)
	if s.UnknownInClust > 0 {
		g.out("  warning: %d clustered accounts are not in the truth file (counted as organic)\n", s.UnknownInClust)
	}
	return nil
}
