package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/reports"
)

// shardRuns writes shards 1..n of a two-cell run (cell k in shard k) under root/runs.
func shardRuns(t *testing.T, root string, outcomes ...reports.Outcome) []string {
	t.Helper()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var dirs []string
	for k, o := range outcomes {
		dir, err := reports.NewRunDir(root, start)
		if err != nil {
			t.Fatal(err)
		}
		run := reports.Run{Suite: "interop", CodeVersion: "v1", Start: start, End: start.Add(time.Second),
			Shard: &reports.Shard{Index: k + 1, Total: len(outcomes)},
			Peers: []reports.Peer{{Name: "go", Roles: []string{reports.RoleClient, reports.RoleServer}}},
			Cases: []reports.Case{{Name: "case-1"}, {Name: "case-2"}, {Name: "case-3"}},
			Cells: []reports.Cell{{Client: "go", Server: "go", Case: "case-" + string(rune('1'+k)), Outcome: o}}}
		if err := reports.Write(dir, run); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

func TestReportMerge(t *testing.T) {
	root := t.TempDir()
	dirs := shardRuns(t, root, reports.Succeeded, reports.Failed)

	r := run(t, "report", "merge", "--root", root, dirs[0], dirs[1])
	if r.code != 0 {
		t.Fatalf("merge: exit %d, %s", r.code, r.stderr)
	}
	line := oneLine(t, r)
	if line["cells"] != 2.0 || !strings.HasPrefix(line["run"].(string), filepath.Join(root, reports.RunsDir)) {
		t.Errorf("merge printed %v", line)
	}
	if target, err := os.Readlink(filepath.Join(root, reports.LatestLink)); err != nil || filepath.Base(target) != filepath.Base(line["run"].(string)) {
		t.Errorf("latest = %q, %v; want the merged run", target, err)
	}

	// One shard of two: refused, exit 1, and no folder written.
	out := filepath.Join(t.TempDir(), "merged")
	r = run(t, "report", "merge", "--out", out, dirs[0])
	if r.code != 1 || !strings.Contains(r.stderr, "shard 2/2 is missing") {
		t.Errorf("merge of one shard: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused merge left %s behind", out)
	}
	if r := run(t, "report", "merge"); r.code != 2 {
		t.Errorf("merge without runs: exit %d, want 2", r.code)
	}
}

func TestReportFlaky(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, o := range []reports.Outcome{reports.Succeeded, reports.Error, reports.Succeeded} {
		s := start.Add(time.Duration(i) * time.Minute)
		dir, err := reports.NewRunDir(root, s)
		if err != nil {
			t.Fatal(err)
		}
		run := reports.Run{Suite: "hil", CodeVersion: "v1", Start: s, End: s.Add(time.Second),
			Peers: []reports.Peer{{Name: "go", Roles: []string{reports.RoleClient}}, {Name: "board", Roles: []string{reports.RoleServer}}},
			Cases: []reports.Case{{Name: "boot"}, {Name: "echo"}},
			Cells: []reports.Cell{{Client: "go", Server: "board", Case: "boot", Outcome: reports.Succeeded},
				{Client: "go", Server: "board", Case: "echo", Outcome: o}}}
		if err := reports.Write(dir, run); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, "report", "flaky", "--root", root)
	if r.code != 0 {
		t.Fatalf("flaky: exit %d, %s", r.code, r.stderr)
	}
	line := oneLine(t, r)
	if line["case"] != "echo" || line["code_version"] != "v1" || len(line["runs"].([]any)) != 3 {
		t.Errorf("flaky printed %v", line)
	}
	if !strings.Contains(r.stderr, "1 flaky cells in 3 runs") {
		t.Errorf("stderr %q", r.stderr)
	}
	if r := run(t, "report", "flaky", "--root", filepath.Join(root, "nothing")); r.code != 1 {
		t.Errorf("flaky on a folder without runs: exit %d, want 1", r.code)
	}
}
