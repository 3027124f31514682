package peers

import (
	"context"
	"fmt"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// waitReady waits for the ready line in a server's output.
func waitReady(ctx context.Context, tap *framework.Tap, from framework.Mark) (peercontract.Ready, error) {
	r, _, err := peercontract.WaitReady(ctx, tap, int(from))
	if err != nil {
		return r, fmt.Errorf("no ready line: %w", err)
	}
	return r, nil
}

// contractServer is a running server that speaks the contract on its output.
type contractServer struct {
	ready peercontract.Ready
	tap   *framework.Tap
	since framework.Mark
	stop  func(ctx context.Context) error
}

func (s *contractServer) ID() string      { return s.ready.EndpointID }
func (s *contractServer) Ticket() string  { return s.ready.Ticket }
func (s *contractServer) Addrs() []string { return s.ready.Addrs }

func (s *contractServer) Stop(ctx context.Context) error { return s.stop(ctx) }

// WaitConnection finds the connection line for remoteID after the server became ready.
func (s *contractServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	return peercontract.WaitConnection(ctx, s.tap, int(s.since), remoteID)
}
