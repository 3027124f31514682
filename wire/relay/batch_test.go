package relay_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/relay"
)

// gsoWrite sends datagrams of seg bytes in one write (UDP GSO), as quic-go does.
func gsoWrite(t *testing.T, c *net.UDPConn, buf []byte, seg int) {
	t.Helper()
	oob := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(seg))
	if _, _, err := c.WriteMsgUDP(buf, oob, nil); err != nil {
		t.Skipf("this kernel takes no UDP GSO writes: %v", err)
	}
}

// Datagrams that arrive together (GRO) are decided one by one, and what reaches the server is
// exactly what the decisions say, in order: dropped ones missing, corrupted ones changed,
// duplicated ones twice.
func TestBatchesKeepDatagrams(t *testing.T) {
	srv := newUDPServer(t)
	p := faults.Profile{Name: "mixed", Loss: [2]float64{0.25, 0}, Duplicate: 0.25, Corrupt: 0.25}
	r := startRelay(t, relay.Config{Target: srv.addr(), Profile: p, Seed: 9})
	c := udpClient(t, r.Addr())
	const seg, n = 100, 40
	var buf []byte
	for i := range n {
		buf = append(buf, bytes.Repeat([]byte{byte(i)}, seg)...)
	}
	buf = buf[:len(buf)-30] // the last datagram shorter, as GSO allows
	gsoWrite(t, c, buf, seg)

	var want [][]byte
	waitFor(t, func() bool {
		recs := r.Records()
		if len(recs) < n {
			return false
		}
		want = want[:0]
		for i, rec := range recs[:n] {
			if rec.Decision.Drop {
				continue
			}
			d := append([]byte(nil), buf[i*seg:min((i+1)*seg, len(buf))]...)
			for _, f := range rec.Decision.Flips {
				d[f.Offset] ^= f.Mask
			}
			want = append(want, d)
			if rec.Decision.Duplicate {
				want = append(want, d)
			}
		}
		return len(srv.received()) >= len(want)
	})
	got := srv.received()
	if len(got) != len(want) {
		t.Fatalf("the server got %d datagrams, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].data, want[i]) {
			t.Errorf("datagram %d: got %x..., want %x...", i, got[i].data[:4], want[i][:4])
		}
	}
	if r.Reads() >= int64(len(r.Records())) {
		t.Logf("%d reads for %d datagrams: the kernel did not coalesce them (no UDP GRO)", r.Reads(), len(r.Records()))
	}
}
