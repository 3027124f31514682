package peercontract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// DefaultDialTimeout bounds a whole dial when the request names no timeout.
const DefaultDialTimeout = 10 * time.Second

// The events a line names.
const (
	EventReady      = "ready"
	EventConnection = "connection"
	EventResult     = "result"
)

// LinePattern matches a line of the given event (its text, without the line end).
func LinePattern(event string) string { return `^` + eventObject(event) + `$` }

// LogPattern finds a line of the given event in a whole log (lines ending in \n or \r\n), for a
// log-based wait (testcontainers) that takes a pattern; its first group is the line.
func LogPattern(event string) string { return `(?m)^(` + eventObject(event) + `)\r?$` }

func eventObject(event string) string {
	return `\{.*"event":\s*"` + regexp.QuoteMeta(event) + `".*\}`
}

var (
	ReadyLine      = regexp.MustCompile(LinePattern(EventReady))
	ConnectionLine = regexp.MustCompile(LinePattern(EventConnection))
)

// Ready is serve's first line.
type Ready struct {
	Event      string   `json:"event"` // "ready"
	EndpointID string   `json:"endpoint_id"`
	Ticket     string   `json:"ticket"`
	Addrs      []string `json:"addrs"`
	Version    string   `json:"version"`
}

// ParseReady reads a ready line and checks that it names what the contract requires.
func ParseReady(line string) (Ready, error) {
	var r Ready
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return r, fmt.Errorf("ready line is not the contract's JSON: %w: %s", err, line)
	}
	if r.EndpointID == "" || r.Ticket == "" || len(r.Addrs) == 0 || r.Version == "" {
		return r, fmt.Errorf("ready line lacks endpoint_id, ticket, addrs or version: %s", line)
	}
	return r, nil
}

// Connection is serve's line for one finished (or refused) connection. Fields a server does not
// report (a board's console names no ALPN or close code) are left empty / nil. The fields after
// Error go beyond the contract: what the Go peer measures of each connection.
type Connection struct {
	Event    string `json:"event"` // "connection"
	RemoteID string `json:"remote_id"`
	// ALPN is the protocol the server negotiated.
	ALPN string `json:"alpn"`
	// Bytes is the payload echoed on this connection.
	Bytes   int64 `json:"bytes"`
	Streams int   `json:"streams"`
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

// ParseConnection reads a connection line.
func ParseConnection(line string) (Connection, error) {
	var c Connection
	if err := json.Unmarshal([]byte(line), &c); err != nil {
		return c, fmt.Errorf("connection line is not the contract's JSON: %w: %s", err, line)
	}
	return c, nil
}

// Result is dial's one line. A refused or failed dial is a result with OK false. The fields
// after ErrorCode go beyond the contract.
type Result struct {
	Event      string `json:"event"` // "result"
	OK         bool   `json:"ok"`
	EndpointID string `json:"endpoint_id"`
	RemoteID   string `json:"remote_id"`
	// ALPN is the ALPN the handshake negotiated (the server's choice among those the client
	// offered); empty when the handshake did not finish.
	ALPN        string    `json:"alpn"`
	HandshakeMS float64   `json:"handshake_ms"`
	EchoMS      []float64 `json:"echo_ms"`
	Bytes       int64     `json:"bytes"`
	Error       string    `json:"error"`
	// ErrorCode is the QUIC transport or application error code of a refused or failed
	// connection, else nil.
	ErrorCode *uint64 `json:"error_code"`

	CipherSuite string `json:"cipher_suite"`
	Group       string `json:"group"`
	// HandshakesMS has every connection's handshake (HandshakeMS is the first's) and
	// Connections counts them: dial --connections and --duration.
	HandshakesMS []float64 `json:"handshakes_ms"`
	Connections  int       `json:"connections"`
	// Stage is where a failed dial stopped: "input", "bind", "handshake", "idle", "echo".
	Stage string `json:"stage,omitempty"`
}

// ParseResult reads a result line.
func ParseResult(line string) (Result, error) {
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return r, fmt.Errorf("result line is not the contract's JSON: %w: %s", err, line)
	}
	return r, nil
}

// DecodedTicket is one answer of `ticket decode`: the content, or what is wrong with it.
type DecodedTicket struct {
	Ticket     string          `json:"ticket"`
	EndpointID string          `json:"endpoint_id,omitempty"`
	Addrs      json.RawMessage `json:"addrs,omitempty"`
	Error      string          `json:"error,omitempty"`
}
