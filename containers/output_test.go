package containers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/peercontract"
)

// The output of a peer: lines of both streams in arrival order, a ready line found on stdout
// only, and the lines a cut log stream missed taken from the engine's full log.
func TestOutputLinesAndWaits(t *testing.T) {
	var sink strings.Builder
	o := newOutput("peer", &sink)
	o.write(Stderr, []byte(`{"event":"ready","endpoint_id":"aa","ticket":"t","addrs":["a"],"version":"v"}`+"\n"))
	o.write(Stdout, []byte("starting\r\n{\"event\":\"ready\",\"endpoint_id\":\"ab\",\"ticket\":\"t\","))
	o.write(Stdout, []byte("\"addrs\":[\"127.0.0.1:1\"],\"version\":\"v\"}\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, next, err := peercontract.WaitReady(ctx, stdoutOf(o), 0)
	if err != nil || r.EndpointID != "ab" || next != 3 {
		t.Fatalf("ready %+v at %d: %v; want the stdout line", r, next, err)
	}
	if !strings.Contains(sink.String(), "peer stdout: starting\n") {
		t.Errorf("the sink got %q", sink.String())
	}
	// The live stream delivered half a line; the full log has it and one more.
	o.write(Stdout, []byte("half"))
	o.completeFrom(Stdout, []byte("starting\nready-line\nhalf a line\nlast"))
	o.end()
	var got []string
	for _, l := range o.snapshot() {
		if l.Stream == Stdout {
			got = append(got, l.Text)
		}
	}
	if strings.Join(got, "|") != `starting|{"event":"ready","endpoint_id":"ab","ticket":"t","addrs":["127.0.0.1:1"],"version":"v"}|half a line|last` {
		t.Errorf("stdout lines %q", got)
	}
	if _, _, err := o.waitFor(ctx, next, func(l LogLine) bool { return l.Text == "never" }); !errors.Is(err, errOutputEnded) {
		t.Errorf("a wait on an ended output: %v, want %v", err, errOutputEnded)
	}
}
