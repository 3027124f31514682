package console

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Line is one line of console output.
type Line struct {
	Seq  int       // position since the console was created, from 0
	Time time.Time // when its end arrived
	// Raw is the line as received, made printable: no line ending, NUL bytes dropped, invalid
	// UTF-8 and control bytes other than tab and ESC written as \xNN.
	Raw string
	// Text is Raw without ANSI escapes and without the ESP-IDF log prefix ("I (123) tag: "):
	// what patterns are matched against.
	Text string
	// Level, BootMillis and Tag come from the ESP-IDF prefix; Level is 0 and BootMillis -1 when
	// the line has none (ROM bootloader lines, panic handler output).
	Level      byte
	BootMillis int64
	Tag        string
	// Garbage notes what was wrong with the bytes (invalid UTF-8, NULs, cut for length).
	Garbage string
	// Crash is set when the line shows a crash or a crash reset.
	Crash CrashKind
}

func (l Line) String() string { return l.Raw }

var (
	ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]`)
	// "I (123) tag: message" and the system-time variant "I (12:34:56.789) tag: message".
	// Rust targets contain "::" and the WiFi blob's tags look like "wifi:wifi driver task", so
	// the tag ends at the first ": " (or a final ":").
	idfPrefix = regexp.MustCompile(`^([EWIDV]) \(([0-9:.]+)\) (.+?)(?:: (.*)|:)$`)
)

// newLine builds a Line from the bytes between two line ends.
func newLine(seq int, at time.Time, b []byte, cut bool) Line {
	raw, garbage := printable(b)
	if cut {
		garbage = joinNote(garbage, fmt.Sprintf("line longer than %d bytes, cut; it continues on the next line", len(b)))
	}
	l := Line{Seq: seq, Time: at, Raw: raw, BootMillis: -1, Garbage: garbage}
	text := ansiEscape.ReplaceAllString(raw, "")
	if m := idfPrefix.FindStringSubmatch(text); m != nil {
		l.Level = m[1][0]
		if ms, err := strconv.ParseInt(m[2], 10, 64); err == nil {
			l.BootMillis = ms
		}
		l.Tag = m[3]
		text = m[4]
	}
	l.Text = text
	l.Crash = classifyCrash(text)
	return l
}

// printable turns received bytes into a loggable string and says what was not text.
func printable(b []byte) (string, string) {
	var sb strings.Builder
	sb.Grow(len(b))
	var nuls, invalid, controls int
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
			invalid++
		case r == 0:
			nuls++
		case r == '\r':
			// A carriage return inside a line only moves a terminal's cursor; drop it.
		case r < 0x20 && r != '\t' && r != 0x1b, r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, r)
			controls++
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	var notes string
	if invalid > 0 {
		notes = joinNote(notes, fmt.Sprintf("%d byte(s) not UTF-8, shown as \\xNN", invalid))
	}
	if nuls > 0 {
		notes = joinNote(notes, fmt.Sprintf("%d NUL byte(s) dropped", nuls))
	}
	if controls > 0 {
		notes = joinNote(notes, fmt.Sprintf("%d control byte(s) shown as \\xNN", controls))
	}
	return sb.String(), notes
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
