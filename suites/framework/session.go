package framework

import (
	"context"
	"errors"

	"github.com/irohconf/irohconf/peercontract"
)

// SessionClient is a client that must be started before it dials and stopped after: a board,
// opened and booted for a (client, server) pair and closed when the pair ends, as a server is.
// The framework dials through the session; the peer's own Dial is not used.
type SessionClient interface {
	ClientPeer
	StartClient(ctx context.Context, log *Tap) (ClientSession, error)
}

// ClientSession is a started SessionClient. It may also be a HeapMeter and a CrashWatcher.
type ClientSession interface {
	Dial(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error)
	Stop(ctx context.Context) error
}

// ErrDialOutsideSession is what a SessionClient's own Dial returns.
var ErrDialOutsideSession = errors.New("this client dials only in a started session (StartClient)")

// sessionPeer is a SessionClient as the cells of a pair see it: the peer, dialing through its
// session, metering heap and watching for crashes where the session can.
type sessionPeer struct {
	ClientPeer
	session ClientSession
}

func (s sessionPeer) Dial(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error) {
	return s.session.Dial(ctx, req, log)
}

func (s sessionPeer) HeapWindow(ctx context.Context) (HeapReading, error) {
	if m, ok := s.session.(HeapMeter); ok {
		return m.HeapWindow(ctx)
	}
	return HeapReading{}, ErrNoHeap
}

func (s sessionPeer) Crashed() error {
	if w, ok := s.session.(CrashWatcher); ok {
		return w.Crashed()
	}
	return nil
}
