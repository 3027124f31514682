// Package contract runs the Go peer's side of the peer contract (docs/peer-contract.md): serve
// and dial, with the JSON lines they print. The irohconf CLI prints them; the suites can call the
// same functions in their own process.
package contract

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/irohconf/irohconf/iroh/endpoint"
)

// Ready is serve's first line.
type Ready struct {
	Event      string   `json:"event"` // "ready"
	EndpointID string   `json:"endpoint_id"`
	Ticket     string   `json:"ticket"`
	Addrs      []string `json:"addrs"`
	Version    string   `json:"version"`
}

// Connection is serve's line for one finished (or refused) connection. The fields after Error
// go beyond the contract: what the Go peer measures of each connection.
type Connection struct {
	Event    string `json:"event"` // "connection"
	RemoteID string `json:"remote_id"`
	ALPN     string `json:"alpn"`
	// Bytes is the payload echoed on this connection.
	Bytes   uint64 `json:"bytes"`
	Streams int    `json:"streams"`
	// CloseCode is the application close code or the transport error code; nil when the
	// connection ended without one (a timeout).
	CloseCode   *uint64 `json:"close_code"`
	CloseReason string  `json:"close_reason"`
	Error       string  `json:"error"`

	CloseKind     string  `json:"close_kind"`
	CloseByRemote bool    `json:"close_by_remote"`
	RemoteAddr    string  `json:"remote_addr"`
	HandshakeMS   float64 `json:"handshake_ms"`
	CipherSuite   string  `json:"cipher_suite"`
	Group         string  `json:"group"`
	BytesIn       uint64  `json:"payload_in"`
	BytesOut      uint64  `json:"payload_out"`
	WireIn        uint64  `json:"wire_in"`
	WireOut       uint64  `json:"wire_out"`
}

// ConnectionOf turns an endpoint record into its serve line.
func ConnectionOf(r endpoint.Record) Connection {
	c := Connection{
		Event:         "connection",
		ALPN:          r.ALPN,
		Bytes:         r.PayloadSent,
		Streams:       r.Streams,
		CloseReason:   r.Close.Reason,
		CloseKind:     string(r.Close.Kind),
		CloseByRemote: r.Close.Remote,
		RemoteAddr:    r.RemoteAddr,
		HandshakeMS:   ms(r.Handshake),
		CipherSuite:   r.TLS.CipherSuiteName(),
		Group:         r.TLS.GroupName(),
		BytesIn:       r.PayloadReceived,
		BytesOut:      r.PayloadSent,
		WireIn:        r.WireReceived,
		WireOut:       r.WireSent,
	}
	if r.Authenticated {
		c.RemoteID = r.RemoteID.String()
	} else {
		c.CipherSuite, c.Group = "", "" // nothing was negotiated
	}
	if r.Close.HasCode() {
		code := r.Close.Code
		c.CloseCode = &code
	}
	if r.Err != nil {
		c.Error = r.Err.Error()
	}
	return c
}

// Result is dial's one line. The fields after ErrorCode go beyond the contract.
type Result struct {
	Event      string `json:"event"` // "result"
	OK         bool   `json:"ok"`
	EndpointID string `json:"endpoint_id"`
	RemoteID   string `json:"remote_id"`
	ALPN       string `json:"alpn"`
	// HandshakeMS is the first connection's handshake; HandshakesMS has every connection's.
	HandshakeMS float64   `json:"handshake_ms"`
	EchoMS      []float64 `json:"echo_ms"`
	Bytes       int64     `json:"bytes"`
	Error       string    `json:"error"`
	// ErrorCode is the QUIC transport or application error code of a refused or failed
	// connection, else nil.
	ErrorCode *uint64 `json:"error_code"`

	CipherSuite string `json:"cipher_suite"`
	Group       string `json:"group"`
	// HandshakesMS and Connections: every connection of --connections or --duration.
	HandshakesMS []float64 `json:"handshakes_ms"`
	Connections  int       `json:"connections"`
	// Stage is where a failed dial stopped: "input", "bind", "handshake", "idle", "echo".
	Stage string `json:"stage,omitempty"`
}

// Version names this peer for the ready line: the project's Go peer, its QUIC library and Go.
func Version() string {
	v := "irohconf-go"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/quic-go/quic-go" {
				v += " quic-go/" + d.Version
			}
		}
	}
	return v + " " + runtime.Version()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
