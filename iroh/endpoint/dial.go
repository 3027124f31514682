package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

// DialOptions are the wire choices of one dial. The zero value dials like iroh after 1.0.3.
type DialOptions struct {
	// SNI selects the ClientHello server_name: rpk.SNINone (iroh after 1.0.3, the default) or
	// rpk.SNIIrohInvalid ("<base32hex(id)>.iroh.invalid", iroh up to 1.0.3).
	SNI rpk.SNIMode
	// ExtraALPNs are offered after the dialed ALPN, like iroh's additional_alpns.
	ExtraALPNs []string
	// Groups are the key exchange groups offered, in order of preference; crypto/tls sends a
	// key share for the first (for X25519MLKEM768, one for X25519 too). Nil means IrohGroups.
	Groups []tls.CurveID

	// Misbehaviour, for refusal cases.

	// PlainX509 dials as an ordinary TLS 1.3 client that offers no raw public keys; an iroh
	// server refuses it (handshake_failure, 0x0128).
	PlainX509 bool
	// NoClientKey offers raw public keys but sends no client key; an iroh server refuses it
	// (certificate_required, 0x0174).
	NoClientKey bool
	// BadSignature sends the client key with a CertificateVerify that does not verify; an iroh
	// server refuses it (decrypt_error, 0x0133).
	BadSignature bool
}

// IrohGroups are the groups iroh's default build (rustls with ring) offers: X25519, P-256,
// P-384, with one X25519 key share, so the ClientHello fits one Initial packet. Go's own default
// adds an X25519MLKEM768 share of 1.2 kB, which splits the ClientHello over two packets; iroh 1.4.1
// then loses its refusals (the CONNECTION_CLOSE of an unserved ALPN never arrives, the client
// only times out), so the Go peer dials like iroh unless told otherwise.
var IrohGroups = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}

// Dial connects to the endpoint id at addr with alpn, pinning the server's raw public key to id.
// The connection uses the endpoint's own socket and key. ctx bounds the handshake.
func (e *Endpoint) Dial(ctx context.Context, id key.EndpointID, addr netip.AddrPort, alpn string, opts DialOptions) (*Conn, error) {
	if alpn == "" {
		return nil, errors.New("dial: empty ALPN (iroh refuses to dial without one)")
	}
	if !addr.IsValid() {
		return nil, errors.New("dial: no address to dial")
	}
	alpns := append([]string{alpn}, opts.ExtraALPNs...)
	tlsConf, err := func() (*tls.Config, error) {
		if opts.PlainX509 {
			return rpk.PlainX509ClientConfig(alpns)
		}
		return clientTLSConfig(e.identity, id, alpns, rpk.ClientOptions{SNI: opts.SNI, NoClientKey: opts.NoClientKey, BadSignature: opts.BadSignature})
	}()
	if err != nil {
		return nil, fmt.Errorf("dial: client TLS config: %w", err)
	}
	tlsConf.KeyLogWriter = e.cfg.KeyLog
	groups := opts.Groups
	if groups == nil {
		groups = IrohGroups
	}
	tlsConf.CurvePreferences = slices.Clone(groups)

	start := time.Now()
	qc, err := e.tr.Dial(ctx, net.UDPAddrFromAddrPort(addr), tlsConf, e.quicConf)
	if err != nil {
		return nil, dialError(ctx, id, addr, alpn, start, err)
	}
	c, err := newConn(qc, RoleClient, time.Since(start))
	if err == nil && c.remote != id {
		// The TLS config pins the server key to id; this second look keeps a mistake in that
		// pinning (or in the overlay) from handing out a connection to someone else.
		err = fmt.Errorf("%w: the server's key is %s", ErrRemoteIDMismatch, c.remote)
	}
	if err != nil {
		_ = qc.CloseWithError(quic.ApplicationErrorCode(CodeDialRefused), err.Error())
		return nil, fmt.Errorf("dial %s at %s: %w", id.Short(), addr, err)
	}
	if !e.track(c) {
		_ = c.Close(0, "")
		return nil, errors.New("dial: endpoint closed")
	}
	context.AfterFunc(qc.Context(), func() { e.untrack(c) })
	return c, nil
}

// clientTLSConfig makes the TLS config of a dial; a variable so that a test can break its pinning
// and see Dial's own check of the remote id catch it.
var clientTLSConfig = rpk.ClientConfig

// ErrRemoteIDMismatch is returned (wrapped) by Dial when the handshake completed with a server
// whose raw public key is not the dialed endpoint id; the connection is closed with
// CodeDialRefused.
var ErrRemoteIDMismatch = errors.New("the remote's key is not the dialed endpoint id")

func dialError(ctx context.Context, id key.EndpointID, addr netip.AddrPort, alpn string, start time.Time, err error) error {
	where := fmt.Sprintf("dial %s at %s (alpn %q)", id.Short(), addr, alpn)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s: no handshake within %s (is anything listening there?): %w",
			where, time.Since(start).Round(time.Millisecond), err)
	}
	return fmt.Errorf("%s: %w", where, err)
}
