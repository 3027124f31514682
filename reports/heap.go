package reports

import (
	"cmp"
	"fmt"
	"slices"
)

// The heap a board cell took, as the suites' framework records it for a board side of a cell
// (a board client's carry the prefix "client_" when the server is a board too).
const (
	MetricHeapPeak    = "heap_peak_bytes"
	MetricHeapMinFree = "heap_min_free_bytes"
)

// HeapRow is one board cell's heap: the most heap the cell took and the lowest free heap
// during it, for the side that is a board.
type HeapRow struct {
	Client, Server, Case, Board string
	PeakBytes, MinFreeBytes     float64
}

// HeapRows are the run's cells with heap figures, the largest peak first.
func HeapRows(run Run) []HeapRow {
	var rows []HeapRow
	for _, c := range run.Cells {
		for _, side := range []struct{ prefix, board string }{{"", c.Server}, {"client_", c.Client}} {
			peak, ok := c.Metrics[side.prefix+MetricHeapPeak]
			if !ok {
				continue
			}
			board := side.board
			if side.prefix == "" {
				if _, server := c.Metrics["client_"+MetricHeapPeak]; !server && isClientOnlyBoard(run, c) {
					board = c.Client
				}
			}
			rows = append(rows, HeapRow{Client: c.Client, Server: c.Server, Case: c.Case, Board: board,
				PeakBytes: peak, MinFreeBytes: c.Metrics[side.prefix+MetricHeapMinFree]})
		}
	}
	slices.SortStableFunc(rows, func(a, b HeapRow) int { return cmp.Compare(b.PeakBytes, a.PeakBytes) })
	return rows
}

// isClientOnlyBoard: the cell's heap figures without a prefix are its client's, because its
// server is not a board (the framework names a lone board side without a prefix).
func isClientOnlyBoard(run Run, c Cell) bool {
	for _, p := range run.Peers {
		if p.Name == c.Server {
			return !slices.Contains(p.Roles, RoleConsole)
		}
	}
	return false
}

func kib(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }
