package peers

import (
	"context"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// The board as a client: our firmware's console command `dial <ticket> [size] [count]` dials
// from the board's own endpoint and prints one result line. A pair with the board as client
// opens and boots the board (framework.SessionClient), as a pair with it as server does.

// Dial is not how a board dials: the framework dials through the session StartClient starts.
func (p *BoardPeer) Dial(context.Context, framework.DialRequest, *framework.Tap) (peercontract.Result, error) {
	return peercontract.Result{}, framework.ErrDialOutsideSession
}

// StartClient opens and boots the board for a pair in which it dials.
func (p *BoardPeer) StartClient(ctx context.Context, log *framework.Tap) (framework.ClientSession, error) {
	if !p.profile.HasConsole() {
		return nil, fmt.Errorf("board %s: its firmware has no console commands, so it cannot be asked to dial", p.profile.Name)
	}
	b, err := p.StartBoard(ctx, framework.ServerOptions{}, log)
	if err != nil {
		return nil, err
	}
	return &boardDialer{boardServer: b.(*boardServer)}, nil
}

// boardDialer is a booted board that dials; it watches for crashes and meters heap as the
// board does as a server.
type boardDialer struct{ *boardServer }

// Dial runs one dial command. The board dials echo/0 only, one stream at a time, with its own
// key, and writes no TLS key log; a request for anything else is the suite's error, since the
// board's manifest does not declare it.
func (c *boardDialer) Dial(ctx context.Context, req framework.DialRequest, _ *framework.Tap) (peercontract.Result, error) {
	switch {
	case req.ALPN != "" && req.ALPN != boardDialALPN:
		return peercontract.Result{}, fmt.Errorf("the board dials %s only, not %q", boardDialALPN, req.ALPN)
	case req.Streams > 1:
		return peercontract.Result{}, fmt.Errorf("the board dials one stream at a time, not %d", req.Streams)
	case req.Idle > 0:
		return peercontract.Result{}, fmt.Errorf("the board cannot hold a connection idle before echoing")
	case req.Secret != "":
		return peercontract.Result{}, fmt.Errorf("the board dials with its own key; it cannot be given another")
	}
	start := time.Now()
	res, err := c.b.Dial(ctx, req.Ticket, req.Size, req.Count)
	if err != nil {
		return res, err
	}
	c.b.Console().Notef("dial took %v: ok=%v error=%q", time.Since(start).Round(time.Millisecond), res.OK, res.Error)
	return res, nil
}

// boardDialALPN is the one ALPN the firmware's dial command offers.
const boardDialALPN = "echo/0"
