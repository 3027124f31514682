package relay

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/irohconf/irohconf/wire/capture"
	"github.com/irohconf/irohconf/wire/faults"
)

// captureQueue keeps the capture off the forwarding path. A reader reads straight into arena
// memory (readBuf) that the capture then holds: what a read brought in is captured without a
// copy, by a reference appended under the relay's lock, and no goroutine wakes per read. The
// pcapng is built when the relay closes, or, once more than the limit is held, by a writer
// goroutine that takes the held datagrams a limit's worth at a time. When that writer is
// behind, the forwarding path waits rather than lose a frame (a capture with holes cannot be
// decrypted reliably).
type captureQueue struct {
	w     *capture.Writer
	limit int

	// Owned by the relay's lock.
	held      []capturedPacket
	bufs      []*readBuf // the arena chunks held references point into, each retained once per entry
	last      *readBuf   // the chunk retained last, so that a run of reads into it costs one reference
	heldBytes int

	spills chan spill
	done   chan struct{}
	err    error // the first write error (the writer goroutine's until done)
}

// capturedPacket is one datagram: its record (stable: records never move) and its bytes in an
// arena chunk.
type capturedPacket struct {
	rec  *Record
	data []byte
}

// spill is what the writer goroutine writes at once, and the chunks it releases after.
type spill struct {
	pkts []capturedPacket
	bufs []*readBuf
}

func newCaptureQueue(w io.Writer, meta capture.Meta, limit int) (*captureQueue, error) {
	cw, err := capture.NewWriterMemory(w, meta, 0) // the queue holds; the writer writes through
	if err != nil {
		return nil, err
	}
	q := &captureQueue{w: cw, limit: limit, spills: make(chan spill, 1), done: make(chan struct{})}
	go q.run()
	return q, nil
}

// add holds one datagram of the arena chunk rb. The relay's lock is held.
func (q *captureQueue) add(rb *readBuf, rec *Record, data []byte) {
	if rb != q.last {
		rb.retain()
		q.bufs = append(q.bufs, rb)
		q.last = rb
	}
	q.held = append(q.held, capturedPacket{rec: rec, data: data})
	q.heldBytes += len(data)
	if q.heldBytes > q.limit {
		q.spill()
	}
}

// spill hands what is held to the writer goroutine. The relay's lock is held.
func (q *captureQueue) spill() {
	q.spills <- spill{pkts: q.held, bufs: q.bufs}
	q.held, q.bufs, q.last, q.heldBytes = nil, nil, nil, 0
}

func (q *captureQueue) run() {
	defer close(q.done)
	for s := range q.spills {
		for _, p := range s.pkts {
			q.write(p)
		}
		for _, rb := range s.bufs {
			rb.release()
		}
	}
	if q.err == nil {
		q.err = q.w.Flush()
	}
}

func (q *captureQueue) write(p capturedPacket) {
	if q.err != nil {
		return
	}
	r := p.rec
	var comment string // plain forwarding goes without a comment
	if r.Decision.Action() != faults.Forwarded || r.Decision.Reason != "" {
		comment = r.Decision.String()
	}
	q.err = q.w.Write(capture.Packet{Time: r.Time, Src: r.Src, Dst: r.Dst, Data: p.data, Comment: comment})
}

// close writes what is held, flushes, and returns the first error. No datagram is added after
// it is called.
func (q *captureQueue) close(limit time.Duration) error {
	if len(q.held) > 0 {
		q.spill()
	}
	close(q.spills)
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
