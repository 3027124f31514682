package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/reports"
)

func init() { register(newReportCommand) }

// newReportCommand groups the commands over report folders (reports/).
func newReportCommand() *cobra.Command {
	cmd := cli.Group(&cobra.Command{
		Use:   "report",
		Short: "Work with report folders: merge shard and bench-host runs, list flaky cells",
	})
	cmd.AddCommand(newReportMergeCommand(), newReportFlakyCommand())
	return cmd
}

// defaultReportRoot is where the suites write runs: $IROHCONF_REPORTS, else reports/ here.
func defaultReportRoot() string {
	if r := os.Getenv("IROHCONF_REPORTS"); r != "" {
		return r
	}
	return "reports"
}

func newReportMergeCommand() *cobra.Command {
	var out, root string
	cmd := &cobra.Command{
		Use:   "merge RUN_DIR...",
		Short: `Join runs of one suite and code (shards, bench hosts) into one report; prints {"run":..,"cells":..,"notes":[..]}`,
		Long: "merge joins the runs in RUN_DIR... (folders holding results.json) into one run folder with the\n" +
			"same results.json, junit.xml, summary.md and index.html, and copies their logs. Runs of\n" +
			"different suites or code, a missing or repeated shard, and a cell run twice with different\n" +
			"outcomes are errors (exit 1), and nothing is written.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			var (
				runDir string
				notes  []string
				err    error
			)
			if out != "" {
				runDir = out
				notes, err = reports.MergeDirs(out, dirs)
			} else {
				runDir, notes, err = reports.MergeNew(root, dirs)
			}
			for _, n := range notes {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", n)
			}
			if err != nil {
				return failure(err)
			}
			run, err := reports.Load(runDir)
			if err != nil {
				return failure(err)
			}
			if notes == nil {
				notes = []string{}
			}
			return cli.Stdout(cmd).Line(map[string]any{
				"run": runDir, "index": filepath.Join(runDir, reports.IndexFile),
				"cells": len(run.Cells), "summary": reports.Summarize(run.Cells), "notes": notes,
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the merged run's folder (new or empty); default: a new folder in ROOT/runs")
	cmd.Flags().StringVar(&root, "root", defaultReportRoot(), "the reports folder that gets the merged run (runs/, latest, index.html)")
	return cmd
}

func newReportFlakyCommand() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "flaky",
		Short: `List cells whose outcome changed across runs of the same code version; one {"suite":..,"client":..,"runs":[..]} line each`,
		Long: "flaky reads every run under ROOT/runs and prints one JSON line per cell whose outcome changed\n" +
			"across runs of the same suite and code version (results.json code_version), with each run's\n" +
			"outcome. Runs that record no code version are left out. It exits 0 either way; a count goes to stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runs, _, problems, err := reports.LoadRuns(root)
			if err != nil {
				return failure(fmt.Errorf("reading the runs of %s: %w", root, err))
			}
			for _, dir := range slices.Sorted(maps.Keys(problems)) {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s left out: %v\n", dir, problems[dir])
			}
			flaky := reports.Flaky(runs)
			for _, f := range flaky {
				if err := cli.Stdout(cmd).Line(f); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d flaky cells in %d runs of %s\n", len(flaky), len(runs), root)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", defaultReportRoot(), "the reports folder (holding runs/)")
	return cmd
}
