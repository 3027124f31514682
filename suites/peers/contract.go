package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/irohconf/irohconf/suites/framework"
)

// The JSON lines of the peer contract (docs/peer-contract.md) as they appear in a peer's
// output, whoever prints them: the Go peer in-process, the irohconf binary, upstream in Docker.
var (
	readyLine      = regexp.MustCompile(`^\{.*"event":\s*"ready".*\}$`)
	connectionLine = regexp.MustCompile(`^\{.*"event":\s*"connection".*\}$`)
)

// readyEvent is the contract's ready line.
type readyEvent struct {
	EndpointID string   `json:"endpoint_id"`
	Ticket     string   `json:"ticket"`
	Addrs      []string `json:"addrs"`
	Version    string   `json:"version"`
}

// waitReady waits for the ready line in a server's output.
func waitReady(ctx context.Context, tap *framework.Tap, from framework.Mark) (readyEvent, error) {
	line, _, _, err := tap.WaitFor(ctx, from, readyLine)
	if err != nil {
		return readyEvent{}, fmt.Errorf("no ready line: %w", err)
	}
	var r readyEvent
	if err := json.Unmarshal([]byte(line.Text), &r); err != nil {
		return readyEvent{}, fmt.Errorf("ready line is not the contract's JSON: %w: %s", err, line.Text)
	}
	if r.EndpointID == "" || r.Ticket == "" || len(r.Addrs) == 0 {
		return readyEvent{}, fmt.Errorf("ready line lacks endpoint_id, ticket or addrs: %s", line.Text)
	}
	return r, nil
}

// contractServer is a running server that speaks the contract on its output.
type contractServer struct {
	ready readyEvent
	tap   *framework.Tap
	since framework.Mark
	stop  func(ctx context.Context) error
}

func (s *contractServer) ID() string      { return s.ready.EndpointID }
func (s *contractServer) Ticket() string  { return s.ready.Ticket }
func (s *contractServer) Addrs() []string { return s.ready.Addrs }

func (s *contractServer) Stop(ctx context.Context) error { return s.stop(ctx) }

// WaitConnection finds the connection line for remoteID after the server became ready.
func (s *contractServer) WaitConnection(ctx context.Context, remoteID string) (framework.ConnEvent, error) {
	from := s.since
	for {
		line, _, next, err := s.tap.WaitFor(ctx, from, connectionLine)
		if err != nil {
			return framework.ConnEvent{}, err
		}
		from = next
		var ev framework.ConnEvent
		if err := json.Unmarshal([]byte(line.Text), &ev); err != nil {
			return framework.ConnEvent{}, fmt.Errorf("connection line is not the contract's JSON: %w: %s", err, line.Text)
		}
		if remoteID == "" || strings.EqualFold(ev.RemoteID, remoteID) {
			return ev, nil
		}
	}
}
