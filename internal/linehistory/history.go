// Package linehistory holds what a peer printed as a growing list of lines one can wait on: a
// process's or container's output, a test's tap on a peer, a board's serial console. Each line
// carries its own time (the line type is the caller's); positions count from the first line
// ever appended, so they stay valid when old lines are dropped.
package linehistory

import (
	"context"
	"sync"
)

// History is a list of lines that grows while waiters wait on it. It is safe for concurrent use.
type History[L any] struct {
	keep int

	mu      sync.Mutex
	lines   []L
	base    int // position of lines[0]
	changed chan struct{}
	// ended makes waits fail with it instead of waiting (the source stopped); final says it
	// cannot be resumed.
	ended error
	final bool
}

// New returns an empty history. keep > 0 bounds how many lines it holds: older ones are
// dropped, in steps of a quarter so a long run does not copy the history on every line.
func New[L any](keep int) *History[L] {
	return &History[L]{keep: keep, changed: make(chan struct{})}
}

// Append adds a line and wakes every waiter.
func (h *History[L]) Append(l L) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, l)
	if h.keep > 0 {
		if over := len(h.lines) - h.keep; over > h.keep/4 {
			h.lines = append([]L(nil), h.lines[over:]...)
			h.base += over
		}
	}
	h.broadcastLocked()
}

func (h *History[L]) broadcastLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Mark is the position the next line will get.
func (h *History[L]) Mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.base + len(h.lines)
}

// Base is the position of the oldest line still held.
func (h *History[L]) Base() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.base
}

// Since returns the lines held from position from on.
func (h *History[L]) Since(from int) []L {
	h.mu.Lock()
	defer h.mu.Unlock()
	from = max(from, h.base)
	if from >= h.base+len(h.lines) {
		return nil
	}
	return append([]L(nil), h.lines[from-h.base:]...)
}

// Range returns the lines held at positions [from, to).
func (h *History[L]) Range(from, to int) []L {
	h.mu.Lock()
	defer h.mu.Unlock()
	from, to = max(from, h.base), min(to, h.base+len(h.lines))
	if from >= to {
		return nil
	}
	return append([]L(nil), h.lines[from-h.base:to-h.base]...)
}

// Tail returns the last n lines.
func (h *History[L]) Tail(n int) []L {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]L(nil), h.lines[max(0, len(h.lines)-n):]...)
}

// End makes every wait, now and later, fail with err once it has looked at the lines held (the
// source stopped). final: for good; else Resume undoes it (a port that is opened again).
func (h *History[L]) End(err error, final bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.final {
		return
	}
	h.ended, h.final = err, final
	h.broadcastLocked()
}

// Resume undoes an End that was not final.
func (h *History[L]) Resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.final {
		h.ended = nil
	}
}

// Ended is the error of End while it holds, else nil.
func (h *History[L]) Ended() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended
}

// Wait returns the first line at position from or later that match accepts, and its position.
// It fails with the error of End when the history ended without such a line, and with the
// context's cause when ctx ends; the position is then where it stopped looking. Lines dropped
// before it looked are skipped.
func (h *History[L]) Wait(ctx context.Context, from int, match func(L) bool) (L, int, error) {
	for {
		h.mu.Lock()
		from = max(from, h.base)
		for ; from < h.base+len(h.lines); from++ {
			if l := h.lines[from-h.base]; match(l) {
				h.mu.Unlock()
				return l, from, nil
			}
		}
		changed, ended := h.changed, h.ended
		h.mu.Unlock()
		var zero L
		if ended != nil {
			return zero, from, ended
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return zero, from, context.Cause(ctx)
		}
	}
}

// WaitMark waits until the history holds position n-1 (n lines were appended in all), the
// history ended, or ctx ended; it says whether the lines arrived.
func (h *History[L]) WaitMark(ctx context.Context, n int) bool {
	_, _, err := h.Wait(ctx, n-1, func(L) bool { return true })
	return err == nil
}
