package dissect

import (
	"testing"
	"time"
)

// The anti-amplification check on made-up datagrams: it must be able to fail.
func TestAddressValidation(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name string
		evs  []ampEvent
		want AddressValidation
	}{
		{"within 3x", []ampEvent{
			{frame: 1, by: Client, at: at(0), bytes: 1200, delivered: true},
			{frame: 2, by: Server, at: at(1), bytes: 1200},
			{frame: 3, by: Server, at: at(2), bytes: 1200},
			{frame: 4, by: Server, at: at(3), bytes: 1200},
			{frame: 5, by: Client, at: at(4), bytes: 1200, delivered: true, handshake: true},
			{frame: 6, by: Server, at: at(5), bytes: 50000},
		}, AddressValidation{ValidatedFrame: 5, ServerBytes: 3600, ClientBytes: 2400}},
		{"a fourth datagram before validation", []ampEvent{
			{frame: 1, by: Client, at: at(0), bytes: 1200, delivered: true},
			{frame: 2, by: Server, at: at(1), bytes: 1200},
			{frame: 3, by: Server, at: at(2), bytes: 1200},
			{frame: 4, by: Server, at: at(3), bytes: 1200},
			{frame: 5, by: Server, at: at(4), bytes: 1200},
		}, AddressValidation{ServerBytes: 4800, ClientBytes: 1200, ExceededFrame: 5}},
		{"what the relay dropped was not received", []ampEvent{
			{frame: 1, by: Client, at: at(0), bytes: 1200, delivered: true},
			{frame: 2, by: Client, at: at(1), bytes: 1200, delivered: false},
			{frame: 3, by: Server, at: at(2), bytes: 3700},
		}, AddressValidation{ServerBytes: 3700, ClientBytes: 1200, ExceededFrame: 3}},
		{"a delayed datagram counts when delivered", []ampEvent{
			{frame: 1, by: Client, at: at(0), bytes: 1200, delivered: true},
			{frame: 3, by: Server, at: at(2), bytes: 3600},
			{frame: 2, by: Client, at: at(5), bytes: 1200, delivered: true},
			{frame: 4, by: Server, at: at(6), bytes: 2400},
		}, AddressValidation{ServerBytes: 6000, ClientBytes: 2400}},
	} {
		if got := addressValidation(tc.evs); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestMaxOverlap(t *testing.T) {
	s := func(first, last float64) *Stream { return &Stream{First: first, Last: last} }
	for _, tc := range []struct {
		streams []*Stream
		want    int
	}{
		{nil, 0},
		{[]*Stream{s(0, 1), s(2, 3), s(4, 5)}, 1},
		{[]*Stream{s(0, 3), s(1, 4), s(2, 5)}, 3},
		{[]*Stream{s(0, 1), s(1, 2)}, 2}, // touching counts
		{[]*Stream{s(0, 10), s(1, 2), s(3, 4)}, 2},
	} {
		if got := maxOverlap(tc.streams); got != tc.want {
			t.Errorf("%d streams: %d at once, want %d", len(tc.streams), got, tc.want)
		}
	}
}

func TestVarint(t *testing.T) {
	for _, tc := range []struct {
		b  []byte
		v  uint64
		ok bool
	}{
		{[]byte{0x25}, 37, true},
		{[]byte{0x7b, 0xbd}, 15293, true},
		{[]byte{0x9d, 0x7f, 0x3e, 0x7d}, 494878333, true},
		{[]byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 151288809941952652, true},
		{[]byte{0x40}, 0, false}, // too short for its length prefix
		{nil, 0, false},
	} {
		if v, ok := varint(tc.b); v != tc.v || ok != tc.ok {
			t.Errorf("varint(%x) = %d %v, want %d %v", tc.b, v, ok, tc.v, tc.ok)
		}
	}
}
