package cases

import (
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

func clientStream(id uint64, first, last float64) *dissect.Stream {
	return &dissect.Stream{ID: id, Initiator: dissect.Client, Bidi: true, First: first, Last: last}
}

// Concurrent echoes must overlap on the wire; their time is the wall time from the first
// stream frame to the last, not the sum of the streams' times.
func TestConcurrentOnWire(t *testing.T) {
	overlapping := &dissect.Connection{MaxConcurrentStreams: 4, Streams: []*dissect.Stream{
		clientStream(0, 1.0, 1.4), clientStream(4, 1.0, 1.5), clientStream(8, 1.1, 1.5), clientStream(12, 1.1, 1.6),
	}}
	wall, err := concurrentOnWire(overlapping, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if d := wall - 600*time.Millisecond; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("wall time %v, want 600ms (the per-stream times sum to 1.8 s)", wall)
	}
	sequential := &dissect.Connection{MaxConcurrentStreams: 1, Streams: []*dissect.Stream{
		clientStream(0, 1.0, 1.1), clientStream(4, 1.2, 1.3), clientStream(8, 1.4, 1.5), clientStream(12, 1.6, 1.7),
	}}
	if _, err := concurrentOnWire(sequential, 4, 4); err == nil || !strings.Contains(err.Error(), "at most 1 streams overlapped") {
		t.Errorf("streams one after another passed as concurrent: %v", err)
	}
	if _, err := concurrentOnWire(overlapping, 4, 8); err == nil || !strings.Contains(err.Error(), "shows 4 streams") {
		t.Errorf("4 streams on the wire for 8 echoes passed: %v", err)
	}
}

func idleConn(clientTimeout, serverTimeout uint64, pings ...dissect.Event) *dissect.Connection {
	return &dissect.Connection{
		Start: 0.1,
		TransportParameters: map[dissect.Side]*dissect.TransportParameters{
			dissect.Client: {MaxIdleTimeout: &clientTimeout}, dissect.Server: {MaxIdleTimeout: &serverTimeout},
		},
		Streams: []*dissect.Stream{clientStream(0, 35.2, 35.3)},
		Pings:   pings,
	}
}

func everyPing(from, to, period float64, by dissect.Side) []dissect.Event {
	var out []dissect.Event
	for t := from; t <= to; t += period {
		out = append(out, dissect.Event{Time: t, By: by})
	}
	return out
}

// The idle case holds the connection longer than both idle timeouts, and keep-alive PINGs must
// cross the wire often enough; a connection whose idle time is within the timeouts cannot show
// keep-alives at all.
func TestIdleOnWire(t *testing.T) {
	if note, err := idleOnWire(idleConn(30000, 30000, everyPing(5, 35, 5, dissect.Client)...)); err != nil {
		t.Errorf("keep-alives every 5 s failed: %v", err)
	} else if !strings.Contains(note, "client 7, server 0") {
		t.Errorf("note %q", note)
	}
	if _, err := idleOnWire(idleConn(30000, 30000)); err == nil || !strings.Contains(err.Error(), "no PING") {
		t.Errorf("no PING passed: %v", err)
	}
	// One PING half-way: 17.5 s without any, less than 30 s but not less than a 15 s timeout.
	if _, err := idleOnWire(idleConn(15000, 30000, dissect.Event{Time: 17.5, By: dissect.Server})); err == nil || !strings.Contains(err.Error(), "without a PING") {
		t.Errorf("a gap longer than the client's idle timeout passed: %v", err)
	}
	// The old 12 s idle against 30 s timeouts shows nothing.
	short := idleConn(30000, 30000, everyPing(5, 10, 5, dissect.Client)...)
	short.Streams[0].First = 12.1
	if _, err := idleOnWire(short); err == nil || !isTestbed(err) || !strings.Contains(err.Error(), "not longer than the longer idle timeout") {
		t.Errorf("an idle time within the timeouts passed: %v", err)
	}
}

func isTestbed(err error) bool {
	outcome, _ := framework.Classify(err)
	return outcome == framework.Errored
}
