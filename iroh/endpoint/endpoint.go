// Package endpoint is the Go peer's iroh endpoint: one UDP socket carrying QUIC v1 with RFC 7250
// raw public keys, serving a set of ALPN handlers and dialing other endpoints by EndpointId.
//
// It speaks iroh 1.x on the direct path only: no relay, no address lookup, no multipath or NAT
// traversal transport parameters (iroh falls back to plain RFC 9000 without them).
package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/qlog"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/udpgro"
)

// DefaultBind is where an endpoint listens unless told otherwise: loopback only.
const DefaultBind = "127.0.0.1:0"

// The transport settings iroh 1.x uses (noq defaults plus iroh's keep-alive).
const (
	MaxIdleTimeout   = 30 * time.Second
	KeepAlivePeriod  = 5 * time.Second
	HandshakeTimeout = 10 * time.Second
)

// A Handler serves the connections accepted for one ALPN. Serve runs on its own goroutine; ctx
// ends when the endpoint closes. When Serve returns, the endpoint closes the connection with
// application code 0 and an empty reason, as iroh's Router does when a handler returns.
type Handler interface {
	Serve(ctx context.Context, c *Conn) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, c *Conn) error

// Serve calls f(ctx, c).
func (f HandlerFunc) Serve(ctx context.Context, c *Conn) error { return f(ctx, c) }

// Config describes an endpoint.
type Config struct {
	// Bind is the UDP address to listen on; empty means DefaultBind.
	Bind string
	// Secret is the endpoint's key; nil means a fresh one.
	Secret *key.SecretKey
	// Handlers maps each served ALPN to its handler. With none, the endpoint only dials and
	// answers no incoming connection.
	Handlers map[string]Handler
	// KeyLog, when set, receives the TLS secrets of every connection in SSLKEYLOGFILE format.
	KeyLog io.Writer
	// OnConnection is called once for every incoming connection attempt when it is over: after
	// the handler returned and the connection closed, or when the handshake failed. It must not
	// block for long.
	OnConnection func(Record)
	// HandshakeTimeout bounds a handshake without progress; zero means HandshakeTimeout.
	HandshakeTimeout time.Duration
}

// Endpoint is a bound iroh endpoint. Close it when done.
type Endpoint struct {
	identity rpk.Identity
	cfg      Config
	udp      *net.UDPConn
	tr       *quic.Transport
	ln       *quic.Listener // nil without handlers
	quicConf *quic.Config

	ctx    context.Context // ends at Close; parent of every handler's context
	cancel context.CancelFunc

	mu      sync.Mutex
	conns   map[*Conn]struct{}
	closing bool

	tasks    sync.WaitGroup // accept loop, handlers
	attempts sync.WaitGroup // incoming attempts not yet reported

	closeOnce sync.Once
	closeErr  error
}

// Listen binds the endpoint and, when it has handlers, starts accepting connections.
func Listen(ctx context.Context, cfg Config) (*Endpoint, error) {
	if err := rpk.Available(); err != nil {
		return nil, err
	}
	if cfg.Bind == "" {
		cfg.Bind = DefaultBind
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = HandshakeTimeout
	}
	for alpn, h := range cfg.Handlers {
		if alpn == "" {
			return nil, errors.New("endpoint: an empty ALPN cannot be served")
		}
		if h == nil {
			return nil, fmt.Errorf("endpoint: ALPN %q has no handler", alpn)
		}
	}
	var secret key.SecretKey
	if cfg.Secret != nil {
		secret = *cfg.Secret
	} else {
		var err error
		if secret, err = key.GenerateSecretKey(); err != nil {
			return nil, fmt.Errorf("endpoint: generating a secret key: %w", err)
		}
	}
	bindAddr, err := netip.ParseAddrPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("endpoint: bind address %q: want IP:PORT: %w", cfg.Bind, err)
	}
	// One address family per socket, so that 0.0.0.0 does not become a dual-stack [::].
	network := "udp6"
	if bindAddr.Addr().Unmap().Is4() {
		network, bindAddr = "udp4", netip.AddrPortFrom(bindAddr.Addr().Unmap(), bindAddr.Port())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(bindAddr))
	if err != nil {
		return nil, fmt.Errorf("endpoint: binding %s: %w", cfg.Bind, err)
	}
	e := &Endpoint{
		identity: rpk.NewIdentity(secret),
		cfg:      cfg,
		udp:      udp,
		conns:    map[*Conn]struct{}{},
		quicConf: &quic.Config{
			Versions:             []quic.Version{quic.Version1},
			HandshakeIdleTimeout: cfg.HandshakeTimeout,
			MaxIdleTimeout:       MaxIdleTimeout,
			KeepAlivePeriod:      KeepAlivePeriod,
			// QUIC's minimum path (RFC 9000 §14), as iroh starts: quic-go's default of 1280 bytes
			// never crosses a 1200-byte path (the net-mtu-1200 cells); path MTU discovery still
			// finds a larger one.
			InitialPacketSize: 1200,
			// Flow-control windows: quic-go's own (512 KiB per stream growing to 6 MiB, 768 KiB
			// per connection growing to 15 MiB); iroh advertises 1.25 MB per stream and no
			// connection limit. Measured against upstream iroh 1.4.1 on loopback (64 MiB upload
			// and echo on one stream, interleaved runs): iroh's sizes, or 4 MiB/8 MiB initial
			// with 16/32 MiB maxima, bought nothing within the noise, and the large windows made
			// the Go client's echo slower (more data in flight, more memory touched).
			// A qlog file per connection in $QLOGDIR when it is set, for looking into interop.
			Tracer: qlog.DefaultConnectionTracer,
		},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.tr = &quic.Transport{
		// Received with UDP GRO: a peer's GSO burst arrives as one buffer (quic-go's own reads
		// make the kernel split it into one socket buffer per datagram).
		Conn: udpgro.Wrap(udp),
		// iroh's (noq's) own connection ids are 8 bytes; any non-zero length interoperates.
		ConnectionIDLength: 8,
		ConnContext:        e.connContext,
	}
	if len(cfg.Handlers) > 0 {
		tlsConf, err := rpk.ServerConfig(e.identity, e.ALPNs())
		if err != nil {
			e.closeSocket()
			return nil, fmt.Errorf("endpoint: server TLS config: %w", err)
		}
		tlsConf.KeyLogWriter = cfg.KeyLog
		tlsConf.GetConfigForClient = markAuthenticated(tlsConf.Clone())
		ln, err := e.tr.Listen(tlsConf, e.quicConf)
		if err != nil {
			e.closeSocket()
			return nil, fmt.Errorf("endpoint: listen: %w", err)
		}
		e.ln = ln
		e.tasks.Add(1)
		go e.acceptLoop()
	}
	return e, nil
}

// ID is the endpoint's EndpointId.
func (e *Endpoint) ID() key.EndpointID { return e.identity.ID() }

// Secret is the endpoint's secret key.
func (e *Endpoint) Secret() key.SecretKey { return e.identity.Secret() }

// Addr is the UDP address the endpoint is bound to.
func (e *Endpoint) Addr() netip.AddrPort {
	ap := e.udp.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Ticket is the endpoint's ticket: its id and the one address it listens on. An unspecified
// bind address (0.0.0.0, ::) is announced as loopback, the only address the project uses.
func (e *Endpoint) Ticket() ticket.Ticket {
	addr := e.Addr()
	if addr.Addr().IsUnspecified() {
		lo := netip.IPv6Loopback()
		if addr.Addr().Is4() {
			lo = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		addr = netip.AddrPortFrom(lo, addr.Port())
	}
	return ticket.New(e.ID(), ticket.IPAddr(addr))
}

// ALPNs lists the served ALPNs, sorted.
func (e *Endpoint) ALPNs() []string {
	alpns := make([]string, 0, len(e.cfg.Handlers))
	for alpn := range e.cfg.Handlers {
		alpns = append(alpns, alpn)
	}
	sort.Strings(alpns)
	return alpns
}

// Close closes every connection with application code 0 (as iroh's Endpoint::close does), stops
// the handlers, and releases the socket. It waits for everything the endpoint started, handlers
// included: a Handler must return once its context ends or its connection closes.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closing = true
		conns := make([]*Conn, 0, len(e.conns))
		for c := range e.conns {
			conns = append(conns, c)
		}
		e.mu.Unlock()
		for _, c := range conns {
			_ = c.Close(0, "")
		}
		e.cancel()
		if e.ln != nil {
			_ = e.ln.Close()
		}
		e.tasks.Wait()
		// Closing the transport ends every connection still handshaking, which reports them.
		e.closeErr = e.closeSocket()
		e.waitAttempts(attemptsCloseWait)
	})
	return e.closeErr
}

// attemptsCloseWait bounds how long Close waits for the reports of handshakes it ended: quic-go
// ends their contexts when the transport closes, and a report must not hold Close forever.
const attemptsCloseWait = 5 * time.Second

func (e *Endpoint) waitAttempts(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		e.attempts.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

func (e *Endpoint) closeSocket() error {
	err := e.tr.Close()
	if uerr := e.udp.Close(); uerr != nil && !errors.Is(uerr, net.ErrClosed) && err == nil {
		err = uerr
	}
	return err
}

// track registers a live connection; it refuses once the endpoint is closing.
func (e *Endpoint) track(c *Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

func (e *Endpoint) untrack(c *Conn) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}

// attempt follows one incoming connection from its first Initial packet, so that handshakes
// the endpoint refuses are reported too, and so that the handshake time starts on arrival.
type attempt struct {
	start  time.Time
	remote net.Addr
	state  atomic.Int32 // attemptHandshaking, then attemptAccepted or attemptFailed
	// authenticated: the client's key and signature were verified, so quic-go will normally hand
	// the connection to Accept even if it closes at once; the accept loop reports it then.
	authenticated atomic.Bool
}

// markAuthenticated returns a GetConfigForClient that serves base to each client and marks the
// client's attempt authenticated once crypto/tls verified its key. With raw public keys the
// overlay calls VerifyConnection only after the client's CertificateVerify verified, so a client
// refused for its signature stays unauthenticated and is reported as a failed handshake.
// (ClientHelloInfo's context is the connection's, from ConnContext.)
func markAuthenticated(base *tls.Config) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		a, _ := hello.Context().Value(attemptKey{}).(*attempt)
		if a == nil {
			return nil, nil // use the listener's config unchanged
		}
		c := base.Clone()
		verify := c.VerifyConnection
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if verify != nil {
				if err := verify(cs); err != nil {
					return err
				}
			}
			a.authenticated.Store(true)
			return nil
		}
		return c, nil
	}
}

const (
	attemptHandshaking int32 = iota
	attemptAccepted
	attemptFailed
)

type attemptKey struct{}

func (e *Endpoint) connContext(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
	a := &attempt{start: time.Now(), remote: info.RemoteAddr}
	e.attempts.Add(1)
	// quic-go cancels this context with the connection's error when the handshake fails or the
	// connection ends; an attempt that never got to the handler is reported from here.
	context.AfterFunc(ctx, func() {
		if a.state.Load() != attemptHandshaking {
			e.attempts.Done() // accepted: the handler's end reports it
			return
		}
		if a.authenticated.Load() {
			// quic-go hands an authenticated connection to Accept, which reports it; but not
			// when the handshake still failed afterwards (the client's Finished) or quic-go
			// refused it (accept queue full, listener closing). Whatever the accept loop has
			// not taken within acceptGrace is reported from here.
			time.AfterFunc(acceptGrace, func() { e.reportUnaccepted(ctx, a, "ended before it was accepted") })
			return
		}
		e.reportUnaccepted(ctx, a, "handshake failed")
	})
	return context.WithValue(ctx, attemptKey{}, a), nil
}

// acceptGrace is how long an authenticated connection that ended may wait for the accept loop to
// take it before it is reported as never accepted.
const acceptGrace = time.Second

// reportUnaccepted reports an attempt that ended before the accept loop took it, unless the
// accept loop took it after all.
func (e *Endpoint) reportUnaccepted(ctx context.Context, a *attempt, what string) {
	defer e.attempts.Done()
	if !a.state.CompareAndSwap(attemptHandshaking, attemptFailed) {
		return
	}
	cause := context.Cause(ctx)
	e.report(Record{
		Role:       RoleServer,
		RemoteAddr: addrString(a.remote),
		Handshake:  time.Since(a.start),
		Close:      CloseInfoOf(cause),
		Err:        fmt.Errorf("%s: %w", what, cause),
	})
}

func (e *Endpoint) acceptLoop() {
	defer e.tasks.Done()
	for {
		qc, err := e.ln.Accept(e.ctx)
		if err != nil {
			return // listener closed or endpoint closing
		}
		handshake := time.Duration(0)
		a, _ := qc.Context().Value(attemptKey{}).(*attempt)
		if a != nil {
			if !a.state.CompareAndSwap(attemptHandshaking, attemptAccepted) {
				continue // it already ended and was reported
			}
			handshake = time.Since(a.start)
		}
		c, err := newConn(qc, RoleServer, handshake)
		if err != nil {
			// Unreachable with the RPK server config; refuse rather than serve an unknown peer.
			_ = qc.CloseWithError(0x01, err.Error())
			e.report(Record{Role: RoleServer, RemoteAddr: addrString(qc.RemoteAddr()), Err: err})
			continue
		}
		h := e.cfg.Handlers[c.ALPN()]
		if h == nil || !e.track(c) {
			_ = c.Close(0, "")
			<-qc.Context().Done()
			r := c.Record()
			if h == nil {
				r.Err = fmt.Errorf("no handler for ALPN %q", c.ALPN())
			}
			e.report(r)
			continue
		}
		e.tasks.Add(1)
		go e.serve(h, c)
	}
}

func (e *Endpoint) serve(h Handler, c *Conn) {
	defer e.tasks.Done()
	defer e.untrack(c)
	err := h.Serve(e.ctx, c)
	_ = c.Close(0, "")
	// CloseWithError returns once the CONNECTION_CLOSE is queued; the context ends when the
	// connection is gone.
	<-c.quic.Context().Done()
	r := c.Record()
	if err != nil {
		r.Err = err
	}
	e.report(r)
}

func (e *Endpoint) report(r Record) {
	if e.cfg.OnConnection != nil {
		e.cfg.OnConnection(r)
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
