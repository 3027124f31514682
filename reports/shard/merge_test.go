package shard

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/reports"
)

func ptr(f float64) *float64 { return &f }

// fullRun is a synthetic run of every outcome over three peers, with logs for every cell and a
// pair-level server key log, as a suite writes them.
func fullRun() reports.Run {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := reports.Run{
		Suite: "interop", CodeVersion: "v0.4.0-12-gabc1234", Start: start, End: start.Add(5 * time.Minute),
		Host: map[string]string{"os": "linux", "hostname": "ci-1"},
		Peers: []reports.Peer{
			{Name: "go", Kind: reports.KindGo, Version: "irohconf-v0.4.0", Runtime: reports.RuntimeInProcess,
				Roles: []string{reports.RoleClient, reports.RoleServer}, Manifest: map[string]any{"alpns": []any{"echo/0"}}},
			{Name: "upstream-1.4.1", Kind: reports.KindUpstream, Version: "1.4.1", Runtime: reports.RuntimeDocker,
				Roles: []string{reports.RoleClient, reports.RoleServer}, Unsupported: []string{"ticket"}},
			{Name: "virtual-board", Kind: reports.KindVirtualBoard, Version: "fw 0.3.0", Runtime: reports.RuntimePTY,
				Roles: []string{reports.RoleServer, reports.RoleConsole}},
		},
		Cases: []reports.Case{
			{Name: "handshake", Abbr: "H", Description: "dial and see each other's id"},
			{Name: "echo-small", Abbr: "E", Description: "1 KiB comes back"},
			{Name: "echo-large", Abbr: "EL", Description: "16 MiB come back"},
			{Name: "ticket", Abbr: "T", Description: "the ticket parses"},
		},
	}
	i := 0
	for _, client := range []string{"go", "upstream-1.4.1"} {
		for _, server := range []string{"go", "upstream-1.4.1", "virtual-board"} {
			for _, kase := range run.Cases {
				c := reports.Cell{Client: client, Server: server, Case: kase.Name, Outcome: reports.Succeeded,
					Start: start.Add(time.Duration(i) * time.Second), DurationMS: float64(100 + 37*i%500),
					Logs: reports.CellLogPath(client, server, kase.Name)}
				switch {
				case kase.Name == "ticket" && (client == "upstream-1.4.1" || server == "upstream-1.4.1"):
					c.Outcome, c.Reason = reports.Unsupported, "upstream-1.4.1 declares ticket unsupported"
				case client == "upstream-1.4.1" && server == "virtual-board" && kase.Name == "echo-large":
					c.Outcome, c.Reason = reports.Failed, "echo mismatch at byte 4096"
					c.ExpectedFailure = "known flow-control defect"
				case client == "go" && server == "virtual-board" && kase.Name == "echo-small":
					c.Outcome, c.Reason = reports.Error, "board did not answer within 10s"
				case kase.Name == "handshake":
					c.HandshakeMS = ptr(2.5 + float64(i))
				case kase.Name == "echo-large":
					c.ThroughputMbps = ptr(100 + float64(i))
				}
				run.Cells = append(run.Cells, c)
				i++
			}
		}
	}
	return run
}

// writeRun writes run into dir (created), with every cell's logs and the pairs' server key logs.
func writeRun(t *testing.T, dir string, run reports.Run, logsFrom string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, reports.LogsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Cells {
		if c.Logs == "" {
			continue
		}
		cellDir := filepath.Join(dir, filepath.FromSlash(c.Logs))
		pairDir := filepath.Dir(cellDir)
		if logsFrom != "" {
			copyDir(t, filepath.Join(logsFrom, filepath.FromSlash(c.Logs)), cellDir)
			// Whatever lives beside the cells (a pair's server key log) goes with each of them.
			entries, _ := os.ReadDir(filepath.Dir(filepath.Join(logsFrom, filepath.FromSlash(c.Logs))))
			for _, e := range entries {
				if !e.IsDir() {
					copyDir(t, filepath.Join(filepath.Dir(filepath.Join(logsFrom, filepath.FromSlash(c.Logs))), e.Name()), filepath.Join(pairDir, e.Name()))
				}
			}
			continue
		}
		if err := os.MkdirAll(cellDir, 0o755); err != nil {
			t.Fatal(err)
		}
		mustWriteFile(t, filepath.Join(cellDir, "cell.log"), "cell "+c.Case+": "+string(c.Outcome)+"\n")
		mustWriteFile(t, filepath.Join(pairDir, "keylog-server.txt"), "CLIENT_RANDOM "+filepath.Base(pairDir)+"\n")
	}
	if err := reports.Write(dir, run); err != nil {
		t.Fatal(err)
	}
}

func mustWriteFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a file or a folder (missing: nothing to copy).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		os.MkdirAll(filepath.Dir(target), 0o755)
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// splitRun writes the n shard runs of full (split by Assign with durations) under dir.
func splitRun(t *testing.T, dir string, full reports.Run, n int, durations map[string]float64, logsFrom string) []string {
	t.Helper()
	var ks []string
	for _, c := range full.Cells {
		ks = append(ks, Key(c.Client, c.Server, c.Case))
	}
	var dirs []string
	for k := 1; k <= n; k++ {
		part, err := Select(ks, reports.Shard{Index: k, Total: n}, durations)
		if err != nil {
			t.Fatal(err)
		}
		if len(part) == 0 {
			continue // more shards than cells: CI would not start it
		}
		shardRun := full
		shardRun.ID = ""
		shardRun.Shard = &reports.Shard{Index: k, Total: n, Cells: len(full.Cells)}
		shardRun.Cells = nil
		for _, c := range full.Cells {
			if slices.Contains(part, Key(c.Client, c.Server, c.Case)) {
				shardRun.Cells = append(shardRun.Cells, c)
			}
		}
		d := filepath.Join(dir, fmt.Sprintf("shard-%d", k))
		writeRun(t, d, shardRun, logsFrom)
		dirs = append(dirs, d)
	}
	return dirs
}

// files lists every file under dir with its content.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkMergeEqualsFull merges the shards and compares the result with the full run's folder:
// every file byte for byte, except results.json's merged_from (the one field that says how the
// run was made).
func checkMergeEqualsFull(t *testing.T, fullDir string, shardDirs []string, outDir string) {
	t.Helper()
	notes, err := reports.MergeDirs(outDir, shardDirs)
	if err != nil {
		t.Fatalf("MergeDirs: %v", err)
	}
	for _, n := range notes {
		t.Logf("note: %s", n)
	}
	merged, err := reports.Load(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.MergedFrom) != len(shardDirs) {
		t.Errorf("merged_from lists %d runs, want %d", len(merged.MergedFrom), len(shardDirs))
	}
	merged.MergedFrom = nil
	full, err := reports.Load(fullDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, merged); diff != "" {
		t.Errorf("merged run differs from the full run (-full +merged):\n%s", diff)
	}
	want, got := files(t, fullDir), files(t, outDir)
	delete(want, reports.ResultsFile)
	delete(got, reports.ResultsFile)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged folder differs from the full run's (-full +merged):\n%s", diff)
	}
}

func TestShardsMergedEqualTheFullRun(t *testing.T) {
	full := fullRun()
	for _, n := range []int{1, 2, 3, 5} {
		for _, byTime := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d shards, by time %v", n, byTime), func(t *testing.T) {
				tmp := t.TempDir()
				fullDir := filepath.Join(tmp, "full", "run")
				writeRun(t, fullDir, full, "")
				var durations map[string]float64
				if byTime {
					durations = Durations(full)
				}
				shards := splitRun(t, filepath.Join(tmp, "shards"), full, n, durations, fullDir)
				// The shards in any order.
				slices.Reverse(shards)
				checkMergeEqualsFull(t, fullDir, shards, filepath.Join(tmp, "merged", "run"))
			})
		}
	}
}

// The newest real run, when this checkout has one (reports/runs after `make interop` or `make hil-virtual`),
// split in two and three and merged back.
func TestRealRunSplitAndMergedIsTheSame(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	runDirs, _ := filepath.Glob(filepath.Join(root, "reports", reports.RunsDir, "*", reports.ResultsFile))
	var real []string
	for _, r := range slices.Backward(runDirs) {
		dir := filepath.Dir(r)
		if run, err := reports.Load(dir); err == nil && run.Shard == nil && run.MergedFrom == nil && len(run.Cells) > 1 {
			real = append(real, dir)
		}
		if len(real) == 1 {
			break
		}
	}
	if len(real) == 0 {
		t.Skipf("no run in %s/reports/runs to split (run make interop or make hil-virtual first); the synthetic runs were split instead", root)
	}
	for _, src := range real {
		run, err := reports.Load(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s in %d", filepath.Base(src), n), func(t *testing.T) {
				tmp := t.TempDir()
				fullDir := filepath.Join(tmp, "full", "run")
				full := run
				full.ID = ""
				writeRun(t, fullDir, full, src)
				// Other top-level files (Ginkgo's report) belong to one run each; leave them out.
				shards := splitRun(t, filepath.Join(tmp, "shards"), full, n, Durations(full), fullDir)
				checkMergeEqualsFull(t, fullDir, shards, filepath.Join(tmp, "merged", "run"))
			})
		}
	}
}

func TestMergeRefusesWhatDoesNotBelongTogether(t *testing.T) {
	full := fullRun()
	shardOf := func(k, n int, cells ...int) reports.Run {
		r := full
		r.Shard = &reports.Shard{Index: k, Total: n}
		r.Cells = nil
		for _, i := range cells {
			r.Cells = append(r.Cells, full.Cells[i])
		}
		return r
	}
	cases := []struct {
		name string
		runs []reports.Run
		want []string
	}{
		{"a missing shard", []reports.Run{shardOf(1, 3, 0, 1), shardOf(3, 3, 2)}, []string{"shard 2/3 is missing"}},
		{"a shard twice", []reports.Run{shardOf(1, 2, 0), shardOf(1, 2, 1), shardOf(2, 2, 2)}, []string{"shard 1/2 is given twice"}},
		{"shards of different splits", []reports.Run{shardOf(1, 2, 0), shardOf(2, 3, 1)}, []string{"shards of different splits"}},
		{"a whole run among shards", []reports.Run{shardOf(1, 1, 0), func() reports.Run { r := shardOf(1, 1, 1); r.Shard = nil; return r }()},
			[]string{"is a whole run, the others are shards"}},
		{"different suites", []reports.Run{shardOf(1, 2, 0), func() reports.Run { r := shardOf(2, 2, 1); r.Suite = "hil"; return r }()},
			[]string{`suite "hil"`}},
		{"different code", []reports.Run{shardOf(1, 2, 0), func() reports.Run { r := shardOf(2, 2, 1); r.CodeVersion = "v0.5.0"; return r }()},
			[]string{"ran code v0.5.0", "runs of different code are not merged"}},
		{"a cell with two outcomes", []reports.Run{shardOf(1, 2, 0, 1), func() reports.Run {
			r := shardOf(2, 2, 1, 2)
			r.Cells[0].Outcome = reports.Failed
			return r
		}()}, []string{"go → go echo-small ran twice with different outcomes: succeeded in run #1", "failed in run #2"}},
		{"a peer declared two ways", []reports.Run{shardOf(1, 2, 0), func() reports.Run {
			r := shardOf(2, 2, 1)
			r.Peers = slices.Clone(r.Peers)
			r.Peers[1].Version = "1.4.2"
			return r
		}()}, []string{`peer "upstream-1.4.1" is declared differently`}},
		{"a case declared two ways", []reports.Run{shardOf(1, 2, 0), func() reports.Run {
			r := shardOf(2, 2, 1)
			r.Cases = slices.Clone(r.Cases)
			r.Cases[0].Abbr = "HS"
			return r
		}()}, []string{`case "handshake" is declared differently`}},
		{"shards that do not add up", []reports.Run{
			func() reports.Run { r := shardOf(1, 2, 0); r.Shard.Cells = 3; return r }(),
			func() reports.Run { r := shardOf(2, 2, 1); r.Shard.Cells = 3; return r }(),
		}, []string{"the 2 shards hold 2 cells, the matrix has 3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := reports.Merge(tc.runs)
			if err == nil {
				t.Fatal("merged")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}

	// Runs of several bench hosts: the same cell twice with the same outcome is kept once, with
	// a note. Shards of one split never share a cell: one that ran in two shards means they
	// split differently (and some other cell ran in none).
	whole := func(cells ...int) reports.Run { r := shardOf(1, 1, cells...); r.Shard = nil; return r }
	merged, notes, err := reports.Merge([]reports.Run{whole(0, 1), whole(1, 2)})
	if err != nil || len(merged.Cells) != 3 || len(notes) != 1 || !strings.Contains(notes[0], "ran twice") {
		t.Errorf("Merge with a repeated cell: %d cells, notes %q, %v", len(merged.Cells), notes, err)
	}
	if _, _, err := reports.Merge([]reports.Run{shardOf(1, 2, 0, 1), shardOf(2, 2, 1, 2)}); err == nil ||
		!strings.Contains(err.Error(), "shards of one split never share a cell") {
		t.Errorf("Merge of shards that share a cell: %v", err)
	}
	// A board's version is empty in a shard that never booted it: the merge takes the other's.
	unknown := shardOf(1, 2, 0)
	unknown.Peers = slices.Clone(unknown.Peers)
	unknown.Peers[2].Version = ""
	merged, _, err = reports.Merge([]reports.Run{unknown, shardOf(2, 2, 1, 2)})
	if err != nil || merged.Peers[2].Version != "fw 0.3.0" {
		t.Errorf("Merge with a board version unknown to one shard: %v, %v", merged.Peers, err)
	}
	split := func(r reports.Run, by string) reports.Run { r.Shard.Split = by; return r }
	if _, _, err := reports.Merge([]reports.Run{split(shardOf(1, 2, 0), "count"), split(shardOf(2, 2, 1), "durations sha256:0102")}); err == nil ||
		!strings.Contains(err.Error(), "split the cells by durations sha256:0102") {
		t.Errorf("Merge of shards split by count and by durations: %v", err)
	}
}

// Runs of several bench hosts: each brings its own board; the shared peers are the same.
func TestMergeRunsOfSeveralBenchHosts(t *testing.T) {
	tmp := t.TempDir()
	full := fullRun()
	full.Suite = "hil"
	hostRun := func(host, board string) reports.Run {
		r := full
		r.Host = map[string]string{"os": "linux", "hostname": host}
		r.Peers = []reports.Peer{full.Peers[0], {Name: board, Kind: reports.KindBoard, Version: "fw 0.3.0",
			Runtime: reports.RuntimeSerial, Roles: []string{reports.RoleServer, reports.RoleConsole}}}
		r.Cells = nil
		for _, c := range full.Cells {
			if c.Client == "go" && c.Server == "virtual-board" {
				c.Server, c.Logs = board, reports.CellLogPath("go", board, c.Case)
				r.Cells = append(r.Cells, c)
			}
		}
		return r
	}
	a, b := filepath.Join(tmp, "bench-a"), filepath.Join(tmp, "bench-b")
	writeRun(t, a, hostRun("bench-a", "esp32c6-0001"), "")
	writeRun(t, b, hostRun("bench-b", "esp32s3-0002"), "")
	mustWriteFile(t, filepath.Join(a, "ginkgo-report.json"), "{}")
	out := filepath.Join(tmp, "merged")
	notes, err := reports.MergeDirs(out, []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	m, err := reports.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cells) != 8 || len(m.Peers) != 3 || m.Host["hostname"] != "bench-a, bench-b" {
		t.Errorf("merged: %d cells, %d peers, host %v", len(m.Cells), len(m.Peers), m.Host)
	}
	got := files(t, out)
	for _, want := range []string{"logs/go__esp32c6-0001/handshake/cell.log", "logs/go__esp32s3-0002/ticket/cell.log",
		"logs/go__esp32s3-0002/keylog-server.txt", "ginkgo-report." + filepath.Base(a) + ".json"} {
		if _, ok := got[want]; !ok {
			t.Errorf("merged folder has no %s (notes %q)", want, notes)
		}
	}
	if !bytes.Contains([]byte(got[reports.IndexFile]), []byte("ginkgo-report."+filepath.Base(a)+".json")) {
		t.Errorf("index.html does not link the copied Ginkgo report")
	}
	// A merge that fails half-way (one input has a file where the other has a folder) leaves no
	// half-written folder.
	os.MkdirAll(filepath.Join(b, "logs", "odd"), 0o755)
	mustWriteFile(t, filepath.Join(b, "logs", "odd", "x"), "a folder here")
	mustWriteFile(t, filepath.Join(a, "logs", "odd"), "a file here")
	if _, err := reports.MergeDirs(filepath.Join(tmp, "half"), []string{a, b}); err == nil {
		t.Error("a merge with conflicting log paths succeeded")
	}
	if _, err := os.Stat(filepath.Join(tmp, "half")); !os.IsNotExist(err) {
		t.Errorf("a failed merge left %s behind: %v", filepath.Join(tmp, "half"), err)
	}
	// Merging into a folder that is not empty is refused, and writes nothing there.
	if _, err := reports.MergeDirs(a, []string{a, b}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("MergeDirs into a run folder: %v", err)
	}
}
