package cases

import (
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/wire/faults"
)

// The bound follows its formula: the terms a profile switches on, and the window-limited
// transfer over the delayed path.
func TestNetBound(t *testing.T) {
	parse := func(name string) faults.Profile {
		p, err := faults.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// 256 KiB: 16 windows of 16 KiB each way, and slow start from 12,000 bytes to 256 KiB
	// (⌈log2 21.8⌉ = 5 doublings) each way.
	const rounds = 32 + 10
	none := netBound(parse("none"), esp32Window, esp32Window)
	if none.Loss != 0 || none.Stall != 0 || none.Handshake != 2*hostRTT || none.total() != netSetup+2*hostRTT+rounds*hostRTT {
		t.Errorf("none: %s", none)
	}
	delay := netBound(parse("delay"), esp32Window, esp32Window)
	rtt := 2*110*time.Millisecond + hostRTT
	if delay.Transfer != rounds*rtt || delay.Handshake != 2*rtt {
		t.Errorf("delay with 16 KiB windows: %s, want transfer %d RTT of %s", delay, rounds, rtt)
	}
	if wide := netBound(parse("delay"), defaultWindow, 1250000); wide.Transfer >= delay.Transfer {
		t.Errorf("wider windows do not shorten the transfer: %s", wide)
	}
	for name, term := range map[string]func(bound) time.Duration{
		"loss": func(b bound) time.Duration { return b.Loss }, "burst-loss": func(b bound) time.Duration { return b.Loss },
		"corrupt": func(b bound) time.Duration { return b.Loss }, "blackhole": func(b bound) time.Duration { return b.Stall },
		"rebind-port":    func(b bound) time.Duration { return b.Stall },
		"handshake-loss": func(b bound) time.Duration { return b.Handshake - 2*hostRTT },
	} {
		b := netBound(parse(name), esp32Window, esp32Window)
		if term(b) <= 0 {
			t.Errorf("%s: its term is zero: %s", name, b)
		}
		if !strings.Contains(b.String(), "RTT") {
			t.Errorf("%s: the bound does not explain itself: %s", name, b)
		}
	}
	if b := netBound(parse("blackhole"), esp32Window, esp32Window); b.Stall < 6*time.Second {
		t.Errorf("blackhole of 3 s: stall %s, want at least twice the hole", b.Stall)
	}
	// Every scenario's cell timeout leaves the client's own timeout room to report.
	for _, k := range NetScenarios() {
		if k.Timeout < netSetup+netGrace || k.Profile == "" || !strings.HasPrefix(k.Name, "net-") {
			t.Errorf("%s: timeout %s, profile %q", k.Name, k.Timeout, k.Profile)
		}
	}
}
