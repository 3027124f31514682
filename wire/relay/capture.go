package relay

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/irohconf/irohconf/wire/capture"
	"github.com/irohconf/irohconf/wire/faults"
)

// captureQueue takes the capture off the forwarding path: the reader queues each read's
// datagrams by reference (the read buffer is kept until copied), and the queue's goroutine
// copies them into memory, once; the pcapng is built and written when the relay closes, or
// from when more than its limit is held. While a cell's traffic flows, the capture costs
// one copy of each datagram. The queue is deep enough for bursts; when it is full the
// forwarding path waits rather than lose a frame (a capture with holes cannot be decrypted
// reliably).
type captureQueue struct {
	w     *capture.Writer
	items chan *captured
	pool  sync.Pool
	done  chan struct{}
	err   error // the first write error; later datagrams are discarded

	held      []capturedPacket // copied, not yet written; data points into chunks
	chunks    [][]byte
	heldBytes int
	limit     int
	through   bool // past the limit: written as they come
}

// holdChunk is the size of the memory the held datagrams are copied into.
const holdChunk = 1 << 20

var holdChunks = sync.Pool{New: func() any { return make([]byte, 0, holdChunk) }}

// captured is the datagrams of one read, in the read buffer it holds.
type captured struct {
	owner *readBuf
	pkts  []capturedPacket
}

type capturedPacket struct {
	at       time.Time
	src, dst netip.AddrPort
	data     []byte
	decision faults.Decision
}

const captureDepth = 1024

func newCaptureQueue(w io.Writer, meta capture.Meta, limit int) (*captureQueue, error) {
	cw, err := capture.NewWriterMemory(w, meta, 0) // the queue holds; the writer writes through
	if err != nil {
		return nil, err
	}
	q := &captureQueue{w: cw, items: make(chan *captured, captureDepth), done: make(chan struct{}), limit: limit}
	q.pool.New = func() any { return &captured{} }
	go q.run()
	return q, nil
}

// begin starts the item of one read in rb, which it holds until written.
func (q *captureQueue) begin(rb *readBuf) *captured {
	c := q.pool.Get().(*captured)
	rb.retain()
	c.owner, c.pkts = rb, c.pkts[:0]
	return c
}

// add adds one datagram of the read buffer to c.
func (c *captured) add(at time.Time, src, dst netip.AddrPort, pkt []byte, d faults.Decision) {
	c.pkts = append(c.pkts, capturedPacket{at: at, src: src, dst: dst, data: pkt, decision: d})
}

// send queues c. It is called with the relay's lock held, so queue order is record order.
func (q *captureQueue) send(c *captured) {
	q.items <- c
}

func (q *captureQueue) run() {
	defer close(q.done)
	for c := range q.items {
		for _, p := range c.pkts {
			if q.through {
				q.write(p)
				continue
			}
			p.data = q.hold(p.data)
			q.held = append(q.held, p)
			if q.heldBytes > q.limit {
				q.writeHeld()
				q.through = true
			}
		}
		c.owner.release()
		c.owner = nil
		clear(c.pkts) // drop the references into the read buffer
		q.pool.Put(c)
	}
	q.writeHeld()
	if q.err == nil {
		q.err = q.w.Flush()
	}
}

// hold copies data into the held chunks.
func (q *captureQueue) hold(data []byte) []byte {
	if len(q.chunks) == 0 || cap(q.chunks[len(q.chunks)-1])-len(q.chunks[len(q.chunks)-1]) < len(data) {
		q.chunks = append(q.chunks, holdChunks.Get().([]byte)[:0])
	}
	last := &q.chunks[len(q.chunks)-1]
	start := len(*last)
	*last = append(*last, data...)
	q.heldBytes += len(data)
	return (*last)[start:len(*last):len(*last)]
}

func (q *captureQueue) writeHeld() {
	for _, p := range q.held {
		q.write(p)
	}
	clear(q.held)
	q.held = q.held[:0]
	for _, c := range q.chunks {
		holdChunks.Put(c[:0])
	}
	q.chunks, q.heldBytes = nil, 0
}

func (q *captureQueue) write(p capturedPacket) {
	if q.err != nil {
		return
	}
	var comment string // plain forwarding goes without a comment
	if p.decision.Action() != faults.Forwarded || p.decision.Reason != "" {
		comment = p.decision.String()
	}
	q.err = q.w.Write(capture.Packet{Time: p.at, Src: p.src, Dst: p.dst, Data: p.data, Comment: comment})
}

// close writes what is queued, flushes, and returns the first error.
func (q *captureQueue) close(limit time.Duration) error {
	close(q.items)
	select {
	case <-q.done:
	case <-time.After(limit):
		return fmt.Errorf("relay: the capture was not written within %s", limit)
	}
	if q.err != nil {
		return errors.Join(errors.New("relay: writing the capture"), q.err)
	}
	return nil
}
