package cases

import (
	"context"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// echoSize is one payload size of the echo cases.
type echoSize struct {
	name, abbr string
	bytes      int
}

var echoSizes = []echoSize{
	{"0B", "E0", 0},
	{"1B", "E1", 1},
	{"1KiB", "E1K", 1 << 10},
	{"64KiB", "E64K", 64 << 10},
	{"1MiB", "E1M", 1 << 20}, // past every flow-control window of the ESP32 profile
	// Past iroh's own default windows too: a client that writes the whole payload before it
	// reads the reply never finishes this one.
	{"16MiB", "E16M", 16 << 20},
}

// EchoSizes: one echo of each payload size comes back identical.
func EchoSizes() []framework.Case {
	out := make([]framework.Case, 0, len(echoSizes))
	for _, s := range echoSizes {
		out = append(out, framework.Case{
			Name: "echo-" + s.name, Abbr: s.abbr,
			Description: fmt.Sprintf("one stream echoes %d bytes back identical", s.bytes),
			Needs:       payloadFits(s.bytes),
			Timeout:     30 * time.Second,
			Run: func(ctx context.Context, c *framework.Cell) error {
				res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: s.bytes, Count: 1, Timeout: 20 * time.Second})
				if err != nil {
					return err
				}
				recordThroughput(c, res)
				return nil
			},
		})
	}
	return out
}

// recordThroughput records the echo throughput: payload bytes over echo time, one way.
func recordThroughput(c *framework.Cell, res peercontract.Result) {
	var total float64
	for _, ms := range res.EchoMS {
		total += ms
	}
	if total > 0 && res.Bytes >= 1<<10 {
		c.Record("throughput_mbps", float64(res.Bytes)*8/(total/1000)/1e6)
	}
}

// EchoStreamsInSequence: ten streams, one after another, on one connection.
func EchoStreamsInSequence() framework.Case {
	return framework.Case{
		Name: "echo-streams-sequential", Abbr: "SS",
		Description: "10 streams in sequence on one connection each echo 1 KiB",
		Needs:       payloadFits(1 << 10),
		Timeout:     30 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 10, Streams: 1, Timeout: 20 * time.Second})
			if err != nil {
				return err
			}
			if len(res.EchoMS) != 10 {
				return fmt.Errorf("client reports %d echoes, want 10", len(res.EchoMS))
			}
			recordThroughput(c, res)
			return nil
		},
	}
}

// EchoStreamsConcurrent: streams at once, where both peers declare concurrent streams.
func EchoStreamsConcurrent() framework.Case {
	const streams = 4
	return framework.Case{
		Name: "echo-streams-concurrent", Abbr: "SC",
		Description: fmt.Sprintf("%d concurrent streams on one connection each echo 64 KiB", streams),
		Needs: func(client, server framework.Manifest) error {
			for _, m := range []framework.Manifest{client, server} {
				if n := m.Limits.ConcurrentBidiStreams; n < streams {
					return framework.NotDeclared(m.Name, "%s declares %d concurrent bidirectional streams", m.Name, n)
				}
			}
			return payloadFits(64<<10)(client, server)
		},
		Timeout: 30 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 64 << 10, Count: 2 * streams, Streams: streams, Timeout: 20 * time.Second})
			if err != nil {
				return err
			}
			recordThroughput(c, res)
			return nil
		},
	}
}

// EchoConnectionsInSequence: ten connections one after another, each echoing.
func EchoConnectionsInSequence() framework.Case {
	const conns = 10
	return framework.Case{
		Name: "echo-connections-sequential", Abbr: "CS",
		Description: fmt.Sprintf("%d connections in sequence each echo 1 KiB", conns),
		Needs:       payloadFits(1 << 10),
		Timeout:     60 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			var handshakes float64
			for i := range conns {
				res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1, Timeout: 10 * time.Second})
				if err != nil {
					return fmt.Errorf("connection %d of %d: %w", i+1, conns, err)
				}
				handshakes += res.HandshakeMS
			}
			c.Record("handshake_ms", handshakes/conns)
			return nil
		},
	}
}

// Idle: a connection idle for longer than two keep-alive periods (iroh: 5 s) still echoes.
func Idle() framework.Case {
	const idle = 12 * time.Second
	return framework.Case{
		Name: "idle", Abbr: "I",
		Description: fmt.Sprintf("a connection idle for %s (more than two keep-alive periods) still echoes", idle),
		ClientNeeds: []framework.Feature{framework.FeatureIdleDial},
		Needs:       servesEcho,
		Timeout:     idle + 30*time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			_, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1, Idle: idle, Timeout: idle + 15*time.Second})
			return err
		},
	}
}
