package endpoint

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

// Role says which side of a connection this endpoint was.
type Role string

const (
	RoleClient Role = "client"
	RoleServer Role = "server"
)

// Conn is an authenticated connection: the remote EndpointId and the ALPN are known.
type Conn struct {
	quic      *quic.Conn
	role      Role
	remote    key.EndpointID
	alpn      string
	handshake time.Duration

	streams atomic.Int64
	sent    atomic.Uint64
	recv    atomic.Uint64
}

func newConn(qc *quic.Conn, role Role, handshake time.Duration) (*Conn, error) {
	state := qc.ConnectionState().TLS
	remote, err := rpk.PeerID(state)
	if err != nil {
		return nil, fmt.Errorf("remote endpoint id: %w", err)
	}
	return &Conn{quic: qc, role: role, remote: remote, alpn: state.NegotiatedProtocol, handshake: handshake}, nil
}

// RemoteID is the remote endpoint's id, taken from its raw public key.
func (c *Conn) RemoteID() key.EndpointID { return c.remote }

// ALPN is the negotiated application protocol.
func (c *Conn) ALPN() string { return c.alpn }

// Role says whether this endpoint dialed (client) or accepted (server) the connection.
func (c *Conn) Role() Role { return c.role }

// Handshake is how long the handshake took: for a dial, from the call to the completed
// handshake; for an accepted connection, from the first Initial packet to the completed handshake.
func (c *Conn) Handshake() time.Duration { return c.handshake }

// QUIC is the underlying quic-go connection, for what this type does not wrap.
func (c *Conn) QUIC() *quic.Conn { return c.quic }

// Context ends when the connection is closed; its cause is the closing error.
func (c *Conn) Context() context.Context { return c.quic.Context() }

// TLS is what the handshake negotiated.
func (c *Conn) TLS() TLSInfo { return tlsInfoOf(c.quic.ConnectionState().TLS) }

// OpenStream opens a bidirectional stream, waiting for stream credit until ctx ends.
func (c *Conn) OpenStream(ctx context.Context) (*Stream, error) {
	s, err := c.quic.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	c.streams.Add(1)
	return &Stream{Stream: s, c: c}, nil
}

// AcceptStream waits for the peer's next bidirectional stream.
func (c *Conn) AcceptStream(ctx context.Context) (*Stream, error) {
	s, err := c.quic.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	c.streams.Add(1)
	return &Stream{Stream: s, c: c}, nil
}

// Close closes the connection with an application error code and reason (iroh's
// Connection::close). It does not wait for the peer.
func (c *Conn) Close(code uint64, reason string) error {
	return c.quic.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

// Record describes the connection so far; after it ended (Context done) it is final.
func (c *Conn) Record() Record {
	stats := c.quic.ConnectionStats()
	r := Record{
		Role:            c.role,
		RemoteID:        c.remote,
		Authenticated:   true,
		RemoteAddr:      addrString(c.quic.RemoteAddr()),
		ALPN:            c.alpn,
		Handshake:       c.handshake,
		TLS:             c.TLS(),
		Streams:         int(c.streams.Load()),
		PayloadSent:     c.sent.Load(),
		PayloadReceived: c.recv.Load(),
		WireSent:        stats.BytesSent,
		WireReceived:    stats.BytesReceived,
		RTT:             stats.SmoothedRTT,
	}
	if c.quic.Context().Err() != nil {
		cause := context.Cause(c.quic.Context())
		r.Close = CloseInfoOf(cause)
		if !r.Close.Normal() {
			r.Err = cause
		}
	}
	return r
}

// Stream is a bidirectional stream whose Read and Write count payload bytes for the Record.
type Stream struct {
	*quic.Stream
	c *Conn
}

// Read reads stream data.
func (s *Stream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	s.c.recv.Add(uint64(n))
	return n, err
}

// Write writes stream data.
func (s *Stream) Write(p []byte) (int, error) {
	n, err := s.Stream.Write(p)
	s.c.sent.Add(uint64(n))
	return n, err
}

// TLSInfo is what the TLS handshake negotiated.
type TLSInfo struct {
	Version     uint16
	CipherSuite uint16
	// Group is the key exchange group (crypto/tls ConnectionState.CurveID).
	Group     tls.CurveID
	DidResume bool
}

// CipherSuiteName is the IANA name of the cipher suite, e.g. TLS_AES_128_GCM_SHA256.
func (t TLSInfo) CipherSuiteName() string { return tls.CipherSuiteName(t.CipherSuite) }

// GroupName is the key exchange group's name, e.g. X25519 or X25519MLKEM768.
func (t TLSInfo) GroupName() string {
	if t.Group == 0 {
		return ""
	}
	return t.Group.String()
}

func tlsInfoOf(s tls.ConnectionState) TLSInfo {
	return TLSInfo{Version: s.Version, CipherSuite: s.CipherSuite, Group: s.CurveID, DidResume: s.DidResume}
}

// Record is what the peer remembers of one connection, for reports and the serve output.
type Record struct {
	Role Role
	// RemoteID is the remote endpoint's id; valid when Authenticated (the handshake completed).
	RemoteID      key.EndpointID
	Authenticated bool
	RemoteAddr    string
	ALPN          string
	Handshake     time.Duration
	TLS           TLSInfo
	// Streams is the number of bidirectional streams opened or accepted.
	Streams int
	// PayloadSent and PayloadReceived count stream payload bytes.
	PayloadSent, PayloadReceived uint64
	// WireSent and WireReceived count QUIC bytes (headers, retransmissions; no UDP/IP headers).
	WireSent, WireReceived uint64
	RTT                    time.Duration
	// Close says how the connection ended; its Kind is empty while it is open.
	Close CloseInfo
	// Err is what went wrong; nil when the connection ended normally.
	Err error
}
