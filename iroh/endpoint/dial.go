package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

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

	// Misbehaviour, for refusal cases.

	// PlainX509 dials as an ordinary TLS 1.3 client that offers no raw public keys; an iroh
	// server refuses it (handshake_failure, 0x0128).
	PlainX509 bool
	// NoClientKey offers raw public keys but sends no client key; an iroh server refuses it
	// (certificate_required, 0x0174).
	NoClientKey bool
}

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
		return rpk.ClientConfig(e.secret, id, alpns, rpk.ClientOptions{SNI: opts.SNI, NoClientKey: opts.NoClientKey})
	}()
	if err != nil {
		return nil, fmt.Errorf("dial: client TLS config: %w", err)
	}
	tlsConf.KeyLogWriter = e.cfg.KeyLog

	start := time.Now()
	qc, err := e.tr.Dial(ctx, net.UDPAddrFromAddrPort(addr), tlsConf, e.quicConf)
	if err != nil {
		return nil, dialError(ctx, id, addr, alpn, start, err)
	}
	c, err := newConn(qc, RoleClient, time.Since(start))
	if err != nil {
		_ = qc.CloseWithError(0x01, err.Error())
		return nil, fmt.Errorf("dial %s at %s: %w", id.Short(), addr, err)
	}
	if !e.track(c) {
		_ = c.Close(0, "")
		return nil, errors.New("dial: endpoint closed")
	}
	context.AfterFunc(qc.Context(), func() { e.untrack(c) })
	return c, nil
}

func dialError(ctx context.Context, id key.EndpointID, addr netip.AddrPort, alpn string, start time.Time, err error) error {
	where := fmt.Sprintf("dial %s at %s (alpn %q)", id.Short(), addr, alpn)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s: no handshake within %s (is anything listening there?): %w",
			where, time.Since(start).Round(time.Millisecond), err)
	}
	return fmt.Errorf("%s: %w", where, err)
}
