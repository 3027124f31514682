package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/irohconf/irohconf/internal/syncio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// feedConsole attaches a pipe and returns its writing end.
func feedConsole(t *testing.T, cfg Config) (*Console, *io.PipeWriter) {
	t.Helper()
	c := New(cfg)
	r, w := io.Pipe()
	if err := c.Attach(r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); c.Close() })
	return c, w
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func bootLog(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "boot-logs", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func TestLineParsing(t *testing.T) {
	for _, tc := range []struct {
		raw, text, tag string
		level          byte
		ms             int64
	}{
		{"\x1b[0;32mI (3873) irohconf_fw:   Endpoint ID: abc\x1b[0m", "  Endpoint ID: abc", "irohconf_fw", 'I', 3873},
		{"W (12) irohconf_fw::wifi: retry: 2", "retry: 2", "irohconf_fw::wifi", 'W', 12},
		{"I (320) wifi:wifi driver task: 3fcb0e2c, prio:23", "3fcb0e2c, prio:23", "wifi:wifi driver task", 'I', 320},
		{"E (10:01:02.123) tag: clock", "clock", "tag", 'E', -1},
		{"rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)", "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)", "", 0, -1},
		{"STATUS {\"a\":1}", "STATUS {\"a\":1}", "", 0, -1},
		{"I (5) tag:", "", "tag", 'I', 5},
	} {
		l := newLine(0, time.Time{}, []byte(tc.raw), false)
		if l.Text != tc.text || l.Tag != tc.tag || l.Level != tc.level || l.BootMillis != tc.ms {
			t.Errorf("%q: got text %q tag %q level %q ms %d", tc.raw, l.Text, l.Tag, l.Level, l.BootMillis)
		}
	}
}

func TestCrashClassification(t *testing.T) {
	for text, want := range map[string]CrashKind{
		"thread 'main' panicked at src/net.rs:88:14:":                                        Panic,
		"abort() was called at PC 0x4207a1c3 on core 0":                                      Abort,
		"Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.": GuruMeditation,
		"Brownout detector was triggered":                                                    Brownout,
		"Task watchdog got triggered. The following tasks did not reset":                     Watchdog,
		"rst:0x8 (TG1WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)":                         Watchdog,
		"rst:0x7 (TG0WDT_SYS_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)":                            Watchdog,
		"rst:0xf (RTCWDT_BROWN_OUT_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)":                   Brownout,
		"assert failed: xQueueSemaphoreTake queue.c:1653 (pxQueue->uxItemSize == 0)":         AssertFailed,
		"CORRUPT HEAP: Bad head at 0x3fc9b2c0":                                               HeapCorruption,
		"***ERROR*** A stack overflow in task main has been detected.":                       StackOverflow,
		"irohconf-fw 0.1.0 boot 4 (reset reason: panic)":                                     Panic,
		"irohconf-fw 0.1.0 boot 4 (reset reason: task_wdt)":                                  Watchdog,
		"irohconf-fw 0.1.0 boot 4 (reset reason: brownout)":                                  Brownout,
		// Ordinary boots.
		"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)":       "",
		"rst:0x10 (RTCWDT_RTC_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)":   "",
		"rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)":        "",
		"rst:0x15 (USB_UART_CHIP_RESET),boot:0x8 (SPI_FAST_FLASH_BOOT)": "",
		"irohconf-fw 0.1.0 boot 2 (reset reason: software)":             "",
		"irohconf-fw 0.1.0 boot 1 (reset reason: poweron)":              "",
		"Restarting...": "",
	} {
		if got := classifyCrash(text); got != want {
			t.Errorf("%q: crash %q, want %q", text, got, want)
		}
	}
}

func TestExpectReturnsSubmatchesAndBefore(t *testing.T) {
	var log syncio.Buffer
	c, w := feedConsole(t, Config{Log: &log})
	go w.Write(bootLog(t, "irohconf-normal.log"))
	ctx := within(t, 5*time.Second)

	m, err := c.Expect(ctx, regexp.MustCompile(`irohconf-fw (\S+) boot (\d+)`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Submatches[1] != "0.1.0" || m.Submatches[2] != "1" {
		t.Errorf("submatches %q", m.Submatches)
	}
	if !strings.Contains(m.BeforeText(), "ESP-IDF v5.3.3 2nd stage bootloader") || !strings.HasPrefix(m.Before[0].Text, "ESP-ROM:") {
		t.Errorf("text before the banner lacks the boot log:\n%s", m.BeforeText())
	}
	id, err := c.Expect(ctx, regexp.MustCompile(`Endpoint ID:\s+([0-9a-f]{64})`))
	if err != nil {
		t.Fatal(err)
	}
	if id.Line.Seq <= m.Line.Seq || strings.Contains(id.BeforeText(), "irohconf-fw") {
		t.Error("the second Expect looked at lines the first had consumed")
	}
	if _, err := c.Expect(ctx, regexp.MustCompile(`Router started`)); err != nil {
		t.Fatal(err)
	}
	// A pattern that was already consumed does not match again.
	short := within(t, 200*time.Millisecond)
	_, err = c.Expect(short, regexp.MustCompile(`Endpoint ID`))
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if len(te.Tail) == 0 || !strings.Contains(err.Error(), "Router started") {
		t.Errorf("timeout error does not quote the last lines: %v", err)
	}

	// Every line is in the log with a timestamp.
	logged := log.String()
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \| .*Router started, accepting connections`).MatchString(logged) {
		t.Errorf("log lacks timestamped lines:\n%s", logged)
	}
	if got, want := strings.Count(logged, " | "), bytes.Count(bootLog(t, "irohconf-normal.log"), []byte("\n")); got != want {
		t.Errorf("log has %d lines, the boot log %d", got, want)
	}
}

func TestExpectDefaultTimeout(t *testing.T) {
	c, _ := feedConsole(t, Config{DefaultTimeout: 100 * time.Millisecond})
	_, err := c.Expect(context.Background(), regexp.MustCompile(`never`))
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "nothing was received") {
		t.Fatalf("err = %v", err)
	}
}

func TestExpectFailsOnCrashWithContext(t *testing.T) {
	for _, tc := range []struct {
		log    string
		kind   CrashKind
		before string
		after  string
	}{
		{"panic.log", Panic, "WiFi started", "abort() was called"},
		{"brownout.log", Brownout, "Connecting to WiFi", "rst:0xf (RTCWDT_BROWN_OUT_RST)"},
		{"watchdog.log", Watchdog, "WiFi connected", "IDLE0 (CPU 0)"},
	} {
		t.Run(tc.log, func(t *testing.T) {
			c, w := feedConsole(t, Config{})
			go w.Write(bootLog(t, tc.log))
			ctx := within(t, 10*time.Second)
			start := time.Now()
			_, err := c.Expect(ctx, regexp.MustCompile(`Router started`))
			var ce *CrashError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCrash) {
				t.Fatalf("err = %v, want a CrashError", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("the crash was reported after %v, not at once", time.Since(start))
			}
			if ce.Kind != tc.kind {
				t.Errorf("kind %q, want %q", ce.Kind, tc.kind)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.before) || !strings.Contains(msg, tc.after) {
				t.Errorf("error does not quote the log around the crash (%q before, %q after):\n%s", tc.before, tc.after, msg)
			}
			if len(ce.Before) == 0 || len(ce.After) == 0 {
				t.Errorf("context: %d before, %d after", len(ce.Before), len(ce.After))
			}
		})
	}
}

func TestGarbageIsKeptNotFatal(t *testing.T) {
	var log syncio.Buffer
	c, w := feedConsole(t, Config{Log: &log})
	go w.Write(bootLog(t, "garbage.log"))
	ctx := within(t, 5*time.Second)
	m, err := c.Expect(ctx, regexp.MustCompile(`Router started`))
	if err != nil {
		t.Fatal(err)
	}
	first := c.Lines(0)
	if !strings.Contains(first[0].Raw, `\xe0`) || !strings.Contains(first[0].Garbage, "not UTF-8") || !strings.Contains(first[0].Garbage, "NUL") {
		t.Errorf("first line %q, notes %q", first[0].Raw, first[0].Garbage)
	}
	var cut int
	for _, l := range m.Before {
		if strings.Contains(l.Garbage, "cut") {
			cut++
			if len(l.Raw) > DefaultMaxLineBytes+16 { // + the escapes of its control bytes
				t.Errorf("a cut line is %d bytes", len(l.Raw))
			}
		}
	}
	if cut != 1 {
		t.Errorf("%d lines cut, want 1 (the 5000-byte line)", cut)
	}
	if !strings.Contains(log.String(), "# console: line above: ") {
		t.Error("the garbage is not noted in the log")
	}
}

func TestEndedAndClosed(t *testing.T) {
	c, w := feedConsole(t, Config{})
	w.Write([]byte("hello\r\npartial"))
	w.CloseWithError(errors.New("input/output error"))
	_, err := c.Expect(within(t, 5*time.Second), regexp.MustCompile(`never`))
	var ee *EndedError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("err = %v, want an EndedError", err)
	}
	if lines := c.Lines(0); len(lines) != 2 || lines[1].Text != "partial" {
		t.Errorf("lines %v: the unfinished line was lost", lines)
	}
	c.Close()
	if _, err := c.Expect(within(t, time.Second), regexp.MustCompile(`x`)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestDetachIsNotAnEnd(t *testing.T) {
	c, w := feedConsole(t, Config{})
	w.Write([]byte("one\n"))
	if _, err := c.Expect(within(t, time.Second), regexp.MustCompile(`one`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Detach(); err != nil {
		t.Fatal(err)
	}
	r2, w2 := io.Pipe()
	defer w2.Close()
	if err := c.Attach(r2); err != nil {
		t.Fatal(err)
	}
	go w2.Write([]byte("two\n"))
	if _, err := c.Expect(within(t, 5*time.Second), regexp.MustCompile(`two`)); err != nil {
		t.Fatalf("after reattach: %v", err)
	}
}

func TestDiscardReportsUnseenCrash(t *testing.T) {
	c, w := feedConsole(t, Config{})
	w.Write([]byte("a\r\nGuru Meditation Error: Core  0 panic'ed (StoreProhibited)\r\nb\r\n"))
	waitLines(t, c, 3)
	crash := c.Discard()
	if crash == nil || crash.Kind != GuruMeditation {
		t.Fatalf("Discard = %v", crash)
	}
	if crash := c.Discard(); crash != nil {
		t.Errorf("second Discard = %v", crash)
	}
	if got := c.Crashes(0); len(got) != 1 {
		t.Errorf("Crashes = %v", got)
	}
	go w.Write([]byte("c\r\n"))
	m, err := c.Expect(within(t, time.Second), regexp.MustCompile(`.`))
	if err != nil || m.Line.Text != "c" {
		t.Errorf("after Discard: %v %v", m, err)
	}
}

func waitLines(t *testing.T, c *Console, n int) {
	deadline := time.Now().Add(5 * time.Second)
	for c.Mark() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d lines arrived", c.Mark())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestBrokenLogDoesNotStopReading(t *testing.T) {
	c, w := feedConsole(t, Config{Log: failingWriter{}})
	go w.Write([]byte("x\r\ny\r\n"))
	if _, err := c.Expect(within(t, 5*time.Second), regexp.MustCompile(`y`)); err != nil {
		t.Fatal(err)
	}
	if err := c.LogError(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("LogError = %v", err)
	}
}

func TestExpectAnySaysWhich(t *testing.T) {
	c, w := feedConsole(t, Config{})
	go w.Write([]byte("unknown command: foo (try help)\r\n"))
	i, m, err := c.ExpectAny(within(t, time.Second), regexp.MustCompile(`^STATUS`), regexp.MustCompile(`^unknown command: (\S+)`))
	if err != nil || i != 1 || m.Submatches[1] != "foo" {
		t.Errorf("ExpectAny = %d %v %v", i, m, err)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	c, w := feedConsole(t, Config{KeepLines: 100})
	go func() {
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(w, "line %d\r\n", i)
		}
	}()
	if _, err := c.Expect(within(t, 5*time.Second), regexp.MustCompile(`^line 999$`)); err != nil {
		t.Fatal(err)
	}
	lines := c.Lines(0)
	if len(lines) > 125 || lines[len(lines)-1].Seq != 999 {
		t.Errorf("kept %d lines, last %d", len(lines), lines[len(lines)-1].Seq)
	}
}

// BenchmarkConsole measures lines through the reader, parser and Expect (a normal boot log).
func BenchmarkConsole(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "boot-logs", "irohconf-normal.log"))
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	lines := bytes.Count(data, []byte("\n"))
	done := regexp.MustCompile(`Router started`)
	c := New(Config{Log: io.Discard})
	r, w := io.Pipe()
	c.Attach(r)
	defer c.Close()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		go w.Write(data)
		if _, err := c.Expect(context.Background(), done); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// A line that did not come over the port (the virtual board's stderr as it aborts) is matched
// and reported like one that did: the wait fails with the crash at once.
func TestAppendedCrashLine(t *testing.T) {
	var log bytes.Buffer
	c, _ := feedConsole(t, Config{Log: &log})
	if k, ok := IsCrash("abort() was called on core 0: heap exhausted (230902 of 233984 bytes in use)"); !ok || k != Abort {
		t.Errorf("IsCrash: %q %v", k, ok)
	}
	if _, ok := IsCrash("Copied over 13 byte(s)"); ok {
		t.Error("an echo line is a crash")
	}
	go c.AppendLine("stderr: abort() was called on core 0: heap exhausted (230902 of 233984 bytes in use)")
	_, err := c.Expect(within(t, 5*time.Second), regexp.MustCompile(`Router started`))
	var ce *CrashError
	if !errors.As(err, &ce) || ce.Kind != Abort || !strings.Contains(ce.Line.Text, "heap exhausted") {
		t.Fatalf("Expect: %v, want the appended abort", err)
	}
	if len(c.Crashes(0)) != 1 {
		t.Errorf("crashes %v", c.Crashes(0))
	}
}
