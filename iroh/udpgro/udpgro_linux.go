// Package udpgro lets quic-go receive with UDP generic receive offload (GRO, Linux 5.0+): the
// kernel hands over a whole burst of same-sized datagrams (a peer's GSO send, or datagrams a NIC
// coalesced) in one buffer instead of segmenting it into one socket buffer per datagram.
//
// quic-go reads a socket with recvmmsg of 8 datagrams and does not enable GRO itself. It does use
// a connection's own ReadBatch method when it has one (sys_conn_oob.go, batchConn), so Wrap adds
// one: it reads coalesced buffers with recvmmsg and returns one message per datagram, each with
// the buffer's control messages (ECN, packet info) but without the GRO one. quic-go stays
// unmodified; the price is one copy of every datagram in user space, against the kernel's
// per-datagram work (socket buffers, syscalls) it saves.
package udpgro

import (
	"encoding/binary"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

const (
	// batch is how many (coalesced) buffers one recvmmsg reads, as quic-go's own batch.
	batch = 8
	// bufferSize holds the largest coalesced buffer: one UDP datagram's maximum size.
	bufferSize = 1 << 16
	oobSize    = 128 // quic-go's own control message buffer size
)

// Conn is a UDP socket with GRO enabled whose ReadBatch splits coalesced buffers into datagrams.
// Everything else (writes, GSO, addresses, deadlines, Close) is the *net.UDPConn's.
type Conn struct {
	*net.UDPConn
	pc   *ipv4.PacketConn // recvmmsg; ipv4.Message is address-family independent
	msgs []ipv4.Message
	// Buffers read but not yet returned: msgs[next:read], the first from offset on.
	next, read, offset int
	segment            int // msgs[next]'s datagram size (its length when it was not coalesced)
}

// Wrap enables GRO on c and returns it wrapped for quic-go (quic.Transport.Conn). When the
// kernel refuses GRO, it returns c itself: quic-go then reads it as it always does.
func Wrap(c *net.UDPConn) net.PacketConn {
	if Enable(c) != nil {
		return c
	}
	g := &Conn{UDPConn: c, pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, batch)}
	for i := range g.msgs {
		g.msgs[i].Buffers = [][]byte{make([]byte, bufferSize)}
		g.msgs[i].OOB = make([]byte, oobSize)
	}
	return g
}

// ReadBatch fills ms with received datagrams, one per message, and returns how many it filled.
// Like recvmmsg, it blocks until at least one datagram arrives. It is not safe for concurrent
// use (quic-go reads from one goroutine).
func (c *Conn) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	if c.next == c.read {
		n, err := c.pc.ReadBatch(c.msgs, flags)
		if err != nil || n == 0 {
			return 0, err
		}
		c.next, c.read, c.offset = 0, n, 0
		c.segment = segmentSize(&c.msgs[0])
	}
	filled := 0
	for filled < len(ms) && c.next < c.read {
		in := &c.msgs[c.next]
		end := min(c.offset+c.segment, in.N)
		out := &ms[filled]
		out.N = copy(out.Buffers[0], in.Buffers[0][c.offset:end])
		out.NN = appendWithoutGRO(out.OOB[:0], in.OOB[:in.NN])
		out.Addr = in.Addr
		out.Flags = in.Flags
		if out.N < end-c.offset { // as recvmmsg marks a datagram larger than its buffer
			out.Flags |= unix.MSG_TRUNC
		}
		filled++
		c.offset = end
		if c.offset >= in.N {
			c.next++
			c.offset = 0
			if c.next < c.read {
				c.segment = segmentSize(&c.msgs[c.next])
			}
		}
	}
	return filled, nil
}

// Enable asks the kernel to hand over consecutive datagrams of one flow in one read (UDP_GRO);
// Segment then tells a read's datagram size.
func Enable(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1)
	}); err != nil {
		return err
	}
	return serr
}

// Segment is the datagram size of a coalesced read from its control messages (the UDP_GRO
// one); 0 when the read holds one datagram.
func Segment(oob []byte) int {
	for len(oob) > 0 {
		h, body, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		if h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO {
			switch { // the kernel writes an int; older ones a u16
			case len(body) >= 4:
				return int(binary.NativeEndian.Uint32(body))
			case len(body) >= 2:
				return int(binary.NativeEndian.Uint16(body))
			}
		}
		oob = rest
	}
	return 0
}

// segmentSize is the size of the datagrams m's buffer holds: the UDP_GRO control message's, or
// the buffer's length when the kernel did not coalesce it.
func segmentSize(m *ipv4.Message) int {
	if s := Segment(m.OOB[:m.NN]); s > 0 {
		return s
	}
	return max(m.N, 1)
}

// appendWithoutGRO copies the control messages of oob to dst, all but UDP_GRO, as far as dst's
// capacity allows whole messages, and returns the length written.
func appendWithoutGRO(dst, oob []byte) int {
	for len(oob) > 0 {
		h, _, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		msg := oob[:len(oob)-len(rest)]
		oob = rest
		if h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO {
			continue
		}
		if len(dst)+len(msg) > cap(dst) {
			break
		}
		dst = append(dst, msg...)
	}
	return len(dst)
}
