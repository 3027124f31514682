package syncio

import (
	"strings"
	"sync"
	"testing"
)

func TestWriterSerializesAndSwitches(t *testing.T) {
	var a, b Buffer
	w := NewWriter(&a)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); w.Write([]byte("line\n")) }()
	}
	wg.Wait()
	if got := strings.Count(a.String(), "line\n"); got != 50 {
		t.Fatalf("%d whole lines, want 50", got)
	}
	w.Set(&b)
	w.Write([]byte("x"))
	w.Set(nil)
	if n, err := w.Write([]byte("dropped")); n != 7 || err != nil {
		t.Fatalf("a Writer without a target must discard: %d, %v", n, err)
	}
	if a.String() != strings.Repeat("line\n", 50) || b.String() != "x" {
		t.Fatalf("a=%q b=%q", a.String(), b.String())
	}
}
