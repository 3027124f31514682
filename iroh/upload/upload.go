// Package upload is the one-way protocol of the benchmarks, on its own ALPN: the client opens a
// bidirectional stream, writes its payload and finishes; the server reads the stream to its end
// and answers with the number of bytes it read (8 bytes, big-endian), then finishes. Unlike
// echo, the payload crosses the connection once, so its time is that of an upload plus one
// round trip.
package upload

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
)

// ALPN is the upload protocol's ALPN.
const ALPN = "irohconf/upload/0"

// Server answers uploads. The zero value is ready to use.
type Server struct {
	// CloseWait, when set, bounds the wait for the next stream or the client's close; zero
	// means no bound but the QUIC idle timeout, as echo.Server.
	CloseWait time.Duration
}

// Serve answers every stream of c until the client closes the connection; nil when the client
// closed with code 0.
func (s *Server) Serve(ctx context.Context, c *endpoint.Conn) error {
	return echo.ServeStreams(ctx, c, s.CloseWait, "upload", answer)
}

// answer reads the stream to its end and writes back how much it read.
func answer(st *endpoint.Stream) error {
	n, err := io.Copy(io.Discard, st)
	if err != nil {
		st.CancelRead(0)
		st.CancelWrite(0)
		return fmt.Errorf("upload: stream %d: %w", st.StreamID(), err)
	}
	if _, err := st.Write(binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
		return fmt.Errorf("upload: stream %d: answering: %w", st.StreamID(), err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("upload: stream %d: finishing: %w", st.StreamID(), err)
	}
	return nil
}

// Upload sends payload on a new stream of c and checks the server's count. The time runs from
// opening the stream to the count.
func Upload(ctx context.Context, c *endpoint.Conn, payload []byte) (time.Duration, error) {
	start := time.Now()
	st, err := c.OpenStream(ctx)
	if err != nil {
		return 0, fmt.Errorf("upload: opening a stream: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = st.SetDeadline(time.Now()) })
	defer stop()
	if _, err := st.Write(payload); err != nil {
		st.CancelRead(0)
		return 0, fmt.Errorf("upload: stream %d: writing %d bytes: %w", st.StreamID(), len(payload), err)
	}
	if err := st.Close(); err != nil {
		return 0, fmt.Errorf("upload: stream %d: finishing: %w", st.StreamID(), err)
	}
	reply, err := io.ReadAll(io.LimitReader(st, 9))
	if err != nil {
		return 0, fmt.Errorf("upload: stream %d: reading the count: %w", st.StreamID(), err)
	}
	if len(reply) != 8 {
		return 0, fmt.Errorf("upload: stream %d: the server answered %d bytes, not an 8-byte count", st.StreamID(), len(reply))
	}
	if n := binary.BigEndian.Uint64(reply); n != uint64(len(payload)) {
		return 0, fmt.Errorf("upload: stream %d: the server read %d bytes, sent %d", st.StreamID(), n, len(payload))
	}
	return time.Since(start), nil
}

// Run runs opts.Count uploads of opts.Size random bytes on c, at most opts.Streams at a time,
// as echo.Run does for echoes.
func Run(ctx context.Context, c *endpoint.Conn, opts echo.Options) (echo.Result, error) {
	if opts.Size < 0 || opts.Count < 0 || opts.Streams < 0 {
		return echo.Result{}, fmt.Errorf("upload: size, count and streams must not be negative (got %d, %d, %d)", opts.Size, opts.Count, opts.Streams)
	}
	count := max(opts.Count, 1)
	res := echo.Result{Durations: make([]time.Duration, count)}
	// Only its length reaches the server's answer; filled like echo's payloads, since crypto/rand
	// took a third of the uploading client's CPU.
	payload := make([]byte, opts.Size)
	if err := echo.FillPayload(payload); err != nil {
		return res, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Streams, 1))
	for i := range count {
		g.Go(func() error {
			d, err := Upload(gctx, c, payload)
			if err != nil {
				return fmt.Errorf("upload %d of %d (%d bytes): %w", i+1, count, opts.Size, err)
			}
			res.Durations[i] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Bytes = int64(count) * int64(opts.Size)
	return res, nil
}
