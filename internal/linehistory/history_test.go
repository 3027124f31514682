package linehistory

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWaitSeesLaterLines(t *testing.T) {
	h := New[string](0)
	h.Append("a")
	got := make(chan int, 1)
	go func() {
		_, pos, err := h.Wait(context.Background(), 0, func(s string) bool { return s == "c" })
		if err != nil {
			pos = -1
		}
		got <- pos
	}()
	h.Append("b")
	h.Append("c")
	if pos := <-got; pos != 2 {
		t.Fatalf("found c at %d, want 2", pos)
	}
	if l, pos, err := h.Wait(context.Background(), 1, func(string) bool { return true }); l != "b" || pos != 1 || err != nil {
		t.Fatalf("Wait from 1 = %q %d %v", l, pos, err)
	}
}

func TestWaitEndsWithContextAndEnd(t *testing.T) {
	h := New[string](0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, err := h.Wait(ctx, 0, func(string) bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on an empty history: %v, want the deadline", err)
	}
	stopped := errors.New("stopped")
	h.Append("x")
	h.End(stopped, false)
	if l, _, err := h.Wait(context.Background(), 0, func(string) bool { return true }); l != "x" || err != nil {
		t.Fatalf("an ended history still gives its lines: %q %v", l, err)
	}
	if _, _, err := h.Wait(context.Background(), 1, func(string) bool { return true }); !errors.Is(err, stopped) {
		t.Fatalf("Wait past the end: %v, want %v", err, stopped)
	}
	h.Resume()
	if h.Ended() != nil {
		t.Fatal("Resume left the history ended")
	}
	h.End(stopped, true)
	h.Resume()
	if h.Ended() == nil {
		t.Fatal("Resume undid a final End")
	}
}

func TestKeepDropsOldLines(t *testing.T) {
	h := New[int](8)
	for i := range 20 {
		h.Append(i)
	}
	if h.Mark() != 20 || h.Base() == 0 {
		t.Fatalf("mark %d base %d", h.Mark(), h.Base())
	}
	if s := h.Since(0); s[0] != h.Base() || s[len(s)-1] != 19 {
		t.Fatalf("Since(0) = %v", s)
	}
	if r := h.Range(17, 19); len(r) != 2 || r[0] != 17 {
		t.Fatalf("Range = %v", r)
	}
	if tl := h.Tail(3); len(tl) != 3 || tl[2] != 19 {
		t.Fatalf("Tail = %v", tl)
	}
}

func TestSplitter(t *testing.T) {
	var s Splitter
	var got []string
	add := func(l string) { got = append(got, l) }
	s.Write([]byte("one\r\ntw"), add)
	s.Write([]byte("o\nthree"), add)
	s.Flush(add)
	if len(got) != 3 || got[0] != "one" || got[1] != "two" || got[2] != "three" {
		t.Fatalf("lines %q", got)
	}
}
