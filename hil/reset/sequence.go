// Package reset runs DTR/RTS reset sequences on a serial port, with the timings of esptool and
// espflash, and parses esptool's custom reset mini-language ("D0|R1|W0.1|R0").
//
// On Espressif boards RTS drives EN (chip enable) and DTR drives GPIO0 (boot strap), both active
// low through two transistors; "1" asserts a line, "0" releases it.
package reset

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Op is what one step of a sequence does.
type Op byte

const (
	SetDTR  Op = 'D' // D0 / D1
	SetRTS  Op = 'R' // R0 / R1
	SetBoth Op = 'U' // U<dtr>,<rts>, e.g. U0,1
	Wait    Op = 'W' // W<seconds>, e.g. W0.1
)

// Step is one operation of a reset sequence.
type Step struct {
	Op   Op
	DTR  bool          // for SetDTR and SetBoth
	RTS  bool          // for SetRTS and SetBoth
	Wait time.Duration // for Wait
}

// Sequence is an ordered list of steps.
type Sequence []Step

// MaxWait bounds one W step: a longer pause is almost certainly a typo (W100 instead of W0.1).
const MaxWait = 10 * time.Second

// The run-mode ("hard") resets used to restart the application so its boot log is seen.
var (
	// Classic restarts a board behind a USB-UART bridge (CP210x, CH340, FTDI): esptool's HardReset
	// (RTS held 100 ms), with DTR released first so the chip does not enter download mode.
	Classic = MustParse("D0|R1|W0.1|R0")
	// USBJTAG restarts a chip on its built-in USB-Serial-JTAG (VID 0x303A, PID 0x1001): esptool's
	// HardReset for USB (200 ms hold, 200 ms for the device to come back).
	USBJTAG = MustParse("D0|R1|W0.2|R0|W0.2")
)

// The download-mode sequences esptool tries before flashing; kept for reference and for profiles
// that name them as custom sequences.
var (
	ClassicBootloader   = MustParse("D0|R1|W0.1|D1|R0|W0.05|D0")
	UnixTightBootloader = MustParse("U0,0|U1,1|U0,1|W0.1|U1,0|W0.05|U0,0|D0")
	USBJTAGBootloader   = MustParse("R0|D0|W0.1|D1|R0|W0.1|R1|D0|R1|W0.1|D0|R0")
)

// SyntaxError describes what is wrong with a mini-language sequence.
type SyntaxError struct {
	Sequence string
	Token    string // the offending token
	Index    int    // 1-based position of the token; 0 when the whole sequence is wrong
	Reason   string
}

func (e *SyntaxError) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("reset sequence %q: %s", e.Sequence, e.Reason)
	}
	return fmt.Sprintf("reset sequence %q: step %d %q: %s (steps are D0/D1, R0/R1, U<dtr>,<rts> and W<seconds>, separated by |)",
		e.Sequence, e.Index, e.Token, e.Reason)
}

// Parse reads esptool's custom reset mini-language: steps separated by "|", each D<0|1> (DTR),
// R<0|1> (RTS), U<0|1>,<0|1> (DTR and RTS together) or W<seconds> (wait).
func Parse(s string) (Sequence, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &SyntaxError{Sequence: s, Reason: "empty"}
	}
	tokens := strings.Split(s, "|")
	seq := make(Sequence, 0, len(tokens))
	for i, raw := range tokens {
		tok := strings.TrimSpace(raw)
		fail := func(reason string) error {
			return &SyntaxError{Sequence: s, Token: tok, Index: i + 1, Reason: reason}
		}
		if tok == "" {
			return nil, fail("empty step")
		}
		arg := tok[1:]
		switch Op(tok[0]) {
		case SetDTR, SetRTS:
			level, ok := parseLevel(arg)
			if !ok {
				return nil, fail("want 0 or 1 after " + tok[:1])
			}
			if Op(tok[0]) == SetDTR {
				seq = append(seq, Step{Op: SetDTR, DTR: level})
			} else {
				seq = append(seq, Step{Op: SetRTS, RTS: level})
			}
		case SetBoth:
			dtrText, rtsText, found := strings.Cut(arg, ",")
			dtr, ok1 := parseLevel(dtrText)
			rts, ok2 := parseLevel(rtsText)
			if !found || !ok1 || !ok2 {
				return nil, fail("want U<dtr>,<rts> with 0 or 1 each, e.g. U0,1")
			}
			seq = append(seq, Step{Op: SetBoth, DTR: dtr, RTS: rts})
		case Wait:
			secs, err := strconv.ParseFloat(arg, 64)
			if err != nil {
				return nil, fail("want seconds after W, e.g. W0.1")
			}
			d := time.Duration(secs * float64(time.Second))
			if secs < 0 || d > MaxWait {
				return nil, fail(fmt.Sprintf("wait must be between 0 and %v", MaxWait))
			}
			seq = append(seq, Step{Op: Wait, Wait: d})
		default:
			return nil, fail(fmt.Sprintf("unknown operation %q", tok[:1]))
		}
	}
	return seq, nil
}

// MustParse is Parse for sequences written in the source.
func MustParse(s string) Sequence {
	seq, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return seq
}

func parseLevel(s string) (bool, bool) {
	switch s {
	case "0":
		return false, true
	case "1":
		return true, true
	}
	return false, false
}

// String writes the sequence back in the mini-language.
func (seq Sequence) String() string {
	parts := make([]string, len(seq))
	for i, st := range seq {
		parts[i] = st.String()
	}
	return strings.Join(parts, "|")
}

func (st Step) String() string {
	switch st.Op {
	case SetDTR:
		return "D" + level(st.DTR)
	case SetRTS:
		return "R" + level(st.RTS)
	case SetBoth:
		return "U" + level(st.DTR) + "," + level(st.RTS)
	case Wait:
		return "W" + strconv.FormatFloat(st.Wait.Seconds(), 'f', -1, 64)
	}
	return "?"
}

func level(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Duration is the sum of the sequence's waits.
func (seq Sequence) Duration() time.Duration {
	var total time.Duration
	for _, st := range seq {
		if st.Op == Wait {
			total += st.Wait
		}
	}
	return total
}

// UsesLines tells whether the sequence touches DTR or RTS (a sequence of waits only does not).
func (seq Sequence) UsesLines() bool {
	for _, st := range seq {
		if st.Op != Wait {
			return true
		}
	}
	return false
}
