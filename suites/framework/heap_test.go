package framework

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/peercontract"
)

// meterServer is a server whose heap windows are scripted.
type meterServer struct {
	Server
	readings []HeapReading
	errs     []error
	calls    int
}

func (m *meterServer) HeapWindow(context.Context) (HeapReading, error) {
	i := m.calls
	m.calls++
	if i < len(m.errs) && m.errs[i] != nil {
		return HeapReading{}, m.errs[i]
	}
	if i < len(m.readings) {
		return m.readings[i], nil
	}
	return HeapReading{}, nil
}

type meterClient struct {
	ClientPeer
	meterServer
}

func (c *meterClient) Dial(context.Context, DialRequest, *Tap) (peercontract.Result, error) {
	return peercontract.Result{}, nil
}

func u(v uint64) *uint64 { return &v }

// A cell on a board records the heap its window saw: the peak it took and the lowest free heap.
func TestHeapWindowsRecordEachCell(t *testing.T) {
	srv := &meterServer{readings: []HeapReading{{}, {HeapFree: u(200_000), WindowMin: u(150_000), WindowPeak: u(52_000)}}}
	client := &meterClient{meterServer: meterServer{readings: []HeapReading{{}, {WindowMin: u(90_000), WindowPeak: u(7_000)}}}}
	cell := &Cell{Client: client}
	ws := openHeapWindows(context.Background(), cell, srv)
	if srv.calls != 1 || client.calls != 1 {
		t.Fatalf("windows opened: server %d, client %d", srv.calls, client.calls)
	}
	ws.record(context.Background(), cell, nil)
	got := cell.Metrics()
	want := map[string]float64{MetricHeapPeak: 52_000, MetricHeapMinFree: 150_000, "client_" + MetricHeapPeak: 7_000, "client_" + MetricHeapMinFree: 90_000}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}

	// A board without heap figures records nothing and says nothing; a failing command is noted.
	quiet := &meterServer{errs: []error{ErrNoHeap}}
	broken := &meterServer{errs: []error{nil, errors.New("command \"heap\": board crashed")}}
	cell = &Cell{Client: &meterClient{meterServer: meterServer{errs: []error{ErrNoHeap}}}}
	openHeapWindows(context.Background(), cell, quiet).record(context.Background(), cell, nil)
	if len(cell.Metrics()) != 0 || len(cell.notes) != 0 {
		t.Errorf("no heap figures: metrics %v, notes %v", cell.Metrics(), cell.notes)
	}
	cell = &Cell{Client: &meterClient{meterServer: meterServer{errs: []error{ErrNoHeap}}}}
	openHeapWindows(context.Background(), cell, broken).record(context.Background(), cell, nil)
	if len(cell.Metrics()) != 0 || len(cell.notes) != 1 || !strings.Contains(cell.notes[0], "board crashed") {
		t.Errorf("a failed heap command: metrics %v, notes %v", cell.Metrics(), cell.notes)
	}

	// A side that crashed records nothing (its window is the restarted board's).
	srv = &meterServer{readings: []HeapReading{{}, {WindowMin: u(1), WindowPeak: u(2)}}}
	cell = &Cell{Client: &meterClient{meterServer: meterServer{errs: []error{ErrNoHeap}}}}
	openHeapWindows(context.Background(), cell, srv).record(context.Background(), cell, map[string]bool{"server": true})
	if len(cell.Metrics()) != 0 || len(cell.notes) != 1 || !strings.Contains(cell.notes[0], "crashed") {
		t.Errorf("a crashed server: metrics %v, notes %v", cell.Metrics(), cell.notes)
	}
}
