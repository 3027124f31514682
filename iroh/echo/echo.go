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
	"errors"
	"fmt"
	"io"
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

// DefaultCloseWait is how long the server waits for the next stream or the client's close
// before giving up; it matches iroh's idle timeout.
const DefaultCloseWait = endpoint.MaxIdleTimeout

// Server echoes streams. The zero value is ready to use.
type Server struct {
	// CloseWait bounds the wait for the next stream or the client's close; zero means
	// DefaultCloseWait.
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
// neither opened a stream nor closed within CloseWait.
func (s *Server) Serve(ctx context.Context, c *endpoint.Conn) error {
	wait := s.CloseWait
	if wait == 0 {
		wait = DefaultCloseWait
	}
	var (
		streams sync.WaitGroup
		mu      sync.Mutex
		errs    []error
	)
	defer streams.Wait()
	for {
		acceptCtx, cancel := context.WithTimeout(ctx, wait)
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
				return fmt.Errorf("echo: endpoint closing: %w", ctx.Err())
			case errors.Is(err, context.DeadlineExceeded):
				return fmt.Errorf("echo: client neither opened a stream nor closed the connection within %s", wait)
			case endpoint.CloseInfoOf(err).Normal():
				return nil // the client closed with code 0
			default:
				return err
			}
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			if err := echoStream(st); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
}

// echoStream copies the stream back to its end, then finishes it.
func echoStream(st *endpoint.Stream) error {
	if _, err := io.Copy(st, st); err != nil {
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
	if werr := <-writeErr; werr != nil {
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
	return time.Since(start), nil
}

// readAll reads to the end of the stream, refusing more than want+1 bytes so a runaway peer
// cannot fill memory.
func readAll(r io.Reader, want int) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, want))
	_, err := io.Copy(buf, io.LimitReader(r, int64(want)+1))
	return buf.Bytes(), err
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
		payload := make([]byte, opts.Size)
		if _, err := rand.Read(payload); err != nil {
			return res, err
		}
		g.Go(func() error {
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
