package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/internal/repo"
)

// testLog passes the peers' output to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestExecuteQuick runs the matrix end to end with the quick plan: the Go peer, the newest
// upstream version and the virtual board, all up at once, every measure in two rounds. The
// firmware's AEAD example is not given, so that limit reports why it is missing.
func TestExecuteQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the quick run starts every peer and takes about 20 s")
	}
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "build", "bin", "virtual-board")); err != nil {
		t.Fatalf("the virtual board is not built (make virtual-board): %v", err)
	}
	binary := filepath.Join(t.TempDir(), "irohconf")
	// GOFLAGS (the crypto/tls overlay) reaches this build through the environment.
	if out, err := exec.Command("go", "build", "-o", binary, filepath.Join(root, "cmd", "irohconf")).CombinedOutput(); err != nil {
		t.Fatalf("building irohconf: %v\n%s", err, out)
	}
	var progress strings.Builder
	run, err := Execute(t.Context(), Config{
		Root: root, IrohconfBin: binary, Versions: containers.Pinned[:1], Plan: QuickPlan,
		Log: testLog{t}, Progress: &progress,
	})
	t.Log(progress.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Problems) != 0 {
		t.Fatalf("problems: %v", run.Problems)
	}
	up := "upstream-" + string(containers.Pinned[0])
	if !slices.Equal(run.Clients, []string{"go", up}) || !slices.Equal(run.Servers, []string{"go", up, "virtual-board"}) {
		t.Fatalf("clients %v, servers %v", run.Clients, run.Servers)
	}

	// Every measure ran in two rounds; each round sampled every pair that can take it once
	// (and every limit, for throughputs), in an order of its own.
	if len(run.Schedule) != 5 {
		t.Fatalf("%d measures scheduled, want 5", len(run.Schedule))
	}
	for _, s := range run.Schedule {
		if len(s.Rounds) != 2 {
			t.Fatalf("%s: %d rounds", s.Measure, len(s.Rounds))
		}
		want := map[string]int{MeasureHandshake: 6, MeasureConnRate: 6, MeasureUpload: 4 + 4, MeasureEcho: 6 + 4, MeasureStreams: 4 + 4}[s.Measure]
		for _, r := range s.Rounds {
			if len(r.Order) != want || len(slices.Compact(slices.Sorted(slices.Values(r.Order)))) != want {
				t.Errorf("%s: a round sampled %v, want %d units once each", s.Measure, r.Order, want)
			}
		}
		if slices.Equal(s.Rounds[0].Order, s.Rounds[1].Order) {
			t.Errorf("%s: both rounds ran in the order %v", s.Measure, s.Rounds[0].Order)
		}
	}

	for _, r := range run.Results {
		switch r.Outcome {
		case "ok":
			if len(r.Rounds) != 2 || r.Median == nil {
				t.Errorf("%s: %d rounds, median %v", r.line(), len(r.Rounds), r.Median)
			}
		case "unsupported":
			// The board serves no upload and one stream at a time.
			if r.Server != "virtual-board" || (r.Measure != MeasureStreams && !strings.Contains(r.Measure, "upload")) {
				t.Errorf("unexpected: %s", r.line())
			}
		default:
			t.Errorf("%s", r.line())
		}
	}
	get := func(c, s, m string) Result {
		for _, r := range run.Results {
			if r.Client == c && r.Server == s && r.Measure == m {
				return r
			}
		}
		t.Fatalf("no result for %s -> %s %s", c, s, m)
		return Result{}
	}
	for _, m := range []string{MeasureHandshake, MeasureEcho, MeasureCPUClientEcho} {
		for _, p := range [][2]string{{"go", up}, {up, "go"}} {
			if r := get(p[0], p[1], m); r.Ratio == nil || r.Ratio.Of != up+" -> "+up || len(r.Ratio.Rounds) != 2 {
				t.Errorf("%s -> %s %s: ratio %+v", p[0], p[1], m, r.Ratio)
			}
		}
	}
	if r := get("go", "virtual-board", MeasureEcho); r.Limit == nil || r.Limit.Median <= 0 || r.Limit.Of == "" {
		t.Errorf("go -> virtual-board echo: limit %+v", r.Limit)
	}
	for _, l := range run.Limits {
		if l.Name == LimitAESFirmware {
			if !strings.Contains(l.Error, "no firmware AEAD example") || len(l.Samples) != 0 {
				t.Errorf("%s without its example: %+v", l.Name, l)
			}
		} else if l.Error != "" || len(l.Samples) != 6 || len(l.Rounds[MeasureEcho]) != 2 || l.MBps <= 0 {
			t.Errorf("%s: %+v", l.Name, l)
		}
	}

	// The report: bench.json reads back, compares with itself, and the page shows the ratios.
	dir := t.TempDir()
	if err := Write(dir, run); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if moved, missing := Compare(back, run, 0.2); len(moved) != 0 || len(missing) != 0 {
		t.Errorf("a run compared with itself: moved %v, missing %v", moved, missing)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "of "+up+" → "+up) {
		t.Error("the page shows no ratio")
	}
}
