package peers

import (
	"context"
	"errors"
	"fmt"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/suites/framework"
)

// HeapWindow runs the board's heap command (framework.HeapMeter): firmware without a console or
// a heap command, and a board without heap figures (the virtual board without a budget), is
// framework.ErrNoHeap.
func (s *boardServer) HeapWindow(ctx context.Context) (framework.HeapReading, error) {
	return heapWindow(ctx, s.b)
}

func heapWindow(ctx context.Context, b *board.Board) (framework.HeapReading, error) {
	if !b.Profile.HasConsole() {
		return framework.HeapReading{}, framework.ErrNoHeap
	}
	h, err := b.Heap(ctx)
	if errors.Is(err, board.ErrUnknownCommand) {
		return h, fmt.Errorf("%w: %v", framework.ErrNoHeap, err)
	}
	if err != nil {
		return h, err
	}
	if h.WindowPeak == nil || h.WindowMin == nil {
		return h, framework.ErrNoHeap
	}
	return h, nil
}
