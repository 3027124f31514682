package capture_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/irohconf/irohconf/wire/capture"
)

func TestRoundTrip(t *testing.T) {
	meta := capture.Meta{
		Server:  netip.MustParseAddrPort("127.0.0.1:4433"),
		Relay:   netip.MustParseAddrPort("127.0.0.1:5000"),
		Profile: "loss",
		Seed:    42,
	}
	t0 := time.Date(2026, 12, 1, 17, 0, 0, 123456789, time.UTC)
	want := []capture.Packet{
		{Time: t0, Src: netip.MustParseAddrPort("127.0.0.1:6000"), Dst: meta.Server, Data: []byte{0xc0, 1, 2, 3}},
		{Time: t0.Add(time.Millisecond), Src: meta.Server, Dst: netip.MustParseAddrPort("127.0.0.1:6000"), Data: bytes.Repeat([]byte{0x40}, 1400), Comment: "dropped (loss)"},
		{Time: t0.Add(2 * time.Millisecond), Src: netip.MustParseAddrPort("[::1]:7000"), Dst: netip.MustParseAddrPort("[::1]:4433"), Data: []byte("six")},
		{Time: t0.Add(3 * time.Millisecond), Src: netip.MustParseAddrPort("127.0.0.2:6001"), Dst: meta.Server, Data: nil},
	}
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range want {
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(capture.Packet{Src: want[0].Src, Dst: want[2].Dst}); err == nil {
		t.Error("an IPv4 -> IPv6 packet was written")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	gotMeta, got, err := capture.ReadAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if gotMeta != meta {
		t.Errorf("meta %+v, want %+v", gotMeta, meta)
	}
	if m, err := capture.ReadMeta(bytes.NewReader(buf.Bytes())); err != nil || m != meta {
		t.Errorf("ReadMeta: %+v, %v", m, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	// The IPv4 headers carry a valid checksum (one's complement sum over the header is 0xffff).
	ng, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		raw, _, err := ng.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if raw[0]>>4 != 4 {
			continue
		}
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(binary.BigEndian.Uint16(raw[j:]))
		}
		for sum > 0xffff {
			sum = sum>>16 + sum&0xffff
		}
		if sum != 0xffff || int(binary.BigEndian.Uint16(raw[2:])) != len(raw) {
			t.Errorf("packet %d: IPv4 header sum %#x, length %d of %d", i, sum, binary.BigEndian.Uint16(raw[2:]), len(raw))
		}
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Src != w.Src || g.Dst != w.Dst || !bytes.Equal(g.Data, w.Data) || g.Comment != w.Comment {
			t.Errorf("packet %d: %+v, want %+v", i, g, w)
		}
	}
}

func TestNotACapture(t *testing.T) {
	if _, err := capture.ReadMeta(strings.NewReader("not pcapng")); err == nil {
		t.Error("ReadMeta accepted garbage")
	}
}

// Past its memory the writer writes through; the file is the same either way.
func TestWriteThrough(t *testing.T) {
	meta := capture.Meta{Server: netip.MustParseAddrPort("127.0.0.1:4433")}
	write := func(memory int) []byte {
		var buf bytes.Buffer
		w, err := capture.NewWriterMemory(&buf, meta, memory)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3000 {
			p := capture.Packet{Time: time.Unix(int64(i), 0), Src: netip.MustParseAddrPort("127.0.0.1:5000"), Dst: meta.Server, Data: bytes.Repeat([]byte{byte(i)}, 1200)}
			if err := w.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		if memory < 1<<20 && buf.Len() == 0 {
			t.Error("nothing written through before Flush")
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	held, through := write(capture.DefaultMemory), write(1000)
	if !bytes.Equal(held, through) {
		t.Errorf("%d bytes held, %d written through: they differ", len(held), len(through))
	}
	if _, pkts, err := capture.ReadAll(bytes.NewReader(through)); err != nil || len(pkts) != 3000 {
		t.Errorf("%d packets, %v", len(pkts), err)
	}
}
