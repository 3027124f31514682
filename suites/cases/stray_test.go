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
