package relay

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irohconf/irohconf/wire/faults"
)

// maxRead is the most one read returns: a datagram, or a GRO batch of datagrams (at most 64 KiB).
const maxRead = 64 << 10

// maxSegments is the most datagrams one GSO write may carry (the kernel's UDP_MAX_SEGMENTS).
const maxSegments = 64

// batch is what one read returned, split into datagrams, with their decisions. Each reader
// owns one and reuses it.
type batch struct {
	rb        *readBuf
	buf       []byte
	n         int
	seg       int       // the datagram size of the batch (the last may be shorter)
	at        time.Time // when the batch arrived, as its records say
	segs      [][]byte
	decisions []faults.Decision
	outs      []*sender
	scratch   []byte // the rebuilt batch when some datagrams are dropped or changed
}

func newBatch() *batch {
	return &batch{scratch: make([]byte, 0, 2*maxRead)}
}

// next points the batch's buffer at the free tail of its arena chunk, taking a new chunk when
// the tail cannot hold a whole read. The capture may still hold earlier parts of the chunk.
func (b *batch) next() {
	if b.rb == nil || len(b.rb.b)-b.rb.off < maxRead {
		if b.rb != nil {
			b.rb.release()
		}
		b.rb = getReadBuf()
	}
	b.buf = b.rb.b[b.rb.off : b.rb.off+maxRead]
}

// consumed moves the chunk's free tail past the n bytes the last read brought in (aligned, so
// that each read starts on a word).
func (b *batch) consumed(n int) {
	b.rb.off += (n + 7) &^ 7
}

// done releases the batch's arena chunk.
func (b *batch) done() {
	if b.rb != nil {
		b.rb.release()
		b.rb = nil
	}
}

// readBuf is an arena chunk that a reader reads into, read after read, and that the capture
// holds parts of until it has written them: the last to let go returns it to the pool. Only
// its reader moves off.
type readBuf struct {
	b    []byte
	off  int // where the next read goes
	refs atomic.Int32
}

// arenaChunk is the size of a reader's arena chunk: many reads, so that a read wastes little of
// it (at most maxRead at a chunk's end).
const arenaChunk = 1 << 20

var readBufs = sync.Pool{New: func() any { return &readBuf{b: make([]byte, arenaChunk)} }}

func getReadBuf() *readBuf {
	rb := readBufs.Get().(*readBuf)
	rb.off = 0
	rb.refs.Store(1)
	return rb
}

func (rb *readBuf) retain() { rb.refs.Add(1) }

func (rb *readBuf) release() {
	if rb.refs.Add(-1) == 0 {
		readBufs.Put(rb)
	}
}

// split cuts the first n bytes into datagrams of seg bytes; seg 0 means one datagram.
func (b *batch) split(n, seg int) {
	if seg <= 0 || seg > n {
		seg = n
	}
	b.n, b.seg, b.segs = n, seg, b.segs[:0]
	if n == 0 { // an empty datagram is a datagram too
		b.segs = append(b.segs, b.buf[:0])
	}
	for off := 0; off < n; off += seg {
		b.segs = append(b.segs, b.buf[off:min(off+seg, n)])
	}
	for len(b.decisions) < len(b.segs) {
		b.decisions = append(b.decisions, faults.Decision{})
		b.outs = append(b.outs, nil)
	}
}

// sender writes to one destination through one socket, several datagrams per write where the
// kernel takes UDP GSO.
type sender struct {
	conn  *net.UDPConn
	to    netip.AddrPort // zero for a connected socket
	noGSO atomic.Bool    // set once a GSO write failed: send datagram by datagram
}

func newSender(conn *net.UDPConn, to netip.AddrPort) *sender {
	return &sender{conn: conn, to: to}
}

// send writes buf as datagrams of seg bytes (the last may be shorter).
func (s *sender) send(buf []byte, seg int) {
	if seg <= 0 || seg >= len(buf) {
		_, _, _ = s.conn.WriteMsgUDPAddrPort(buf, nil, s.to)
		return
	}
	if !s.noGSO.Load() {
		if _, _, err := s.conn.WriteMsgUDPAddrPort(buf, gsoControl(seg), s.to); err == nil {
			return
		} else if !gsoUnsupported(err) {
			return
		}
		s.noGSO.Store(true)
	}
	for off := 0; off < len(buf); off += seg {
		_, _, _ = s.conn.WriteMsgUDPAddrPort(buf[off:min(off+seg, len(buf))], nil, s.to)
	}
}

// gsoWriter gathers datagrams for one sender into GSO writes: equal sizes, a shorter one only
// last, at most maxSegments and maxRead bytes per write.
type gsoWriter struct {
	out *sender
	buf []byte
	off int // where the unsent datagrams start in buf
	seg int
	n   int
}

func (w *gsoWriter) add(pkt []byte) {
	if w.n > 0 && (len(pkt) > w.seg || w.n == maxSegments || len(w.buf)-w.off+len(pkt) > maxRead) {
		w.flush()
	}
	if w.n == 0 {
		w.seg = len(pkt)
	}
	w.buf = append(w.buf, pkt...)
	w.n++
	if len(pkt) < w.seg { // a shorter datagram ends a GSO write
		w.flush()
	}
}

func (w *gsoWriter) flush() {
	if w.n > 0 && w.out != nil {
		w.out.send(w.buf[w.off:], w.seg)
	}
	w.off, w.n = len(w.buf), 0
}
