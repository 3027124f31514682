package cases

import (
	"testing"

	"github.com/irohconf/irohconf/suites/framework"
)

// On a peer that serves one stream per connection (the iroh ESP32 examples' firmware) the cases
// that open more are unsupported, declared, not failed; the one-stream cases still run.
func TestStreamsPerConnection(t *testing.T) {
	client := framework.Manifest{Name: "go", Roles: []framework.Role{framework.RoleClient},
		Limits: framework.Limits{ConcurrentBidiStreams: 100}}
	example := framework.Manifest{Name: "example", Roles: []framework.Role{framework.RoleServer}, ALPNs: []string{EchoALPN},
		Limits: framework.Limits{ConcurrentBidiStreams: 100, StreamsPerConnection: 1}}
	unlimited := example
	unlimited.Limits.StreamsPerConnection = 0

	for _, k := range []framework.Case{EchoStreamsInSequence(), EchoStreamsConcurrent()} {
		err := k.Needs(client, example)
		if outcome, reason := framework.Classify(err); outcome != framework.Unsupported {
			t.Errorf("%s on one stream per connection: %s %q, want unsupported", k.Name, outcome, reason)
		}
		if err := k.Needs(client, unlimited); err != nil {
			t.Errorf("%s without a limit: %v", k.Name, err)
		}
	}
	for _, k := range append(EchoSizes(), EchoConnectionsInSequence()) {
		if err := k.Needs(client, example); err != nil {
			t.Errorf("%s opens one stream per connection, but: %v", k.Name, err)
		}
	}
}
