package reset

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"D0|R1|W0.1|D1|R0|W0.05|D0",
		"U1,1|U0,1|W0.1|U1,0|W0.05|U0,0",
		"R1|W0.2|R0|W0.2",
		"W0",
	} {
		seq, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := seq.String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
}

func TestParseSteps(t *testing.T) {
	seq, err := Parse(" D1 | R0|U0,1|W0.25 ")
	if err != nil {
		t.Fatal(err)
	}
	want := Sequence{
		{Op: SetDTR, DTR: true},
		{Op: SetRTS, RTS: false},
		{Op: SetBoth, DTR: false, RTS: true},
		{Op: Wait, Wait: 250 * time.Millisecond},
	}
	if len(seq) != len(want) {
		t.Fatalf("got %d steps, want %d", len(seq), len(want))
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i+1, seq[i], want[i])
		}
	}
	if d := seq.Duration(); d != 250*time.Millisecond {
		t.Errorf("Duration = %v", d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"D0||R1", `step 2 "": empty step`},
		{"D2", `step 1 "D2": want 0 or 1 after D`},
		{"Dtrue", `want 0 or 1 after D`},
		{"R", `want 0 or 1 after R`},
		{"U1", `want U<dtr>,<rts>`},
		{"U1,2", `want U<dtr>,<rts>`},
		{"W", `want seconds after W`},
		{"Wabc", `want seconds after W`},
		{"W-1", `wait must be between 0 and 10s`},
		{"W100", `wait must be between 0 and 10s`},
		{"D0|X1", `step 2 "X1": unknown operation "X"`},
		{"d0", `unknown operation "d"`},
	} {
		_, err := Parse(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error %q does not say %q", tc.in, err, tc.want)
		}
	}
}

func TestNamedSequencesMatchEsptool(t *testing.T) {
	// esptool's documented equivalents (docs: custom_reset_sequence).
	if got := ClassicBootloader.String(); got != "D0|R1|W0.1|D1|R0|W0.05|D0" {
		t.Errorf("ClassicBootloader = %s", got)
	}
	if !Classic.UsesLines() || Classic.Duration() != 100*time.Millisecond {
		t.Errorf("Classic = %s: want RTS held 100 ms", Classic)
	}
	if USBJTAG.Duration() != 400*time.Millisecond {
		t.Errorf("USBJTAG = %s: want 200 ms hold + 200 ms settle", USBJTAG)
	}
	if MustParse("W0.1").UsesLines() {
		t.Error("a wait-only sequence does not use the lines")
	}
}

// recorder records the line changes a sequence makes.
type recorder struct {
	ops  []string
	fail string // fail on this operation
}

func (r *recorder) SetDTR(v bool) error { return r.op("D" + level(v)) }
func (r *recorder) SetRTS(v bool) error { return r.op("R" + level(v)) }
func (r *recorder) op(s string) error {
	r.ops = append(r.ops, s)
	if s == r.fail {
		return errors.New("inappropriate ioctl for device")
	}
	return nil
}

type bothRecorder struct{ recorder }

func (r *bothRecorder) SetDTRAndRTS(d, rts bool) error {
	return r.op("U" + level(d) + "," + level(rts))
}

func TestRun(t *testing.T) {
	var r recorder
	if err := Run(context.Background(), &r, MustParse("D0|R1|W0.01|U1,0|R0")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.ops, " "); got != "D0 R1 D1 R0 R0" {
		t.Errorf("ops = %s", got)
	}
	var br bothRecorder
	if err := Run(context.Background(), &br, MustParse("U1,0|D0")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(br.ops, " "); got != "U1,0 D0" {
		t.Errorf("atomic ops = %s", got)
	}
}

func TestRunReportsFailingStep(t *testing.T) {
	r := recorder{fail: "R1"}
	err := Run(context.Background(), &r, MustParse("D0|R1|W0.1|R0"))
	var se *StepError
	if !errors.As(err, &se) || se.Index != 2 {
		t.Fatalf("err = %v, want a StepError at step 2", err)
	}
	if len(r.ops) != 2 {
		t.Errorf("the sequence went on after the failing step: %v", r.ops)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var r recorder
	err := Run(ctx, &r, MustParse("R1|W5|R0"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if strings.Join(r.ops, " ") != "R1" {
		t.Errorf("ops = %v", r.ops)
	}
}
