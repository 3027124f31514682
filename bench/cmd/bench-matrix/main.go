// Command bench-matrix runs the benchmark matrix (package bench) and writes
// reports/bench/<UTC>/{bench.json,index.html}, pointing reports/bench/latest at it.
//
//	bench-matrix [flags]                 run, then (with -compare DIR) compare with an earlier run
//	bench-matrix compare OLD NEW         compare two runs (folders or bench.json files)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/irohconf/irohconf/bench"
	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/internal/syncio"
)

// threshold is how far a median may move between runs before compare names it.
const threshold = 0.2

func main() {
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		os.Exit(compare(os.Args[2:]))
	}
	os.Exit(run())
}

func compare(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-matrix compare OLD NEW (run folders or bench.json files)")
		return 2
	}
	old, err := bench.LoadRun(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	cur, err := bench.LoadRun(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	bench.PrintComparison(os.Stdout, args[0], args[1], old, cur, threshold)
	return 0
}

func run() int {
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	reportRoot := filepath.Join(root, "reports")
	if r := os.Getenv("IROHCONF_REPORTS"); r != "" {
		reportRoot = r
	}
	plan := bench.DefaultPlan
	var (
		out         = flag.String("out", filepath.Join(reportRoot, "bench"), "folder the run folders and the latest link go into")
		irohconf    = flag.String("irohconf", filepath.Join(root, "build", "bin", "irohconf"), "the irohconf binary (make build)")
		aead        = flag.String("aead-example", "", "the firmware crypto crate's aead_throughput example (make bench-matrix builds it)")
		versions    = flag.String("versions", joinVersions(containers.Pinned), "upstream versions, comma-separated")
		compareWith = flag.String("compare", "", "an earlier run (folder or bench.json): print the medians that moved by more than 20%")
		quick       = flag.Bool("quick", false, "a short run that shows the whole run works: bench.QuickPlan (2 rounds, small sizes); other plan flags still apply")
		rounds      = flag.Int("rounds", 0, "take every measure in this many rounds (0: the plan's)")
	)
	flag.IntVar(&plan.HandshakeRounds, "handshake-rounds", plan.HandshakeRounds, "rounds of the handshake measure")
	flag.IntVar(&plan.Handshakes, "handshakes", plan.Handshakes, "sequential connections per pair and handshake round")
	flag.IntVar(&plan.RateRounds, "rate-rounds", plan.RateRounds, "rounds of the connection rate")
	flag.DurationVar(&plan.RateFor, "rate-for", plan.RateFor, "how long each round of the connection rate runs")
	flag.IntVar(&plan.BulkRounds, "bulk-rounds", plan.BulkRounds, "rounds of upload and of echo (one transfer per pair and round)")
	flag.IntVar(&plan.BulkSize, "bulk-size", plan.BulkSize, "bytes per upload and echo")
	flag.IntVar(&plan.BoardSize, "board-size", plan.BoardSize, "bytes per upload and echo with the virtual board as the server")
	flag.IntVar(&plan.StreamRounds, "stream-rounds", plan.StreamRounds, "rounds of the concurrent streams")
	flag.IntVar(&plan.StreamSize, "stream-size", plan.StreamSize, "bytes per concurrent stream")
	flag.DurationVar(&plan.LimitFor, "limit-for", plan.LimitFor, "how long each sample of a limit runs")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "bench-matrix: unexpected arguments %q\n", flag.Args())
		return 2
	}
	if *quick {
		// The quick plan, with the plan flags given on the command line applied to it.
		given := map[string]string{}
		flag.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
		plan = bench.QuickPlan
		for name, v := range given {
			if err := flag.Set(name, v); err != nil {
				fmt.Fprintf(os.Stderr, "bench-matrix: -%s: %v\n", name, err)
				return 2
			}
		}
	}
	if *rounds > 0 {
		plan = plan.WithRounds(*rounds)
	}
	if err := plan.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	var earlier *bench.Run
	if *compareWith != "" {
		if earlier, err = bench.LoadRun(*compareWith); err != nil {
			fmt.Fprintln(os.Stderr, "bench-matrix: -compare:", err)
			return 2
		}
	}
	if _, err := os.Stat(*irohconf); err != nil {
		fmt.Fprintf(os.Stderr, "bench-matrix: %v (make build)\n", err)
		return 2
	}
	var vs []containers.Version
	for _, v := range strings.Split(*versions, ",") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, containers.Version(v))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := bench.NewRunDir(*out, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	logFile, err := os.Create(filepath.Join(dir, "peers.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
		return 2
	}
	defer logFile.Close()
	fmt.Printf("bench-matrix: %s (the peers' output: %s)\n", dir, logFile.Name())
	r, runErr := bench.Execute(ctx, bench.Config{
		Root: root, IrohconfBin: *irohconf, AEADExample: *aead, Versions: vs, Plan: plan,
		Log: syncio.NewWriter(logFile), Progress: os.Stdout,
	})
	if r == nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", runErr)
		return 1
	}
	if err := bench.Write(dir, r); err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix: writing the report:", err)
		return 1
	}
	if err := bench.PointLatest(dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", err)
	}
	bench.PrintRatios(os.Stdout, r)
	fmt.Printf("bench-matrix: %.1f min; report: %s\n", r.Seconds/60, filepath.Join(dir, "index.html"))
	if earlier != nil {
		bench.PrintComparison(os.Stdout, *compareWith, dir, earlier, r, threshold)
	}
	code := 0
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench-matrix:", runErr)
		code = 1
	}
	for _, p := range r.Problems {
		fmt.Fprintln(os.Stderr, "bench-matrix: problem:", p)
		code = 1
	}
	for _, res := range r.Results {
		if res.Outcome == "error" {
			code = 1
		}
	}
	return code
}

func joinVersions(vs []containers.Version) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}
