package reports

import (
	"strings"
	"testing"
)

// Each board cell's heap is attributed to the board that took it, the largest peak first, and
// the report page shows the table and the run's lowest free heap.
func TestHeapRowsAndPage(t *testing.T) {
	run := Run{
		Suite: "hil",
		Peers: []Peer{
			{Name: "go", Roles: []string{RoleClient, RoleServer}},
			{Name: "virtual-board", Roles: []string{RoleClient, RoleServer, RoleConsole}},
		},
		Cases: []Case{{Name: "echo-1MiB", Abbr: "E1M"}, {Name: "handshake", Abbr: "H"}},
		Cells: []Cell{
			{Client: "go", Server: "virtual-board", Case: "echo-1MiB", Outcome: Succeeded,
				Metrics: map[string]float64{MetricHeapPeak: 250_000, MetricHeapMinFree: 12_000}},
			{Client: "virtual-board", Server: "go", Case: "handshake", Outcome: Succeeded,
				Metrics: map[string]float64{MetricHeapPeak: 60_000, MetricHeapMinFree: 150_000}},
			{Client: "virtual-board", Server: "virtual-board", Case: "handshake", Outcome: Succeeded,
				Metrics: map[string]float64{MetricHeapPeak: 70_000, MetricHeapMinFree: 140_000,
					"client_" + MetricHeapPeak: 65_000, "client_" + MetricHeapMinFree: 9_000}},
			{Client: "go", Server: "go", Case: "handshake", Outcome: Succeeded},
		},
	}
	rows := HeapRows(run)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rows), rows)
	}
	if rows[0].PeakBytes != 250_000 || rows[0].Board != "virtual-board" || rows[0].Client != "go" {
		t.Errorf("largest peak first: %+v", rows[0])
	}
	for _, r := range rows {
		if r.Client == "virtual-board" && r.Server == "go" && r.Board != "virtual-board" {
			t.Errorf("a board client's figures are the client's: %+v", r)
		}
	}
	page, err := renderIndex(run, nil, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if !strings.Contains(html, `<table id="heap">`) || !strings.Contains(html, "244.1 KiB") ||
		!strings.Contains(html, "Lowest free heap of the run: <strong>8.8 KiB</strong> on virtual-board") {
		t.Errorf("the page lacks the heap table or the lowest free heap")
	}
	run.Cells = run.Cells[3:]
	if page, _ := renderIndex(run, nil, func(string) bool { return false }); strings.Contains(string(page), `id="heap"`) {
		t.Error("a run without board heap figures shows a heap table")
	}
}
