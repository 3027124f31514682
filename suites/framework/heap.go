package framework

import (
	"context"
	"errors"
	"time"

	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/reports"
)

// HeapMeter is a side of a cell that can say how much heap the cell took: a board whose firmware
// keeps heap windows (our firmware's heap command). The framework opens a window before each
// cell and closes it after, and records the cell's peak heap and the lowest free heap.
type HeapMeter interface {
	// HeapWindow ends the current heap window, starts a new one, and returns what the ended one
	// saw. ErrNoHeap: the board cannot tell (no console, no heap figures).
	HeapWindow(ctx context.Context) (HeapReading, error)
}

// HeapReading is a board's HEAP line.
type HeapReading = boardlines.HeapInfo

// ErrNoHeap is returned by a HeapMeter whose board reports no heap figures.
var ErrNoHeap = errors.New("the board reports no heap figures")

// Metric names of a cell's heap, for the side that is a board (a board client's carry the
// prefix "client_" when the server is a board too).
const (
	MetricHeapPeak    = reports.MetricHeapPeak    // the most heap the cell took, below where it began
	MetricHeapMinFree = reports.MetricHeapMinFree // the lowest free heap during the cell
)

const heapCommandTimeout = 5 * time.Second

// heapWindows are the open heap windows of one cell.
type heapWindows []heapWindow

type heapWindow struct {
	meter  HeapMeter
	side   string // server or client
	prefix string
}

// openHeapWindows starts a heap window on each side of the cell that is a HeapMeter.
func openHeapWindows(ctx context.Context, cell *Cell, srv Server) heapWindows {
	var sides []heapWindow
	if m, ok := srv.(HeapMeter); ok {
		sides = append(sides, heapWindow{meter: m, side: "server"})
	}
	if m, ok := cell.Client.(HeapMeter); ok {
		prefix := ""
		if len(sides) > 0 {
			prefix = "client_"
		}
		sides = append(sides, heapWindow{meter: m, side: "client", prefix: prefix})
	}
	var open heapWindows
	for _, w := range sides {
		hctx, cancel := context.WithTimeout(ctx, heapCommandTimeout)
		_, err := w.meter.HeapWindow(hctx)
		cancel()
		switch {
		case err == nil:
			open = append(open, w)
		case !errors.Is(err, ErrNoHeap):
			cell.Notef("heap window not opened: %v", err)
		}
	}
	return open
}

// record closes the windows and records what each saw. A side that crashed records nothing:
// its window is the restarted board's, not the cell's.
func (ws heapWindows) record(ctx context.Context, cell *Cell, crashed map[string]bool) {
	for _, w := range ws {
		if crashed[w.side] {
			cell.Notef("heap of the %s not recorded: it crashed during the cell", w.side)
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, heapCommandTimeout)
		h, err := w.meter.HeapWindow(hctx)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrNoHeap) {
				cell.Notef("heap after the cell not read: %v", err)
			}
			continue
		}
		if h.WindowPeak != nil {
			cell.Record(w.prefix+MetricHeapPeak, float64(*h.WindowPeak))
		}
		if h.WindowMin != nil {
			cell.Record(w.prefix+MetricHeapMinFree, float64(*h.WindowMin))
		}
	}
}
