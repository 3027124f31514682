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

// captureQueue writes the capture on its own goroutine, one queue item per read, straight
// from the read buffer (kept until written), so the forwarding path neither writes nor copies. The queue is deep enough for bursts; when it is full the
// forwarding path waits rather than lose a frame (a capture with holes cannot be decrypted
// reliably).
type captureQueue struct {
	w     *capture.Writer
	items chan *captured
	pool  sync.Pool
	done  chan struct{}
	err   error // the first write error; later items are discarded
}

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

func newCaptureQueue(w io.Writer, meta capture.Meta) (*captureQueue, error) {
	cw, err := capture.NewWriter(w, meta)
	if err != nil {
		return nil, err
	}
	q := &captureQueue{w: cw, items: make(chan *captured, captureDepth), done: make(chan struct{})}
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
			if q.err == nil {
				var comment string // plain forwarding goes without a comment
				if p.decision.Action() != faults.Forwarded || p.decision.Reason != "" {
					comment = p.decision.String()
				}
				q.err = q.w.Write(capture.Packet{Time: p.at, Src: p.src, Dst: p.dst, Data: p.data, Comment: comment})
			}
		}
		c.owner.release()
		c.owner = nil
		clear(c.pkts) // drop the references into the buffer
		q.pool.Put(c)
	}
	if q.err == nil {
		q.err = q.w.Flush()
	}
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
