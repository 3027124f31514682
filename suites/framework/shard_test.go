package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/reports"
)

// A sharded run of the fake suite: the shards, merged, hold the same cells with the same
// outcomes as one full run, each cell in one shard, split by count or by a previous run's
// durations.
func TestShardsMergedEqualOneFullRun(t *testing.T) {
	full, fullDir, _ := runSuiteIn(t, "1", "")
	if len(full.Cells) != 16 || full.Shard != nil {
		t.Fatalf("the full run has %d cells and shard %v, want 16 cells and no shard", len(full.Cells), full.Shard)
	}
	for _, tc := range []struct {
		name      string
		n         int
		durations string
		split     string
	}{
		{"2 shards by count", 2, "", "count"},
		{"3 shards by count", 3, "", "count"},
		{"3 shards by the full run's durations", 3, fullDir, "durations sha256:"},
		{"2 shards by the full run's results.json", 2, filepath.Join(fullDir, reports.ResultsFile), "durations sha256:"},
		{"a durations folder that does not exist yet splits by count", 2, filepath.Join(fullDir, "none"), "count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var shards []reports.Run
			var split string
			for k := 1; k <= tc.n; k++ {
				run, _ := runSuite(t, "", fmt.Sprintf("%s=%d/%d", shardEnv, k, tc.n), durationsEnv+"="+tc.durations)
				s := run.Shard
				if s == nil || s.Index != k || s.Total != tc.n || s.Cells != 16 || !strings.HasPrefix(s.Split, tc.split) {
					t.Fatalf("shard %d/%d recorded %+v, want %d/%d of 16 cells split by %s…", k, tc.n, s, k, tc.n, tc.split)
				}
				if split == "" {
					split = s.Split
				} else if s.Split != split {
					t.Errorf("shard %d split by %q, shard 1 by %q", k, s.Split, split)
				}
				if tc.split == "count" && (len(run.Cells) < 16/tc.n || len(run.Cells) > 16/tc.n+1) {
					t.Errorf("shard %d/%d has %d cells: not balanced", k, tc.n, len(run.Cells))
				}
				shards = append(shards, run)
			}
			merged, notes, err := reports.Merge(shards)
			if err != nil {
				t.Fatalf("merging the shards: %v (notes %q)", err, notes)
			}
			if got, want := outcomes(merged), outcomes(full); !slices.Equal(got, want) {
				t.Errorf("the merged shards differ from the full run:\n got  %q\n want %q", got, want)
			}
		})
	}
}

// SHARD composes with the label filter, and a pair with no cell in a shard starts no server:
// its log folder (made when the pair's server starts) does not exist.
func TestShardOfASliceStartsOnlyItsPairs(t *testing.T) {
	var servers []string
	for k := 1; k <= 2; k++ {
		run, dir, _ := runSuiteIn(t, "1", "case:ok", fmt.Sprintf("%s=%d/2", shardEnv, k))
		if run.Shard == nil || run.Shard.Cells != 2 || len(run.Cells) != 1 {
			t.Fatalf("shard %d/2 of the slice case:ok: shard %+v, %d cells; want 1 of 2 cells", k, run.Shard, len(run.Cells))
		}
		c := run.Cells[0]
		servers = append(servers, c.Server)
		for _, other := range []string{"sv", "sv-down"} {
			_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(reports.PairLogPath("cl", other))))
			if started := err == nil; started != (other == c.Server) {
				t.Errorf("shard %d/2 runs cl → %s ok; the pair cl → %s has a log folder: %v", k, c.Server, other, started)
			}
		}
	}
	if slices.Sort(servers); !slices.Equal(servers, []string{"sv", "sv-down"}) {
		t.Errorf("the two shards ran the pairs %v", servers)
	}
	// The filter sees the pair's labels too.
	run, _ := runSuite(t, "server:sv-down", shardEnv+"=2/2")
	if run.Shard == nil || run.Shard.Cells != 8 || len(run.Cells) != 4 || slices.ContainsFunc(run.Cells, func(c reports.Cell) bool { return c.Server != "sv-down" }) {
		t.Errorf("shard 2/2 of the slice server:sv-down: shard %+v, cells %+v; want 4 of its 8 cells", run.Shard, run.Cells)
	}
}

// A shard that would get no cell is an error that says so, not a run without a report.
func TestAnEmptyShardIsAnError(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-ginkgo.label-filter=case:ok", "-ginkgo.no-color")
	cmd.Env = append(os.Environ(), fakeSuiteEnv+"=1", "IROHCONF_RUN_DIR="+t.TempDir(), shardEnv+"=3/3", durationsEnv+"=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no cell falls to this shard") || !strings.Contains(string(out), "fewer than 3 shards") {
		t.Errorf("shard 3/3 of 2 cells: %v\n%s", err, out)
	}
}

func TestShardingFromEnvRefusesWhatItCannotSplitBy(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "durations.txt")
	os.WriteFile(other, []byte("{}"), 0o644)
	for _, tc := range []struct{ shard, durations, want string }{
		{"3/2", "", "want k/n with 1 <= k <= n"},
		{"two", "", "want k/n"},
		{"1/2", other, "want a run folder or its results.json"},
		{"1/2", dir, "durations of the previous run"},              // a folder without results.json
		{"1/2", "go.mod", "want a run folder or its results.json"}, // relative: from the checkout, not the package folder
	} {
		t.Setenv(shardEnv, tc.shard)
		t.Setenv(durationsEnv, tc.durations)
		if _, err := shardingFromEnv(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SHARD=%s durations=%s: %v, want an error saying %q", tc.shard, tc.durations, err, tc.want)
		}
	}
	t.Setenv(shardEnv, "")
	if s, err := shardingFromEnv(); err != nil || s.part != nil {
		t.Errorf("no SHARD: %+v, %v; want the whole matrix", s, err)
	}
}

// outcomes lists a run's cells in matrix order with what decides a report: outcome, reason
// and expected failure.
func outcomes(run reports.Run) []string {
	var out []string
	for _, c := range run.Cells {
		out = append(out, fmt.Sprintf("%s → %s %s: %s %q %q", c.Client, c.Server, c.Case, c.Outcome, c.Reason, c.ExpectedFailure))
	}
	slices.Sort(out)
	return out
}
