// Package echo is iroh's echo protocol (iroh/examples/echo.rs): the client opens a bidirectional
// stream, writes its payload and finishes; the server copies the stream back, finishes, and waits
// for the client to close the connection; the client reads to the end, checks, and closes with 0.
//
// Unlike the example, which echoes one stream, this server echoes every stream the client opens,
// in sequence or concurrently, until the client closes.
package echo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/irohconf/irohconf/iroh/endpoint"
)

// The ALPNs the echo protocol is served on: the project's own and the one of iroh's examples.
const (
	ALPN        = "echo/0"
	ExampleALPN = "iroh-example/echo/0"
)

// ALPNs are the ALPNs served by default.
var ALPNs = []string{ALPN, ExampleALPN}

// CloseReason is what the client sends with close code 0, as iroh's echo example does.
const CloseReason = "bye!"

// Server echoes streams. The zero value is ready to use.
type Server struct {
	// CloseWait, when set, bounds the wait for the next stream or the client's close. Zero means
	// no bound of its own, as iroh's echo handler: a connection ends when the client closes it
	// or the QUIC idle timeout ends it, so a client that keeps it alive with PINGs keeps it.
	CloseWait time.Duration
}

// Handlers maps each of alpns (ALPNs when none) to s, for endpoint.Config.Handlers.
func (s *Server) Handlers(alpns ...string) map[string]endpoint.Handler {
	if len(alpns) == 0 {
		alpns = ALPNs
	}
	hs := make(map[string]endpoint.Handler, len(alpns))
	for _, a := range alpns {
		hs[a] = s
	}
	return hs
}

// Serve echoes every stream of c until the client closes the connection. It returns nil when the
// client closed with application code 0, the close error otherwise, or an error when the client
// neither opened a stream nor closed within CloseWait (when set).
func (s *Server) Serve(ctx context.Context, c *endpoint.Conn) error {
	return ServeStreams(ctx, c, s.CloseWait, "echo", echoStream)
}

// ServeStreams runs handle on every stream the client opens, each in its own goroutine, until the
// client closes the connection: the accept loop of the echo protocol and of the protocols built
// like it (iroh/upload). It returns the streams' errors, nil when the client closed with code 0,
// the close error otherwise, or an error naming proto when the client neither opened a stream
// nor closed within wait (zero: no bound but the QUIC idle timeout).
func ServeStreams(ctx context.Context, c *endpoint.Conn, wait time.Duration, proto string, handle func(*endpoint.Stream) error) error {
	var (
		streams sync.WaitGroup
		mu      sync.Mutex
		errs    []error
	)
	defer streams.Wait()
	for {
		acceptCtx, cancel := ctx, context.CancelFunc(func() {})
		if wait > 0 {
			acceptCtx, cancel = context.WithTimeout(ctx, wait)
		}
		st, err := c.AcceptStream(acceptCtx)
		cancel()
		if err != nil {
			streams.Wait()
			mu.Lock()
			defer mu.Unlock()
			if streamErr := errors.Join(errs...); streamErr != nil {
				return streamErr
			}
			switch {
			case ctx.Err() != nil:
				return fmt.Errorf("%s: endpoint closing: %w", proto, ctx.Err())
			case errors.Is(err, context.DeadlineExceeded):
				return fmt.Errorf("%s: client neither opened a stream nor closed the connection within %s", proto, wait)
			case endpoint.CloseInfoOf(err).Normal():
				return nil // the client closed with code 0
			default:
				return err
			}
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			if err := handle(st); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
}

// copyBuffers holds echoStream's copy buffers: io.Copy allocated 32 KiB per stream, a fifth of
// the bytes the Go server allocated in a loop of one-echo connections (more garbage collections).
var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// echoStream copies the stream back to its end, then finishes it.
func echoStream(st *endpoint.Stream) error {
	buf := copyBuffers.Get().(*[32 << 10]byte)
	_, err := io.CopyBuffer(st, st, buf[:])
	copyBuffers.Put(buf)
	if err != nil {
		st.CancelRead(0)
		st.CancelWrite(0)
		return fmt.Errorf("echo: stream %d: %w", st.StreamID(), err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("echo: stream %d: finishing: %w", st.StreamID(), err)
	}
	return nil
}

// Echo runs one echo of payload on a new stream of c and checks the reply byte for byte. It
// writes and reads at the same time, so payloads larger than the flow-control windows pass.
func Echo(ctx context.Context, c *endpoint.Conn, payload []byte) (time.Duration, error) {
	start := time.Now()
	st, err := c.OpenStream(ctx)
	if err != nil {
		return 0, fmt.Errorf("echo: opening a stream: %w", err)
	}
	// Stream reads and writes do not take a context; deadlines carry ctx's.
	if d, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.SetDeadline(time.Now()) })
	defer stop()

	writeErr := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		if err == nil {
			err = st.Close() // FIN: the server echoes until it sees it
		}
		writeErr <- err
	}()
	got, readErr := readAll(st, len(payload))
	werr := <-writeErr
	// The round trip ends with the last byte of the reply; the comparison below is not part of
	// it (iroh's echo client stops its clock there too).
	elapsed := time.Since(start)
	if werr != nil {
		st.CancelRead(0)
		return 0, fmt.Errorf("echo: stream %d: writing %d bytes: %w", st.StreamID(), len(payload), werr)
	}
	if readErr != nil {
		st.CancelRead(0)
		return 0, fmt.Errorf("echo: stream %d: reading the reply (%d of %d bytes): %w", st.StreamID(), len(got), len(payload), readErr)
	}
	if err := compare(payload, got); err != nil {
		return 0, fmt.Errorf("echo: stream %d: %w", st.StreamID(), err)
	}
	return elapsed, nil
}

// readAll reads to the end of the stream, refusing more than want+1 bytes so a runaway peer
// cannot fill memory. It reads into one buffer of want+1 bytes: a bytes.Buffer of want bytes
// grows (a second allocation of twice the size, and a copy) when it is nearly full.
func readAll(r io.Reader, want int) ([]byte, error) {
	buf := make([]byte, want+1)
	n, err := io.ReadFull(r, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil // the stream ended, at want bytes or short of them (compare says which)
	}
	return buf[:n], err
}

func compare(want, got []byte) error {
	if len(got) != len(want) {
		return fmt.Errorf("reply has %d bytes, sent %d", len(got), len(want))
	}
	if bytes.Equal(want, got) {
		return nil // vectorised; the loop below only locates a difference
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Errorf("reply differs at byte %d: got %#02x, sent %#02x", i, got[i], want[i])
		}
	}
	return nil
}

// FillPayload fills p with pseudo-random bytes from a PCG generator seeded by crypto/rand. A
// payload only has to make a lost, moved or altered byte show, and crypto/rand itself took a third
// of a dialing client's CPU (about 300 MB/s here, PCG about 1.5 GB/s).
func FillPayload(p []byte) error {
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fmt.Errorf("echo: seeding the payload generator: %w", err)
	}
	g := mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	for len(p) >= 8 {
		binary.LittleEndian.PutUint64(p, g.Uint64())
		p = p[8:]
	}
	var last [8]byte
	binary.LittleEndian.PutUint64(last[:], g.Uint64())
	copy(p, last[:])
	return nil
}

// Options say how many echoes a client runs.
type Options struct {
	// Size is the payload size of each echo in bytes.
	Size int
	// Count is the number of echoes; zero means 1.
	Count int
	// Streams is the most echoes in flight at a time; zero or 1 means one after another.
	Streams int
}

// Result is what Run measured.
type Result struct {
	// Durations has one entry per echo, in the order the echoes were started.
	Durations []time.Duration
	// Bytes is the payload bytes echoed and checked.
	Bytes int64
}

// Run runs opts.Count echoes of opts.Size random bytes on c, at most opts.Streams at a time, each
// with its own payload. It stops at the first failure.
func Run(ctx context.Context, c *endpoint.Conn, opts Options) (Result, error) {
	if opts.Size < 0 || opts.Count < 0 || opts.Streams < 0 {
		return Result{}, fmt.Errorf("echo: size, count and streams must not be negative (got %d, %d, %d)", opts.Size, opts.Count, opts.Streams)
	}
	count := max(opts.Count, 1)
	res := Result{Durations: make([]time.Duration, count)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Streams, 1))
	for i := range count {
		g.Go(func() error {
			// Made in the echo's slot, so that it does not take CPU from the echoes in flight.
			payload := make([]byte, opts.Size)
			if err := FillPayload(payload); err != nil {
				return err
			}
			d, err := Echo(gctx, c, payload)
			if err != nil {
				return fmt.Errorf("echo %d of %d (%d bytes): %w", i+1, count, opts.Size, err)
			}
			res.Durations[i] = d
			return nil
		})
		if gctx.Err() != nil {
			break
		}
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Bytes = int64(count) * int64(opts.Size)
	return res, nil
}
