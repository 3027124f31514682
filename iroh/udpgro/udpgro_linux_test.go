package udpgro

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// listen binds a UDP socket on the loopback address of one family, closed at the test's end.
func listen(t *testing.T, network, addr string) *net.UDPConn {
	t.Helper()
	a, err := net.ResolveUDPAddr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP(network, a)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// sendGSO sends payload as one GSO burst of segment-sized datagrams (UDP_SEGMENT), which
// loopback delivers unsplit to a socket with GRO enabled.
func sendGSO(t *testing.T, from *net.UDPConn, to net.Addr, payload []byte, segment uint16) {
	t.Helper()
	oob := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgSpace(0):], segment)
	if _, _, err := from.WriteMsgUDP(payload, oob, to.(*net.UDPAddr)); err != nil {
		t.Fatalf("GSO send: %v", err)
	}
}

// quicGoMessages are messages as quic-go gives them to ReadBatch: one datagram buffer and a
// 128-byte control message buffer each.
func quicGoMessages(n int) []ipv4.Message {
	ms := make([]ipv4.Message, n)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 1452)}
		ms[i].OOB = make([]byte, 128)
	}
	return ms
}

func TestReadBatchSplitsCoalescedDatagrams(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			recv := listen(t, tc.network, tc.addr)
			send := listen(t, tc.network, tc.addr)
			// What quic-go asks for: ECN bits of every datagram (the TOS / traffic class).
			raw, _ := recv.SyscallConn()
			_ = raw.Control(func(fd uintptr) {
				_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1)
				_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVTCLASS, 1)
			})
			pc, ok := Wrap(recv).(*Conn)
			if !ok {
				t.Fatal("Wrap did not enable GRO on a Linux UDP socket")
			}
			// 4 full datagrams and a short last one, then a lone datagram of another size.
			const segment = 1000
			burst := make([]byte, 4*segment+321)
			for i := range burst {
				burst[i] = byte(i / segment)
			}
			sendGSO(t, send, recv.LocalAddr(), burst, segment)
			lone := bytes.Repeat([]byte{0xee}, 77)
			if _, err := send.WriteTo(lone, recv.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))

			var got [][]byte
			ms := quicGoMessages(2) // fewer than the burst holds: the rest waits for the next call
			for len(got) < 6 {
				n, err := pc.ReadBatch(ms, 0)
				if err != nil {
					t.Fatalf("ReadBatch after %d datagrams: %v", len(got), err)
				}
				if n == 0 || n > len(ms) {
					t.Fatalf("ReadBatch returned %d messages for %d slots", n, len(ms))
				}
				if len(got) == 0 && pc.msgs[0].N != len(burst) {
					t.Fatalf("the kernel did not coalesce the burst: the first buffer holds %d bytes, not %d", pc.msgs[0].N, len(burst))
				}
				for _, m := range ms[:n] {
					if m.Addr.String() != send.LocalAddr().String() {
						t.Errorf("datagram from %v, want %v", m.Addr, send.LocalAddr())
					}
					assertControlMessages(t, m.OOB[:m.NN])
					got = append(got, append([]byte(nil), m.Buffers[0][:m.N]...))
				}
			}
			want := [][]byte{burst[:1000], burst[1000:2000], burst[2000:3000], burst[3000:4000], burst[4000:], lone}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("datagram %d: %d bytes starting %x, want %d bytes starting %x", i, len(got[i]), got[i][:1], len(want[i]), want[i][:1])
				}
			}
		})
	}
}

// assertControlMessages checks that a datagram's control messages parse, carry its ECN bits, and
// no longer carry the GRO segment size (it describes the coalesced buffer, not the datagram).
func assertControlMessages(t *testing.T, oob []byte) {
	t.Helper()
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		t.Fatalf("control messages %x: %v", oob, err)
	}
	ecn := false
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_UDP && m.Header.Type == unix.UDP_GRO:
			t.Errorf("UDP_GRO control message passed on")
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS,
			m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_TCLASS:
			ecn = true
		}
	}
	if !ecn {
		t.Errorf("no TOS / traffic class control message among %d", len(msgs))
	}
}

func TestReadBatchMarksTruncatedDatagrams(t *testing.T) {
	recv := listen(t, "udp4", "127.0.0.1:0")
	send := listen(t, "udp4", "127.0.0.1:0")
	pc := Wrap(recv).(*Conn)
	// Two 2000-byte datagrams, larger than quic-go's 1452-byte buffers.
	sendGSO(t, send, recv.LocalAddr(), bytes.Repeat([]byte{7}, 4000), 2000)
	_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
	ms := quicGoMessages(8)
	n, err := pc.ReadBatch(ms, 0)
	if err != nil || n != 2 {
		t.Fatalf("ReadBatch: %d messages, %v; want 2", n, err)
	}
	for i, m := range ms[:n] {
		if m.N != 1452 || m.Flags&unix.MSG_TRUNC == 0 {
			t.Errorf("datagram %d: %d bytes, flags %#x; want 1452 bytes marked MSG_TRUNC", i, m.N, m.Flags)
		}
	}
}

func TestReadBatchEndsWithTheSocket(t *testing.T) {
	recv := listen(t, "udp4", "127.0.0.1:0")
	pc := Wrap(recv).(*Conn)
	done := make(chan error, 1)
	go func() {
		_, err := pc.ReadBatch(quicGoMessages(8), 0)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it block in the kernel
	_ = recv.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadBatch on a closed socket: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked after Close")
	}
}

func TestAppendWithoutGROKeepsWholeMessagesOnly(t *testing.T) {
	tos := controlMessage(unix.IPPROTO_IP, unix.IP_TOS, 1)
	gro := controlMessage(unix.IPPROTO_UDP, unix.UDP_GRO, 4)
	info := controlMessage(unix.IPPROTO_IP, unix.IP_PKTINFO, 12)
	oob := append(append(append([]byte(nil), gro...), tos...), info...)
	if n := appendWithoutGRO(make([]byte, 0, 128), oob); n != len(tos)+len(info) {
		t.Errorf("kept %d bytes, want %d (TOS and PKTINFO)", n, len(tos)+len(info))
	}
	// Too little room for PKTINFO: it is left out, not cut.
	if n := appendWithoutGRO(make([]byte, 0, len(tos)+len(info)-1), oob); n != len(tos) {
		t.Errorf("kept %d bytes with a short buffer, want %d (TOS only)", n, len(tos))
	}
}

func controlMessage(level, typ int32, dataLen int) []byte {
	b := make([]byte, unix.CmsgSpace(dataLen))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(dataLen))
	return b
}

// Segment reads the datagram size from the UDP_GRO control message, as the kernel writes it (an
// int), and is 0 when there is none (one datagram) or only other messages.
func TestSegment(t *testing.T) {
	cmsg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, unix.CmsgSpace(len(data)))
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(unix.CmsgLen(len(data)))
		copy(b[unix.CmsgLen(0):], data)
		return b
	}
	size := make([]byte, 4)
	binary.NativeEndian.PutUint32(size, 1200)
	tos := cmsg(unix.IPPROTO_IP, unix.IP_TOS, []byte{2, 0, 0, 0})
	for _, tc := range []struct {
		name string
		oob  []byte
		want int
	}{
		{"coalesced", cmsg(unix.IPPROTO_UDP, unix.UDP_GRO, size), 1200},
		{"after another message", append(tos, cmsg(unix.IPPROTO_UDP, unix.UDP_GRO, size)...), 1200},
		{"other messages only", tos, 0},
		{"none", nil, 0},
	} {
		if got := Segment(tc.oob); got != tc.want {
			t.Errorf("%s: Segment = %d, want %d", tc.name, got, tc.want)
		}
	}
}
