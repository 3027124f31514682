package peers

import (
	"context"
	"fmt"
	"strings"

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

	cells cellCursor
}

// CellStarted marks where the cell's output begins (framework.CellAware).
func (s *contractServer) CellStarted() { s.cells.start(s.tap.Mark()) }

func (s *contractServer) ID() string      { return s.ready.EndpointID }
func (s *contractServer) Ticket() string  { return s.ready.Ticket }
func (s *contractServer) Addrs() []string { return s.ready.Addrs }

func (s *contractServer) Stop(ctx context.Context) error { return s.stop(ctx) }

// WaitConnection finds the connection line for remoteID after the server became ready, after
// the current cell began and after the one the previous wait for remoteID returned.
func (s *contractServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	from := int(s.cells.from(s.since, remoteID))
	for {
		line, next, err := s.tap.WaitLine(ctx, from, peercontract.ConnectionLine)
		if err != nil {
			return peercontract.Connection{}, err
		}
		from = next
		c, err := peercontract.ParseConnection(line)
		if err != nil {
			return c, err
		}
		if remoteID == "" || strings.EqualFold(c.RemoteID, remoteID) {
			s.cells.took(remoteID, framework.Mark(next))
			return c, nil
		}
	}
}
