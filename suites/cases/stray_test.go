package cases

import (
	"testing"

	"github.com/irohconf/irohconf/wire/dissect"
)

// A packet tshark cannot decrypt is excused only as what follows a close (one per connection,
// after a CONNECTION_CLOSE, every handshake read); anything else leaves the wire unchecked.
func TestStrayAfterClose(t *testing.T) {
	conn := func(ee, closeAt int) *dissect.Connection {
		c := &dissect.Connection{Handshake: dissect.Handshake{ServerHelloFrame: 2, EncryptedExtensionsFrame: ee}}
		if closeAt > 0 {
			c.Closes = []dissect.Close{{Frame: closeAt, By: dissect.Client}}
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		frames []int
		conns  []*dissect.Connection
		want   bool
	}{
		{"after the close", []int{111}, []*dissect.Connection{conn(2, 108), conn(112, 130)}, true},
		{"before any close", []int{50}, []*dissect.Connection{conn(2, 108)}, false},
		{"more than one per connection", []int{110, 111}, []*dissect.Connection{conn(2, 108)}, false},
		{"no close at all", []int{111}, []*dissect.Connection{conn(2, 0)}, false},
		{"a handshake not read", []int{111}, []*dissect.Connection{conn(0, 108)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &dissect.Wire{Undecrypted: len(tc.frames), UndecryptedFrames: tc.frames}
			if got := strayAfterClose(w, tc.conns); got != tc.want {
				t.Errorf("strayAfterClose = %v, want %v", got, tc.want)
			}
		})
	}
}

// A connection whose packets tshark could not read is excused from the close check only when
// its client reused an earlier connection's address (the earlier one's stray packets are what
// lead tshark astray).
func TestReusedAddress(t *testing.T) {
	conn := func(first int, addr string) *dissect.Connection {
		return &dissect.Connection{FirstFrame: first, ClientAddrs: []dissect.AddrSeen{{Addr: addr, Frame: first}}}
	}
	a, b, c := conn(1, "127.0.0.1:5000"), conn(64, "127.0.0.1:5000"), conn(90, "127.0.0.1:6000")
	conns := []*dissect.Connection{a, b, c}
	for _, tc := range []struct {
		conn *dissect.Connection
		want bool
	}{{a, false}, {b, true}, {c, false}} {
		if got := reusedAddress(conns, tc.conn); got != tc.want {
			t.Errorf("connection from frame %d: reusedAddress = %v, want %v", tc.conn.FirstFrame, got, tc.want)
		}
	}
}

// Packets tshark could not decrypt are explained by a reused address only when they belong to
// connections whose client reused an earlier one's address (and at most one stray each
// besides); a connection whose handshake went unread that way is skipped, any other is checked.
func TestLostAfterReuse(t *testing.T) {
	conn := func(first int, addr string, undecrypted, ee int) *dissect.Connection {
		return &dissect.Connection{FirstFrame: first, ClientAddrs: []dissect.AddrSeen{{Addr: addr, Frame: first}},
			Undecrypted: undecrypted, Handshake: dissect.Handshake{ServerHelloFrame: first + 1, EncryptedExtensionsFrame: ee}}
	}
	first, reused, fresh := conn(1, "127.0.0.1:5000", 0, 3), conn(40, "127.0.0.1:5000", 12, 0), conn(80, "127.0.0.1:6000", 5, 0)
	for _, tc := range []struct {
		name        string
		conns       []*dissect.Connection
		undecrypted int
		want        bool
	}{
		{"the reused connection's packets and one stray", []*dissect.Connection{first, reused}, 13, true},
		{"more strays than connections", []*dissect.Connection{first, reused}, 16, false},
		{"a connection from a fresh address", []*dissect.Connection{first, fresh}, 5, false},
		{"nothing lost to reuse", []*dissect.Connection{first}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &dissect.Wire{Connections: tc.conns, Undecrypted: tc.undecrypted}
			if got := lostAfterReuse(w, tc.conns); got != tc.want {
				t.Errorf("lostAfterReuse = %v, want %v", got, tc.want)
			}
		})
	}
	conns := []*dissect.Connection{first, reused, fresh}
	if !unreadableAfterReuse(conns, reused) || unreadableAfterReuse(conns, fresh) || unreadableAfterReuse(conns, first) {
		t.Error("unreadableAfterReuse skips other than the reused connection whose handshake went unread")
	}
}

// A connection with no close on the wire may have it in a packet tshark could not decrypt only
// when that packet follows it within the next connection from the same address.
func TestCloseUnreadable(t *testing.T) {
	conn := func(first, last int, addr string) *dissect.Connection {
		return &dissect.Connection{FirstFrame: first, LastFrame: last, ClientAddrs: []dissect.AddrSeen{{Addr: addr, Frame: first}}}
	}
	a, b, c := conn(12, 22, "127.0.0.1:5000"), conn(21, 31, "127.0.0.1:5000"), conn(32, 40, "127.0.0.1:6000")
	conns := []*dissect.Connection{a, b, c}
	for _, tc := range []struct {
		name   string
		conn   *dissect.Connection
		frames []int
		want   bool
	}{
		{"the close unread within the next connection", a, []int{23}, true},
		{"nothing unread", a, nil, false},
		{"unread only after the next connection", a, []int{35}, false},
		{"no later connection from its address", c, []int{41}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &dissect.Wire{Connections: conns, Undecrypted: len(tc.frames), UndecryptedFrames: tc.frames}
			if got := closeUnreadable(w, conns, tc.conn); got != tc.want {
				t.Errorf("closeUnreadable = %v, want %v", got, tc.want)
			}
		})
	}
}
