package reports

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// trendRuns writes runs of the interop suite into a fresh reports root, one a minute:
// outcomes[i][j] is cell j's outcome in run i (cells: go→go handshake, go→go echo); the
// handshake time grows by a millisecond a run and the echo throughput falls.
func writeTrendRuns(t *testing.T, root string, versions []string, outcomes [][2]Outcome) []string {
	t.Helper()
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var dirs []string
	for i, v := range versions {
		s := start.Add(time.Duration(i) * time.Minute)
		dir, err := NewRunDir(root, s)
		if err != nil {
			t.Fatal(err)
		}
		run := Run{Suite: "interop", CodeVersion: v, Start: s, End: s.Add(time.Second),
			Peers: []Peer{{Name: "go", Roles: []string{RoleClient, RoleServer}}},
			Cases: []Case{{Name: "handshake", Abbr: "H"}, {Name: "echo", Abbr: "E"}},
			Cells: []Cell{
				{Client: "go", Server: "go", Case: "handshake", Outcome: outcomes[i][0], HandshakeMS: ptr(3 + float64(i))},
				{Client: "go", Server: "go", Case: "echo", Outcome: outcomes[i][1], ThroughputMbps: ptr(900 - 50*float64(i)),
					Reason: map[bool]string{true: "echo mismatch <at> byte 3\nmore"}[outcomes[i][1] == Failed]},
			}}
		if err := Write(dir, run); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Base(dir))
	}
	return dirs
}

func TestFlakyNeedsTheSameCodeVersion(t *testing.T) {
	root := t.TempDir()
	ok, bad := Succeeded, Failed
	writeTrendRuns(t, root, []string{"v1", "v1", "v2", "v2", ""}, [][2]Outcome{
		{ok, ok}, {ok, bad}, // echo flips within v1
		{bad, ok}, {bad, ok}, // handshake fails in v2, steadily; echo differs from v1 only across versions
		{ok, bad}, // no code version: never counted
	})
	runs, dirs, problems, err := LoadRuns(root)
	if err != nil || len(problems) != 0 || len(runs) != 5 || len(dirs) != 5 {
		t.Fatalf("LoadRuns: %d runs, problems %v, %v", len(runs), problems, err)
	}
	flaky := Flaky(runs)
	if len(flaky) != 1 {
		t.Fatalf("Flaky = %+v, want the v1 echo cell only", flaky)
	}
	f := flaky[0]
	if f.Suite != "interop" || f.CodeVersion != "v1" || f.Case != "echo" || len(f.Runs) != 2 ||
		f.Runs[0].Outcome != Succeeded || f.Runs[1].Outcome != Failed || !strings.Contains(f.Runs[1].Reason, "mismatch") {
		t.Errorf("flaky cell = %+v", f)
	}
}

func TestRunsIndexShowsTrends(t *testing.T) {
	root := t.TempDir()
	ok, bad := Succeeded, Failed
	dirs := writeTrendRuns(t, root, []string{"v1", "v1", "v1", "v1"}, [][2]Outcome{{ok, ok}, {ok, bad}, {ok, ok}, {ok, ok}})
	page, err := os.ReadFile(filepath.Join(root, RunsIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	tables := elementsWith(t, page, "data-trends")
	if len(tables) != 1 || attr(tables[0], "data-trends") != "interop" {
		t.Fatalf("want one trends table for interop, got %d", len(tables))
	}
	rows := elementsWith(t, page, "data-trend")
	if len(rows) != 2 {
		t.Fatalf("want a trend row per cell (2), got %d", len(rows))
	}
	byCell := map[string]*struct{ flaky bool }{}
	for _, r := range rows {
		byCell[attr(r, "data-trend")] = &struct{ flaky bool }{hasAttr(r, "data-flaky")}
	}
	if e := byCell["go → go echo"]; e == nil || !e.flaky {
		t.Errorf("the echo cell is not marked flaky: %v", byCell)
	}
	if h := byCell["go → go handshake"]; h == nil || h.flaky {
		t.Errorf("the steady handshake cell is marked flaky or missing: %v", byCell)
	}
	var marks []string
	for _, m := range elementsWith(t, page, "data-outcome") {
		marks = append(marks, attr(m, "data-outcome"))
	}
	// Row order is the matrix's (handshake, then echo), runs oldest first.
	want := []string{"succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "failed", "succeeded", "succeeded"}
	if !slices.Equal(marks, want) {
		t.Errorf("outcome marks = %v, want %v", marks, want)
	}
	for _, m := range elementsWith(t, page, "data-outcome") {
		if attr(m, "data-outcome") == "failed" && (!strings.Contains(attr(m, "title"), dirs[1]) || !strings.Contains(attr(m, "title"), "echo mismatch <at> byte 3")) {
			t.Errorf("the failed mark's title does not name its run and reason: %q", attr(m, "title"))
		}
	}
	var lasts []string
	for _, l := range elementsWith(t, page, "data-last") {
		lasts = append(lasts, textOf(l))
	}
	if !slices.Equal(lasts, []string{"6 ms", "750 Mbit/s"}) {
		t.Errorf("last values beside the plots = %q", lasts)
	}
	sparks := elementsWith(t, page, "data-spark")
	if len(sparks) != 2 {
		t.Fatalf("want two plots (handshake of one cell, throughput of the other), got %d", len(sparks))
	}
	for _, s := range sparks {
		if attr(s, "data-points") != "4" || s.Data != "svg" {
			t.Errorf("plot %s: %s with %s points, want an svg with 4", attr(s, "data-spark"), s.Data, attr(s, "data-points"))
		}
		title := textOf(s.FirstChild) // the <title>
		switch attr(s, "data-spark") {
		case "handshake":
			if !strings.Contains(title, "last 6 ms, min 3, max 6") {
				t.Errorf("handshake plot title %q", title)
			}
		case "throughput":
			if !strings.Contains(title, "last 750 Mbit/s, min 750, max 900") {
				t.Errorf("throughput plot title %q", title)
			}
		}
	}
}

// A merged run stands for its shards: the trends count the cells once.
func TestTrendsLeaveOutMergedShards(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	base := Run{Suite: "hil", CodeVersion: "v1", Start: start, End: start.Add(time.Second),
		Peers: []Peer{{Name: "go", Roles: []string{RoleClient, RoleServer}}},
		Cases: []Case{{Name: "a"}, {Name: "b"}}}
	var shardDirs []string
	for k, kase := range []string{"a", "b"} {
		r := base
		r.Shard = &Shard{Index: k + 1, Total: 2, Cells: 2}
		r.Cells = []Cell{{Client: "go", Server: "go", Case: kase, Outcome: Succeeded}}
		dir, err := NewRunDir(root, start)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
		shardDirs = append(shardDirs, dir)
	}
	if _, _, err := MergeNew(root, shardDirs); err != nil {
		t.Fatal(err)
	}
	runs, _, _, err := LoadRuns(root)
	if err != nil || len(runs) != 1 || runs[0].MergedFrom == nil {
		t.Fatalf("LoadRuns: %d runs (%v), want the merged one only", len(runs), err)
	}
	page, _ := os.ReadFile(filepath.Join(root, RunsIndexFile))
	if n := len(elementsWith(t, page, "data-run")); n != 3 {
		t.Errorf("the runs table lists %d runs, want all 3 folders", n)
	}
	if rows, marks := elementsWith(t, page, "data-trend"), elementsWith(t, page, "data-outcome"); len(rows) != 2 || len(marks) != 2 {
		t.Errorf("trends: %d cells with %d marks, want 2 cells with one mark each (the merged run)", len(rows), len(marks))
	}
}
