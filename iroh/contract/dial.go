package contract

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/upload"
	"github.com/irohconf/irohconf/peercontract"
)

// DefaultDialTimeout bounds a whole dial unless told otherwise.
const DefaultDialTimeout = peercontract.DefaultDialTimeout

// DialRequest is what `dial` takes.
type DialRequest struct {
	ID   key.EndpointID
	Addr netip.AddrPort
	// ALPN is the dialed ALPN; empty means echo.ALPN.
	ALPN string
	// Size, Count, Streams: Count echoes of Size random bytes, at most Streams at a time.
	Size, Count, Streams int
	// Connections one after another (zero means 1), each with its own handshake and echoes;
	// or, when Duration is set, as many as begin within Duration.
	Connections int
	Duration    time.Duration
	// Idle keeps the connection idle after the handshake, before the first echo.
	Idle time.Duration
	// Timeout bounds the whole dial, idle time included; zero means DefaultDialTimeout.
	Timeout time.Duration
	// Secret fixes the dialer's key; nil means a fresh one.
	Secret *key.SecretKey
	// KeyLog receives the TLS key log when set.
	KeyLog io.Writer
	// Options are the wire choices (SNI) and misbehaviours (refusal cases).
	Options endpoint.DialOptions
}

// Dial runs one dial of the contract: connect, optionally idle, echo, close with code 0; that
// again for every further connection asked for. It always returns a result line; OK says
// whether every echo came back intact. On the ALPN upload.ALPN the echoes are uploads.
func Dial(ctx context.Context, req DialRequest) peercontract.Result {
	res := peercontract.Result{Event: peercontract.EventResult, RemoteID: req.ID.String(), EchoMS: []float64{}, HandshakesMS: []float64{}}
	if req.ALPN == "" {
		req.ALPN = echo.ALPN
	}
	fail := func(stage string, err error) peercontract.Result { return failed(res, stage, err) }
	if req.Size < 0 || req.Count < 0 || req.Streams < 0 || req.Idle < 0 || req.Timeout < 0 || req.Connections < 0 || req.Duration < 0 {
		return fail("input", errors.New("size, count, streams, connections, duration, idle and timeout must not be negative"))
	}
	timeout := req.Timeout
	if timeout == 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ep, err := endpoint.Listen(ctx, endpoint.Config{Bind: localBindFor(req.Addr), Secret: req.Secret, KeyLog: req.KeyLog})
	if err != nil {
		return fail("bind", err)
	}
	defer ep.Close()
	res.EndpointID = ep.ID().String()

	started := time.Now()
	for {
		res = dialOnce(ctx, ep, req, res)
		res.Connections++
		more := res.Connections < max(req.Connections, 1)
		if req.Duration > 0 {
			more = time.Since(started) < req.Duration
		}
		if !res.OK || !more {
			return res
		}
	}
}

// dialOnce is one connection of Dial, its numbers added to res.
func dialOnce(ctx context.Context, ep *endpoint.Endpoint, req DialRequest, res peercontract.Result) peercontract.Result {
	fail := func(stage string, err error) peercontract.Result { return failed(res, stage, err) }
	timeout := cmp.Or(req.Timeout, DefaultDialTimeout)
	c, err := ep.Dial(ctx, req.ID, req.Addr, req.ALPN, req.Options)
	if err != nil {
		return fail("handshake", err)
	}
	if res.Connections == 0 {
		res.HandshakeMS = ms(c.Handshake())
	}
	res.HandshakesMS = append(res.HandshakesMS, ms(c.Handshake()))
	// The ALPN the handshake settled on, not the one asked for: a server that picked another
	// of the offered protocols shows here.
	res.ALPN = c.ALPN()
	tls := c.TLS()
	res.CipherSuite, res.Group = tls.CipherSuiteName(), tls.GroupName()
	// A server that refuses the client's key does so after the client's handshake finished
	// (TLS 1.3), so a connection error found later is reported with the connection's code.
	connFail := func(stage string, err error) peercontract.Result {
		if _, ok := endpoint.ErrorCode(err); !ok && c.Context().Err() != nil {
			err = fmt.Errorf("%w (connection closed: %w)", err, context.Cause(c.Context()))
		}
		_ = c.Close(0, "")
		return fail(stage, err)
	}
	if req.Idle > 0 {
		select {
		case <-time.After(req.Idle):
		case <-c.Context().Done():
			return connFail("idle", fmt.Errorf("the connection closed while idle: %w", context.Cause(c.Context())))
		case <-ctx.Done():
			return connFail("idle", fmt.Errorf("the timeout (%s) ended during the idle time (%s): %w", timeout, req.Idle, ctx.Err()))
		}
	}
	run := echo.Run
	if req.ALPN == upload.ALPN {
		run = upload.Run
	}
	er, err := run(ctx, c, echo.Options{Size: req.Size, Count: req.Count, Streams: req.Streams})
	for _, d := range er.Durations {
		if d > 0 {
			res.EchoMS = append(res.EchoMS, ms(d))
		}
	}
	if err != nil {
		return connFail("echo", err)
	}
	res.Bytes += er.Bytes
	if err := c.Close(0, echo.CloseReason); err != nil {
		return fail("echo", fmt.Errorf("closing: %w", err))
	}
	// Close returns once the connection is over: normally with our code 0; an error that ended
	// it before (the server's, an idle timeout) fails the dial even though the echoes passed.
	if ci := endpoint.CloseInfoOf(context.Cause(c.Context())); !ci.Normal() {
		return fail("echo", fmt.Errorf("the connection ended with %s before the client closed it", closeText(ci)))
	}
	res.OK = true
	return res
}

// failed is res ending in err at stage.
func failed(res peercontract.Result, stage string, err error) peercontract.Result {
	res.OK = false
	res.Stage = stage
	res.Error = err.Error()
	if code, ok := endpoint.ErrorCode(err); ok {
		res.ErrorCode = &code
	}
	return res
}

// localBindFor picks the dialer's socket address: loopback of the remote's family, the only
// network the project uses; any other remote gets the unspecified address of its family.
func localBindFor(remote netip.AddrPort) string {
	a := remote.Addr().Unmap()
	switch {
	case a.Is4() && a.IsLoopback():
		return "127.0.0.1:0"
	case a.Is4():
		return "0.0.0.0:0"
	case a.IsLoopback():
		return "[::1]:0"
	default:
		return "[::]:0"
	}
}

// closeText names how a connection ended: a transport error by its name, as
// `transport no_application_protocol (0x178) "reason"`.
func closeText(ci endpoint.CloseInfo) string {
	code := fmt.Sprintf("%#x", ci.Code)
	if ci.Kind == endpoint.CloseTransport {
		code = peercontract.Code(ci.Code).String()
	}
	return fmt.Sprintf("%s %s %q", ci.Kind, code, ci.Reason)
}
