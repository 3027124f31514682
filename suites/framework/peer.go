package framework

import (
	"context"
	"time"

	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/peercontract"
)

// Peer is one implementation under test as the suite drives it. A driver in suites/peers
// implements it; cases only ever see the interfaces below.
type Peer interface {
	Manifest() Manifest
	// Version is what the peer reports about itself (known after Prepare).
	Version() string
	// Runtime says how the suite runs it: in-process, process, docker, process-fallback, pty, serial.
	Runtime() string
	// Prepare builds or checks what the peer needs (binaries, images, boards) once per run.
	Prepare(ctx context.Context) error
}

// ServerPeer is a peer that can serve. StartServer starts one server for a set of cells; the
// framework stops it. Everything the server prints goes to log.
type ServerPeer interface {
	Peer
	StartServer(ctx context.Context, opts ServerOptions, log *Tap) (Server, error)
}

// ServerOptions configure a server for one (client, server) pair.
type ServerOptions struct {
	// ALPNs to serve; empty means what the manifest declares.
	ALPNs []string
	// Secret fixes the server's key (hex seed); empty means a fresh one.
	Secret string
	// KeyLogDir, when set, asks the server to write TLS key logs there.
	KeyLogDir string
	// Bind is the one UDP address a server that runs on this machine binds; empty means the
	// driver's default (127.0.0.1:0). The matrix sets ServerBind (bind.go).
	Bind string
}

// Server is a running server.
type Server interface {
	// ID is the endpoint id the server announced.
	ID() string
	// Ticket is the ticket the server printed.
	Ticket() string
	// Addrs are the addresses it announced as listening.
	Addrs() []string
	// WaitConnection waits until the server reports a finished connection from remoteID
	// (an empty remoteID matches any), with the context's deadline.
	WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error)
	// Stop stops the server and releases everything it holds. It is safe to call twice.
	Stop(ctx context.Context) error
}

// ClientPeer is a peer that can dial.
type ClientPeer interface {
	Peer
	Dial(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error)
}

// DialRequest is one `dial` of the peer contract.
type DialRequest struct {
	Ticket  string
	ALPN    string
	Size    int
	Count   int
	Streams int
	Idle    time.Duration
	Timeout time.Duration
	// Secret fixes the dialer's key (hex seed); empty means a fresh one.
	Secret string
	// KeyLog, when set, is a file path for the TLS key log.
	KeyLog string
}

// TicketDecoder is a peer that decodes tickets; results come back in input order.
type TicketDecoder interface {
	DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error)
}

// Misbehaviour is how a misbehaving client departs from iroh for the refusal cases.
type Misbehaviour string

const (
	MisbehaveUnknownALPN Misbehaviour = "unserved-alpn"
	MisbehavePlainX509   Misbehaviour = "plain-x509"
	MisbehaveNoClientKey Misbehaviour = "no-client-key"
	// MisbehaveUnknownALPNLargeHello: an unserved ALPN in a ClientHello that spans two QUIC
	// Initial packets (a post-quantum key share), so the refusal must survive reassembly.
	MisbehaveUnknownALPNLargeHello Misbehaviour = "unserved-alpn-two-packet-hello"
)

// KeyShareClient is a client that can choose its key exchange groups.
type KeyShareClient interface {
	// DialPostQuantum dials offering X25519MLKEM768 first: its key share makes the ClientHello
	// span two QUIC Initial packets.
	DialPostQuantum(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error)
}

// SNIMode is the server name a client sends.
type SNIMode string

const (
	SNINone        SNIMode = "none"         // iroh after 1.0.3
	SNIIrohInvalid SNIMode = "iroh-invalid" // <base32hex(id)>.iroh.invalid, iroh up to 1.0.3
)

// MisbehavingClient is a client that can break the rules on purpose (the Go peer).
type MisbehavingClient interface {
	DialMisbehaving(ctx context.Context, req DialRequest, how Misbehaviour, log *Tap) (peercontract.Result, error)
}

// SNIClient is a client that can choose its SNI.
type SNIClient interface {
	DialWithSNI(ctx context.Context, req DialRequest, sni SNIMode, log *Tap) (peercontract.Result, error)
}

// Board is a server with a console: the firmware on a board or the virtual board.
type Board interface {
	Server
	// Reset resets the board and waits until it is ready again; it returns the boot time.
	Reset(ctx context.Context) (time.Duration, error)
	// Status runs the status command.
	Status(ctx context.Context) (BoardStatus, error)
	// BootTime is how long the last boot took from reset to ready.
	BootTime() time.Duration
}

// CellAware is a server that is told when each cell begins, so that what it reports for a cell
// (WaitConnection) comes from that cell: a client with a fixed id (a board) dials it in many
// cells, and a connection a cell did not wait for is not the next cell's.
type CellAware interface {
	CellStarted()
}

// CrashWatcher is a server that can tell whether it crashed (a board's panic, abort, watchdog
// or brownout in its log). The framework asks after every cell, so a crash fails the cell that
// saw it, with the log around it.
type CrashWatcher interface {
	// Crashed returns the first crash since the previous call, or nil.
	Crashed() error
}

// BoardStatus is the STATUS line of our firmware (hil/boardlines parses it).
type BoardStatus = boardlines.StatusInfo
