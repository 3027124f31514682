package cases

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

// echoSize is one payload size of the echo cases.
type echoSize struct {
	name, abbr string
	bytes      int
	// timeout bounds the cell when 30 s is too short: dissecting the wire of a large echo
	// takes tshark tens of seconds on a busy machine.
	timeout time.Duration
}

var echoSizes = []echoSize{
	{"0B", "E0", 0, 0},
	{"1B", "E1", 1, 0},
	{"1KiB", "E1K", 1 << 10, 0},
	{"64KiB", "E64K", 64 << 10, 0},
	{"1MiB", "E1M", 1 << 20, 0}, // past every flow-control window of the ESP32 profile
	// Past iroh's own default windows too: a client that writes the whole payload before it
	// reads the reply never finishes this one.
	{"16MiB", "E16M", 16 << 20, 120 * time.Second},
}

// EchoSizes: one echo of each payload size comes back identical.
func EchoSizes() []framework.Case {
	out := make([]framework.Case, 0, len(echoSizes))
	for _, s := range echoSizes {
		out = append(out, framework.Case{
			Name: "echo-" + s.name, Abbr: s.abbr,
			Description: fmt.Sprintf("one stream echoes %d bytes back identical", s.bytes),
			Needs:       payloadFits(s.bytes),
			Timeout:     cmp.Or(s.timeout, 30*time.Second),
			Run: func(ctx context.Context, c *framework.Cell) error {
				req := framework.DialRequest{ALPN: EchoALPN, Size: s.bytes, Count: 1, Timeout: 20 * time.Second}
				res, err := echoOnce(ctx, c, req)
				if err != nil {
					return err
				}
				recordThroughput(c, res)
				return checkSides(ctx, c, req, res)
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
		Needs:       all(streamsFit(10), payloadFits(1<<10)),
		Timeout:     30 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			req := framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 10, Streams: 1, Timeout: 20 * time.Second}
			res, err := echoOnce(ctx, c, req)
			if err != nil {
				return err
			}
			if len(res.EchoMS) != 10 {
				return fmt.Errorf("client reports %d echoes, want 10", len(res.EchoMS))
			}
			recordThroughput(c, res)
			return checkSides(ctx, c, req, res)
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
			return all(streamsFit(2*streams), payloadFits(64<<10))(client, server)
		},
		Timeout: 30 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			res, err := echoBothSides(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 64 << 10, Count: 2 * streams, Streams: streams, Timeout: 20 * time.Second})
			if err != nil {
				return err
			}
			// Their overlap and wall time are on the wire: the client's per-stream times overlap,
			// so their sum is not the time the echoes took.
			conn, readable, err := wireConnection(ctx, c)
			if err != nil || !readable {
				if err == nil {
					c.Notef("no throughput recorded: the streams' wall time is not on the wire")
				}
				return err
			}
			wall, err := concurrentOnWire(conn, streams, 2*streams)
			if err != nil {
				return onWire(firstStreamFrame(conn), "%v", err)
			}
			c.Notef("wire: %d streams at most at once; %d payload bytes in %s from the first stream frame to the last", conn.MaxConcurrentStreams, res.Bytes, wall)
			if wall > 0 {
				c.Record("throughput_mbps", float64(res.Bytes)*8/wall.Seconds()/1e6)
			}
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
			var ids []string
			for i := range conns {
				res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1, Timeout: 10 * time.Second})
				if err != nil {
					return fmt.Errorf("connection %d of %d: %w", i+1, conns, err)
				}
				handshakes += res.HandshakeMS
				ids = append(ids, res.EndpointID)
			}
			c.Record("handshake_ms", handshakes/conns)
			return checkEchoWire(ctx, c, EchoALPN, ids...)
		},
	}
}

// Idle: a connection idle for longer than both sides' idle timeouts (iroh and the Go peer
// announce 30 s) still echoes: only keep-alives can have kept it open.
func Idle() framework.Case {
	return framework.Case{
		Name: "idle", Abbr: "I",
		Description: fmt.Sprintf("a connection idle for %s (longer than both sides' idle timeouts, 30 s for iroh) still echoes", IdleTime),
		ClientNeeds: []framework.Feature{framework.FeatureIdleDial},
		Needs:       servesEcho,
		Timeout:     IdleTime + 30*time.Second,
		Waits:       IdleTime,
		Run: func(ctx context.Context, c *framework.Cell) error {
			_, err := echoBothSides(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 1 << 10, Count: 1, Idle: IdleTime, Timeout: IdleTime + 15*time.Second})
			if err != nil {
				return err
			}
			conn, readable, err := wireConnection(ctx, c)
			if err != nil {
				return err
			}
			if !readable { // the transport parameters are in the handshake, which still reads
				_, _, err := idleLongerThanTimeouts(conn, IdleTime.Seconds(), "by the client's account")
				return err
			}
			note, err := idleOnWire(conn)
			c.Notef("wire: %s", note)
			if err != nil {
				return fmt.Errorf("on the wire (wire.txt): %w", err) // a test bed error stays one
			}
			return nil
		},
	}
}

// IdleTime is how long the idle case keeps its connection idle: longer than the 30 s
// max_idle_timeout iroh and the Go peer announce, so that without keep-alives it would close.
const IdleTime = 35 * time.Second

// wireConnection is the cell's one echo connection on the wire. readable is false when its
// frames after the handshake cannot be read (QUIC multipath, see multipath): then nothing about
// its streams or PINGs can be checked, and the cell says so in its notes.
func wireConnection(ctx context.Context, c *framework.Cell) (conn *dissect.Connection, readable bool, err error) {
	_, conns, err := dialedWire(ctx, c)
	if err != nil {
		return nil, false, err
	}
	conn = conns[0]
	if multipath(conn) {
		c.Notef("wire: the connection negotiated QUIC multipath, whose 1-RTT frames tshark cannot read: its streams and PINGs are not checked on the wire")
		return conn, false, nil
	}
	return conn, true, nil
}

func firstStreamFrame(conn *dissect.Connection) int {
	frame := 0
	for _, st := range conn.Streams {
		if frame == 0 || st.FirstFrame < frame {
			frame = st.FirstFrame
		}
	}
	return frame
}

// concurrentOnWire checks that the client's echo streams overlapped on the wire, want of them at
// once, and returns the wall time from the first stream frame to the last: the time the echoes
// took together.
func concurrentOnWire(conn *dissect.Connection, want, count int) (time.Duration, error) {
	var first, last float64
	var n int
	for _, st := range conn.Streams {
		if st.Initiator != dissect.Client || !st.Bidi {
			continue
		}
		if n == 0 || st.First < first {
			first = st.First
		}
		last = max(last, st.Last)
		n++
	}
	if n != count {
		return 0, fmt.Errorf("the wire shows %d streams opened by the client, it echoed on %d", n, count)
	}
	if conn.MaxConcurrentStreams < want {
		return 0, fmt.Errorf("at most %d streams overlapped on the wire, want %d at once", conn.MaxConcurrentStreams, want)
	}
	return time.Duration((last - first) * float64(time.Second)), nil
}

// idleOnWire checks the idle time of a connection on the wire: from the connection's first
// packet to the first stream frame it lasted longer than both sides' max_idle_timeout (their
// transport parameters), and keep-alive PINGs crossed it, never further apart (nor from its
// ends) than the shorter idle timeout. It returns a line for the cell's notes.
func idleOnWire(conn *dissect.Connection) (string, error) {
	start, end := conn.Start, -1.0
	for _, st := range conn.Streams {
		if end < 0 || st.First < end {
			end = st.First
		}
	}
	if end < 0 {
		return "", fmt.Errorf("the wire shows no stream after the idle time")
	}
	idle := end - start
	_, shortest, err := idleLongerThanTimeouts(conn, idle, "on the wire")
	if err != nil {
		return "", err
	}
	pings := map[dissect.Side]int{}
	gap, prev := 0.0, start
	for _, p := range conn.Pings {
		if p.Time < start || p.Time > end {
			continue
		}
		pings[p.By]++
		gap, prev = max(gap, p.Time-prev), p.Time
	}
	gap = max(gap, end-prev)
	note := fmt.Sprintf("idle %.1f s on the wire (idle timeouts: client %s, server %s); PINGs during it: client %d, server %d; longest time without a PING %.1f s",
		idle, idleTimeout(conn, dissect.Client), idleTimeout(conn, dissect.Server), pings[dissect.Client], pings[dissect.Server], gap)
	if pings[dissect.Client]+pings[dissect.Server] == 0 {
		return note, fmt.Errorf("no PING crossed the wire during %.1f s idle: %s", idle, note)
	}
	if gap >= shortest {
		return note, fmt.Errorf("%.1f s passed without a PING, not less than the shorter idle timeout (%.0f s): %s", gap, shortest, note)
	}
	return note, nil
}

// idleLongerThanTimeouts checks that idle seconds exceed both sides' max_idle_timeout (their
// transport parameters, in the handshake even when the rest of the connection cannot be read)
// and returns the longer and the shorter timeout, in seconds. Idle times that do not cannot
// show keep-alives at work: a test bed error.
func idleLongerThanTimeouts(conn *dissect.Connection, idle float64, how string) (longest, shortest float64, err error) {
	for _, side := range []dissect.Side{dissect.Client, dissect.Server} {
		tp := conn.TransportParameters[side]
		if tp == nil || tp.MaxIdleTimeout == nil || *tp.MaxIdleTimeout == 0 {
			continue
		}
		t := float64(*tp.MaxIdleTimeout) / 1000
		longest = max(longest, t)
		if shortest == 0 || t < shortest {
			shortest = t
		}
	}
	if longest == 0 {
		return 0, 0, framework.Testbed(fmt.Errorf("neither side announces a max_idle_timeout: the idle time cannot exceed it"))
	}
	if idle <= longest {
		return 0, 0, framework.Testbed(fmt.Errorf("the connection was idle %.1f s %s, not longer than the longer idle timeout (%.0f s): the case cannot show keep-alives at work", idle, how, longest))
	}
	return longest, shortest, nil
}

func idleTimeout(conn *dissect.Connection, side dissect.Side) string {
	tp := conn.TransportParameters[side]
	if tp == nil || tp.MaxIdleTimeout == nil {
		return "none"
	}
	return fmt.Sprintf("%d ms", *tp.MaxIdleTimeout)
}
