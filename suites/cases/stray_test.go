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
