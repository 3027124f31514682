package board

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/console"
	"github.com/irohconf/irohconf/internal/syncio"
)

// A heap budget too small for the board to start is a detected crash (the abort line ESP-IDF
// prints, however it reaches the driver), reported at once, not a hang until the boot timeout.
func TestVirtualBoardOutOfHeapIsACrash(t *testing.T) {
	p := requireVirtualBoard(t, "memory: {internal_heap: 24576, psram: 0, main_stack: 49152, source: a budget too small on purpose}\n")
	var log syncio.Buffer
	b, err := Open(within(t, 20*time.Second), p, &log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = b.Boot(within(t, 60*time.Second))
	var ce *console.CrashError
	if !errors.As(err, &ce) || ce.Kind != console.Abort || !strings.Contains(ce.Line.Text, "heap exhausted") {
		t.Fatalf("Boot: %v, want an abort for heap exhaustion\nserial log:\n%s", err, log.String())
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("the crash was reported after %v (boot timeout 30s)", waited)
	}
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "aborted") {
		t.Errorf("Close of the aborted board: %v", err)
	}
}
