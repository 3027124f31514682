package console

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// CrashKind names what went wrong on the board.
type CrashKind string

const (
	Panic          CrashKind = "panic"           // a Rust panic ("panicked at")
	Abort          CrashKind = "abort"           // "abort() was called"
	GuruMeditation CrashKind = "guru meditation" // a CPU exception caught by the ESP-IDF panic handler
	Brownout       CrashKind = "brownout"        // the supply voltage dropped
	Watchdog       CrashKind = "watchdog"        // task, interrupt or RTC watchdog
	AssertFailed   CrashKind = "assert"          // an ESP-IDF/newlib assertion
	HeapCorruption CrashKind = "heap corruption"
	StackOverflow  CrashKind = "stack overflow"
)

// ErrCrash matches every *CrashError with errors.Is.
var ErrCrash = errors.New("board crashed")

type crashPattern struct {
	re   *regexp.Regexp
	kind func(m []string) CrashKind
}

func fixed(k CrashKind) func([]string) CrashKind { return func([]string) CrashKind { return k } }

var crashPatterns = []crashPattern{
	{regexp.MustCompile(`Guru Meditation Error`), fixed(GuruMeditation)},
	{regexp.MustCompile(`abort\(\) was called`), fixed(Abort)},
	{regexp.MustCompile(`panicked at`), fixed(Panic)},
	{regexp.MustCompile(`Brownout detector was triggered`), fixed(Brownout)},
	{regexp.MustCompile(`Task watchdog got triggered`), fixed(Watchdog)},
	{regexp.MustCompile(`Interrupt wdt timeout`), fixed(Watchdog)},
	{regexp.MustCompile(`assert failed:|Assertion .* failed`), fixed(AssertFailed)},
	{regexp.MustCompile(`CORRUPT HEAP`), fixed(HeapCorruption)},
	{regexp.MustCompile(`Stack smashing protect failure|stack overflow in task`), fixed(StackOverflow)},
	// The ROM's reset line: "rst:0x8 (TG1WDT_SYS_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)".
	// POWERON, SW_CPU, USB_UART and RTCWDT_RTC (seen on ordinary ESP32 power-ups) are not crashes.
	{regexp.MustCompile(`rst:0x[0-9a-fA-F]+ \(([A-Z0-9_]+)\)`), func(m []string) CrashKind {
		switch name := m[1]; {
		case strings.Contains(name, "BROWN_OUT"):
			return Brownout
		case strings.Contains(name, "WDT") && !strings.HasPrefix(name, "RTCWDT_RTC"):
			return Watchdog
		}
		return ""
	}},
	// Our firmware's banner names the reset reason ESP-IDF reports for this boot.
	{regexp.MustCompile(`irohconf-fw \S+ boot \d+ \(reset reason: (\w+)\)`), func(m []string) CrashKind {
		switch m[1] {
		case "panic":
			return Panic
		case "int_wdt", "task_wdt", "wdt":
			return Watchdog
		case "brownout":
			return Brownout
		}
		return ""
	}},
}

// IsCrash tells whether a line shows a crash (and which): what the console reports for the lines
// it reads.
func IsCrash(text string) (CrashKind, bool) {
	k := classifyCrash(text)
	return k, k != ""
}

func classifyCrash(text string) CrashKind {
	for _, p := range crashPatterns {
		if m := p.re.FindStringSubmatch(text); m != nil {
			if k := p.kind(m); k != "" {
				return k
			}
		}
	}
	return ""
}

// CrashError is returned by an Expect that saw the board crash. It quotes the log around the
// crash line.
type CrashError struct {
	Kind   CrashKind
	Line   Line
	Before []Line
	After  []Line
}

func (e *CrashError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "board crashed (%s) at console line %d: %s", e.Kind, e.Line.Seq+1, e.Line.Text)
	sb.WriteString("\n--- console around the crash ---")
	for _, l := range e.Before {
		sb.WriteString("\n  " + l.Raw)
	}
	sb.WriteString("\n> " + e.Line.Raw)
	for _, l := range e.After {
		sb.WriteString("\n  " + l.Raw)
	}
	return sb.String()
}

// Is makes errors.Is(err, ErrCrash) true for every crash.
func (e *CrashError) Is(target error) bool { return target == ErrCrash }
