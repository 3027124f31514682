package board

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/backtrace/backtracetest"
	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/internal/syncio"
)

// A crash's backtrace lands decoded in the serial log when the board's image is known: a host
// ELF stands in for the firmware's, one of its functions for the crash site.
func TestCrashBacktraceDecoded(t *testing.T) {
	elf, pc := backtracetest.HostELF(t)
	sb := ourBoard(t, "irohconf-normal.log")
	var log syncio.Buffer
	b := openBoard(t, serialProfile(t, sb.Path, "irohconf", "console", "flash: {elf: "+elf+"}\n"), &log)
	ctx := within(t, 30*time.Second)
	if _, err := b.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	go sb.SendLines([]byte(fmt.Sprintf("abort() was called at PC 0x%08x on core 0\n\nBacktrace: 0x%08x:0x3fcb2f70 0x%08x:0x3fcb2f90\n", pc, pc, pc)))
	if _, err := b.Expect(ctx, boardlines.Accepted); err == nil {
		t.Fatal("the crash was not reported")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), backtracetest.CrashFunction) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log.String(), fmt.Sprintf("%x: %s at ", pc, backtracetest.CrashFunction)) {
		t.Errorf("the serial log has no decoded frame:\n%s", log.String())
	}

	// Without the image the raw line stays, and the log says what is missing.
	sb2 := ourBoard(t, "irohconf-normal.log")
	var log2 syncio.Buffer
	b2 := openBoard(t, serialProfile(t, sb2.Path, "irohconf", "console", ""), &log2)
	if _, err := b2.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	go sb2.SendLines([]byte("Backtrace: 0x40375a3e:0x3fcb2f70\n"))
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(log2.String(), "backtrace not decoded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log2.String(), "| Backtrace: 0x40375a3e:0x3fcb2f70") || !strings.Contains(log2.String(), "no firmware ELF was given") {
		t.Errorf("without an ELF:\n%s", log2.String())
	}
}
