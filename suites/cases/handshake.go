package cases

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// Handshake: the client dials the server's ticket; both sides see each other's id and
// negotiated the dialed ALPN; the connection closes with code 0.
func Handshake() framework.Case {
	return framework.Case{
		Name: "handshake", Abbr: "H",
		Description: "the client dials the server's ticket; both see each other's id and negotiate the dialed ALPN; the connection closes with code 0",
		Needs:       servesEcho,
		Timeout:     20 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			_, err := echoBothSides(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 13, Count: 1})
			return err
		},
	}
}

// echoBothSides is echoOnce, then checkSides.
func echoBothSides(ctx context.Context, c *framework.Cell, req framework.DialRequest) (peercontract.Result, error) {
	res, err := echoOnce(ctx, c, req)
	if err != nil {
		return res, err
	}
	return res, checkSides(ctx, c, req, res)
}

// checkSides checks the server's and the wire's account of the connection a dial echoed on.
func checkSides(ctx context.Context, c *framework.Cell, req framework.DialRequest, res peercontract.Result) error {
	return errors.Join(checkServerSaw(ctx, c, req, res), checkEchoWire(ctx, c, req.ALPN, res.EndpointID))
}

// echoOnce dials the server's ticket with req and checks what the client saw: success, the
// server's id, the ALPN. It records the handshake time.
func echoOnce(ctx context.Context, c *framework.Cell, req framework.DialRequest) (peercontract.Result, error) {
	req.Ticket = c.Server.Ticket()
	if req.Timeout == 0 {
		req.Timeout = 10 * time.Second
	}
	res, err := c.Dial(ctx, req)
	if err != nil {
		return res, err
	}
	return res, checkDialed(c, req, res)
}

func checkDialed(c *framework.Cell, req framework.DialRequest, res peercontract.Result) error {
	if !res.OK {
		return fmt.Errorf("dial failed: %s%s", res.Error, codeSuffix(res.ErrorCode))
	}
	if res.RemoteID != c.Server.ID() {
		return fmt.Errorf("client saw remote id %s, the server announced %s", res.RemoteID, c.Server.ID())
	}
	if res.ALPN != req.ALPN {
		return fmt.Errorf("client negotiated ALPN %q, it dialed %q", res.ALPN, req.ALPN)
	}
	if want := int64(req.Size) * int64(req.Count); res.Bytes != want {
		return fmt.Errorf("client echoed %d bytes, want %d", res.Bytes, want)
	}
	c.Record("handshake_ms", res.HandshakeMS)
	return nil
}

// checkServerSaw waits for the server's report of the client's connection and checks it: the
// client's id, the ALPN the server negotiated (a board's console names none), the payload it
// echoed, and a normal end with close code 0 where the server reports a code.
func checkServerSaw(ctx context.Context, c *framework.Cell, req framework.DialRequest, res peercontract.Result) error {
	if res.EndpointID == "" {
		return fmt.Errorf("the client did not report its own endpoint id")
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ev, err := c.Server.WaitConnection(wctx, res.EndpointID)
	if err != nil {
		return fmt.Errorf("the server did not report the connection from %s: %w", res.EndpointID, err)
	}
	c.Notef("server saw: remote=%s alpn=%q bytes=%d streams=%d close=%s error=%q", ev.RemoteID, ev.ALPN, ev.Bytes, ev.Streams, peercontract.CodeOf(ev.CloseCode), ev.Error)
	if ev.RemoteID != res.EndpointID {
		return fmt.Errorf("server saw remote id %s, the client is %s", ev.RemoteID, res.EndpointID)
	}
	if _, board := c.Server.(framework.Board); ev.ALPN == "" && !board {
		return fmt.Errorf("the server did not report the ALPN it negotiated")
	}
	if ev.ALPN != "" && ev.ALPN != req.ALPN {
		return fmt.Errorf("server negotiated ALPN %q, the client dialed %q", ev.ALPN, req.ALPN)
	}
	if ev.Error != "" {
		return fmt.Errorf("server reports the connection ended with an error: %s", ev.Error)
	}
	if ev.CloseCode != nil && *ev.CloseCode != 0 {
		return fmt.Errorf("server saw close code %s, want 0", peercontract.CodeOf(ev.CloseCode))
	}
	if want := int64(req.Size) * int64(req.Count); ev.Bytes != want {
		return fmt.Errorf("server echoed %d bytes, want %d", ev.Bytes, want)
	}
	return nil
}

func codeSuffix(code *uint64) string {
	if code == nil {
		return ""
	}
	return " (error code " + peercontract.CodeOf(code) + ")"
}
