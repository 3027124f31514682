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

// captureQueue writes the capture on its own goroutine, so the forwarding path only copies the
// datagram. The queue is deep enough for bursts; when it is full the forwarding path waits
// rather than lose a frame (a capture with holes cannot be decrypted reliably).
type captureQueue struct {
	w     *capture.Writer
	items chan captured
	pool  sync.Pool
	done  chan struct{}
	err   error // the first write error; later items are discarded
}

type captured struct {
	at       time.Time
	src, dst netip.AddrPort
	data     *[]byte
	decision faults.Decision
}

const captureDepth = 4096

func newCaptureQueue(w io.Writer, meta capture.Meta) (*captureQueue, error) {
	cw, err := capture.NewWriter(w, meta)
	if err != nil {
		return nil, err
	}
	q := &captureQueue{w: cw, items: make(chan captured, captureDepth), done: make(chan struct{})}
	q.pool.New = func() any { b := make([]byte, 0, 1500); return &b }
	go q.run()
	return q, nil
}

// add queues a copy of pkt. It is called with the relay's lock held, so queue order is record
// order.
func (q *captureQueue) add(at time.Time, src, dst netip.AddrPort, pkt []byte, d faults.Decision) {
	b := q.pool.Get().(*[]byte)
	*b = append((*b)[:0], pkt...)
	q.items <- captured{at: at, src: src, dst: dst, data: b, decision: d}
}

func (q *captureQueue) run() {
	defer close(q.done)
	for it := range q.items {
		if q.err == nil {
			var comment string // plain forwarding goes without a comment
			if it.decision.Action() != faults.Forwarded || it.decision.Reason != "" {
				comment = it.decision.String()
			}
			q.err = q.w.Write(capture.Packet{Time: it.at, Src: it.src, Dst: it.dst, Data: *it.data, Comment: comment})
		}
		q.pool.Put(it.data)
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
