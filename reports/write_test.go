package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustWrite(t *testing.T, runDir string, run Run) {
	t.Helper()
	if err := Write(runDir, run); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewRunDirNamesRunsByUTCTimeAndNeverReusesOne(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 11, 27, 5, 15, 0, 0, time.FixedZone("CET+1", 3600))
	first, err := NewRunDir(root, start)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "runs", "2026-11-27T04-15-00Z"); first != want {
		t.Errorf("run dir = %s, want %s", first, want)
	}
	if fi, err := os.Stat(filepath.Join(first, "logs")); err != nil || !fi.IsDir() {
		t.Errorf("logs folder missing: %v", err)
	}
	second, err := NewRunDir(root, start)
	if err != nil {
		t.Fatal(err)
	}
	if want := first + "-2"; second != want {
		t.Errorf("second run in the same second = %s, want %s", second, want)
	}
}

func TestCellLogPathStaysInsideTheRun(t *testing.T) {
	for _, tc := range []struct{ client, server, kase, want string }{
		{"go", "upstream-1.4.1", "handshake", "logs/go__upstream-1.4.1/handshake"},
		{"../..", "a/b", "..", "logs/.._..__a_b/__"},
		{"", "x y", "c:d", "logs/___x_y/c_d"},
	} {
		got := CellLogPath(tc.client, tc.server, tc.kase)
		if got != tc.want {
			t.Errorf("CellLogPath(%q, %q, %q) = %q, want %q", tc.client, tc.server, tc.kase, got, tc.want)
		}
		if err := checkLogPath(got); err != nil {
			t.Errorf("CellLogPath(%q, %q, %q) = %q is rejected by the validator: %v", tc.client, tc.server, tc.kase, got, err)
		}
	}
	runDir := t.TempDir()
	dir, err := CellLogDir(runDir, "go", "esp32/c6", "echo")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(runDir, "logs", "go__esp32_c6", "echo"); dir != want {
		t.Errorf("CellLogDir = %s, want %s", dir, want)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("CellLogDir did not create %s: %v", dir, err)
	}
}

func TestWriteWritesEveryFileAndPointsLatest(t *testing.T) {
	root, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	for _, name := range []string{ResultsFile, JUnitFile, SummaryFile, IndexFile} {
		if fi, err := os.Stat(filepath.Join(runDir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", name, err)
		}
	}
	target, err := os.Readlink(filepath.Join(root, LatestLink))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("runs", filepath.Base(runDir)); target != want {
		t.Errorf("latest -> %s, want %s (relative, so the folder can move)", target, want)
	}
	// A second run moves the link.
	second, err := NewRunDir(root, run.Start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, second, run)
	if target, _ := os.Readlink(filepath.Join(root, LatestLink)); target != filepath.Join("runs", filepath.Base(second)) {
		t.Errorf("latest -> %s after the second run", target)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary links left behind: %v", leftovers)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(runDir, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestWriteRejectsBadRunsAndKeepsThePreviousReport(t *testing.T) {
	root, runDir, good := sampleRun(t)
	mustWrite(t, runDir, good)
	before := map[string][]byte{}
	for _, name := range []string{ResultsFile, JUnitFile, SummaryFile, IndexFile} {
		before[name] = readFile(t, filepath.Join(runDir, name))
	}
	latestBefore, _ := os.Readlink(filepath.Join(root, LatestLink))

	edit := func(f func(r *Run)) Run {
		r := good
		r.Peers = append([]Peer(nil), good.Peers...)
		r.Cases = append([]Case(nil), good.Cases...)
		r.Cells = append([]Cell(nil), good.Cells...)
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name, want string
		run        Run
	}{
		{"empty run", "no cells", edit(func(r *Run) { r.Cells = nil })},
		{"unknown outcome", `unknown outcome "passed"`, edit(func(r *Run) { r.Cells[0].Outcome = "passed" })},
		{"empty outcome", `unknown outcome ""`, edit(func(r *Run) { r.Cells[0].Outcome = "" })},
		{"undeclared client", `client "rust" is not a declared peer`, edit(func(r *Run) { r.Cells[0].Client = "rust" })},
		{"undeclared case", `case "fly" is not a declared case`, edit(func(r *Run) { r.Cells[0].Case = "fly" })},
		{"duplicate cell", "more than once", edit(func(r *Run) { r.Cells = append(r.Cells, r.Cells[0]) })},
		{"log path outside", "leaves the run folder", edit(func(r *Run) { r.Cells[0].Logs = "../../etc" })},
		{"absolute log path", "relative", edit(func(r *Run) { r.Cells[0].Logs = "/etc" })},
		{"url as log path", "relative path", edit(func(r *Run) { r.Cells[0].Logs = "javascript:alert(1)" })},
		{"NaN metric", "not a finite number", edit(func(r *Run) { r.Cells[0].Metrics = map[string]float64{"heap": math.NaN()} })},
		{"duplicate peer", `peer "go" is declared twice`, edit(func(r *Run) { r.Peers = append(r.Peers, Peer{Name: "go"}) })},
		{"shared case code", "share the code", edit(func(r *Run) { r.Cases[1].Abbr = "H" })},
		{"no suite", "no suite", edit(func(r *Run) { r.Suite = "" })},
		{"manifest that is not JSON", "manifest", edit(func(r *Run) { r.Peers[0].Manifest = func() {} })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(runDir, RejectedFile))
			err := Write(runDir, tc.run)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write error = %v, want one that says %q", err, tc.want)
			}
			// Nothing is lost: the refused run is kept beside the report, with the reason.
			var kept struct {
				Error string `json:"error"`
				Run   struct {
					Results []json.RawMessage `json:"results"`
				} `json:"run"`
			}
			if err := json.Unmarshal(readFile(t, filepath.Join(runDir, RejectedFile)), &kept); err != nil {
				t.Fatalf("rejected run not kept: %v", err)
			}
			if !strings.Contains(kept.Error, tc.want) || len(kept.Run.Results) != len(tc.run.Cells) {
				t.Errorf("kept run: error %q, %d cells, want %d", kept.Error, len(kept.Run.Results), len(tc.run.Cells))
			}
		})
	}
	for name, b := range before {
		if !bytes.Equal(readFile(t, filepath.Join(runDir, name)), b) {
			t.Errorf("%s changed although every write was rejected", name)
		}
	}
	if latest, _ := os.Readlink(filepath.Join(root, LatestLink)); latest != latestBefore {
		t.Errorf("latest moved to %s", latest)
	}
	mustWrite(t, runDir, good)
	if _, err := os.Stat(filepath.Join(runDir, RejectedFile)); err == nil {
		t.Errorf("%s still there after a good run was written", RejectedFile)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(runDir, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestWriteRefusesToReplaceALatestThatIsNotALink(t *testing.T) {
	root, runDir, run := sampleRun(t)
	if err := os.Mkdir(filepath.Join(root, LatestLink), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(runDir, run)
	if err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Fatalf("Write error = %v, want a refusal to replace the folder", err)
	}
}

func TestResultsJSON(t *testing.T) {
	_, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	raw := readFile(t, filepath.Join(runDir, ResultsFile))

	var doc struct {
		Schema     string            `json:"schema"`
		Suite      string            `json:"suite"`
		RunID      string            `json:"run_id"`
		DurationMS float64           `json:"duration_ms"`
		Host       map[string]string `json:"host"`
		Peers      []map[string]any  `json:"peers"`
		Cases      []map[string]any  `json:"cases"`
		Results    []map[string]any  `json:"results"`
		Summary    Counts            `json:"summary"`
		Conform    []PeerConformance `json:"conformance"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "irohconf/results/v1" || doc.Suite != "interop" || doc.RunID != "2026-11-27T04-15-00Z" {
		t.Errorf("header = %q %q %q", doc.Schema, doc.Suite, doc.RunID)
	}
	if doc.DurationMS != 93000 {
		t.Errorf("duration_ms = %v, want 93000", doc.DurationMS)
	}
	if want := (Counts{Succeeded: 11, Failed: 1, Unsupported: 2, Error: 1, Total: 15}); doc.Summary != want {
		t.Errorf("summary = %+v, want %+v", doc.Summary, want)
	}
	if len(doc.Results) != 15 || len(doc.Peers) != 3 || len(doc.Cases) != 4 {
		t.Fatalf("%d results, %d peers, %d cases", len(doc.Results), len(doc.Peers), len(doc.Cases))
	}
	first := doc.Results[0]
	for _, key := range []string{"client", "server", "case", "outcome", "start", "duration_ms", "handshake_ms", "logs"} {
		if _, ok := first[key]; !ok {
			t.Errorf("result has no %q: %v", key, first)
		}
	}
	if doc.Peers[0]["runtime"] != "in-process" || doc.Peers[0]["version"] != "v0.1.0" || doc.Peers[0]["manifest"] == nil {
		t.Errorf("peer = %v", doc.Peers[0])
	}
	// Reasons keep < > & as they are: results.json is read in terminals too.
	if !bytes.Contains(raw, []byte(`<script>alert(\"x\")</script> & ]]>`)) {
		t.Errorf("reason was mangled in results.json")
	}

	vb := doc.Conform[2]
	if vb.Peer != "virtual-board" || vb.Runtime != "pty" {
		t.Fatalf("conformance[2] = %+v", vb)
	}
	if want := (Counts{Succeeded: 3, Unsupported: 2, Error: 1, Total: 6}); vb.Cells != want || vb.AsServer != want {
		t.Errorf("virtual-board cells = %+v as server %+v, want %+v", vb.Cells, vb.AsServer, want)
	}
	if want := map[string]Outcome{"handshake": Succeeded, "echo-small": Error, "echo-concurrent": Unsupported}; !cmp.Equal(vb.Cases, want) {
		t.Errorf("virtual-board cases: %s", cmp.Diff(want, vb.Cases))
	}
	if !cmp.Equal(vb.DeclaredUnsupported, []string{"echo-concurrent"}) || vb.Result != Error {
		t.Errorf("virtual-board declared %v, result %q", vb.DeclaredUnsupported, vb.Result)
	}
	if goPeer := doc.Conform[0]; goPeer.Result != Failed || goPeer.AsClient.Total != 9 || goPeer.AsServer.Total != 6 || goPeer.Cells.Total != 12 {
		t.Errorf("go conformance = %+v (the go→go cells count once per role, once in cells)", goPeer)
	}

	// Cells come out in matrix order whatever order the suite recorded them in.
	shuffled := run
	shuffled.Cells = slices.Clone(run.Cells)
	slices.Reverse(shuffled.Cells)
	mustWrite(t, runDir, shuffled)
	if !bytes.Equal(readFile(t, filepath.Join(runDir, ResultsFile)), raw) {
		t.Errorf("results.json depends on the order cells were recorded in")
	}

	// Load gives back the run as written.
	loaded, err := Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	run.ID = filepath.Base(runDir)
	// Manifests come back as JSON values (map[string]any, []any, float64): compare them as JSON.
	for i := range run.Peers {
		if run.Peers[i].Manifest != nil {
			b, _ := json.Marshal(run.Peers[i].Manifest)
			run.Peers[i].Manifest = nil
			json.Unmarshal(b, &run.Peers[i].Manifest)
		}
	}
	if diff := cmp.Diff(run, loaded); diff != "" {
		t.Errorf("Load(results.json) differs from the run written (-written +loaded):\n%s", diff)
	}
}

func TestRenderRewritesTheDerivedFilesOnly(t *testing.T) {
	_, runDir, run := sampleRun(t)
	mustWrite(t, runDir, run)
	results := readFile(t, filepath.Join(runDir, ResultsFile))
	index := readFile(t, filepath.Join(runDir, IndexFile))
	os.Remove(filepath.Join(runDir, JUnitFile))
	// A Ginkgo report added after the run gets a link when the report is rendered again.
	if err := os.WriteFile(filepath.Join(runDir, GinkgoReportFile), []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Render(runDir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, filepath.Join(runDir, ResultsFile)), results) {
		t.Error("Render changed results.json")
	}
	if _, err := os.Stat(filepath.Join(runDir, JUnitFile)); err != nil {
		t.Error("Render did not write junit.xml again")
	}
	newIndex := readFile(t, filepath.Join(runDir, IndexFile))
	if bytes.Contains(index, []byte(GinkgoReportFile)) || !regexp.MustCompile(`href="ginkgo-report.json"[^>]*>Ginkgo JSON report<`).Match(newIndex) {
		t.Error("index.html does not link the Ginkgo report that appeared")
	}

	// A results.json of another schema is refused, not guessed at.
	os.WriteFile(filepath.Join(runDir, ResultsFile), bytes.Replace(results, []byte("results/v1"), []byte("results/v9"), 1), 0o644)
	if err := Render(runDir); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("Render of a v9 file: %v", err)
	}
}
