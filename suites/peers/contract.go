package peers

import (
	"context"
	"fmt"
	"regexp"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// tapOutput is a tap as the contract's waits read it: the lines of the peer contract
// (docs/peer-contract.md) as they appear in a peer's output, whoever prints them.
type tapOutput struct{ tap *framework.Tap }

func (t tapOutput) WaitLine(ctx context.Context, from int, re *regexp.Regexp) (string, int, error) {
	l, _, next, err := t.tap.WaitFor(ctx, framework.Mark(from), re)
	return l.Text, int(next), err
}

// waitReady waits for the ready line in a server's output.
func waitReady(ctx context.Context, tap *framework.Tap, from framework.Mark) (peercontract.Ready, error) {
	r, _, err := peercontract.WaitReady(ctx, tapOutput{tap}, int(from))
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
	return peercontract.WaitConnection(ctx, tapOutput{s.tap}, int(s.since), remoteID)
}
