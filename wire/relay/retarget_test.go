package relay_test

import (
	"net/netip"
	"testing"

	"github.com/irohconf/irohconf/wire/relay"
)

// A server that moves: after Retarget the same client reaches the new server through the same
// relay address, the old one hears nothing more, and the records keep the first server's address.
func TestRetarget(t *testing.T) {
	first, moved := newUDPServer(t), newUDPServer(t)
	r := startRelay(t, relay.Config{Target: first.addr()})
	c := udpClient(t, r.Addr())
	if reply, ok := exchange(t, c, "before", testTimeout); !ok || reply != "re:before" {
		t.Fatalf("before the move: %q %v", reply, ok)
	}
	if err := r.Retarget(moved.addr()); err != nil {
		t.Fatal(err)
	}
	if r.Target() != moved.addr() {
		t.Errorf("Target() = %s, want %s", r.Target(), moved.addr())
	}
	if reply, ok := exchange(t, c, "after", testTimeout); !ok || reply != "re:after" {
		t.Fatalf("after the move: %q %v", reply, ok)
	}
	if got := first.received(); len(got) != 1 {
		t.Errorf("the first server got %d datagrams, want 1", len(got))
	}
	if got := moved.received(); len(got) != 1 || string(got[0].data) != "after" {
		t.Errorf("the moved server got %v", got)
	}
	for _, rec := range r.Records() {
		if rec.Src != first.addr() && rec.Dst != first.addr() {
			t.Errorf("record %s does not name the first server %s", rec, first.addr())
		}
	}
	if err := r.Retarget(netip.MustParseAddrPort("[::1]:4000")); err == nil {
		t.Error("a move to another address family was accepted")
	}
}
