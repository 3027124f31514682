package contract

import (
	"cmp"
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/upload"
	"github.com/irohconf/irohconf/peercontract"
)

// ServeConfig is what `serve` takes.
type ServeConfig struct {
	// Bind is the UDP address; empty means endpoint.DefaultBind.
	Bind string
	// ALPNs to serve echo on (upload.ALPN serves upload); empty means echo.ALPNs.
	ALPNs []string
	// Secret fixes the endpoint's key; nil means a fresh one.
	Secret *key.SecretKey
	// KeyLog receives the TLS key log (SSLKEYLOGFILE format) when set.
	KeyLog io.Writer
	// Version is the ready line's version; empty means Version().
	Version string
	// CloseWait bounds how long a connection may stay idle waiting for the client to close;
	// zero means no bound but the QUIC idle timeout (as iroh's echo).
	CloseWait time.Duration
}

// Serve serves echo until ctx ends, then closes every connection and the endpoint. It emits the
// Ready line once the endpoint accepts connections, then one Connection per finished connection;
// emit is never called concurrently, and not after Serve returns. The error is about starting
// (or, rarely, about releasing the socket).
func Serve(ctx context.Context, cfg ServeConfig, emit func(any)) error {
	alpns := cfg.ALPNs
	if len(alpns) == 0 {
		alpns = echo.ALPNs
	}
	srv := &echo.Server{CloseWait: cfg.CloseWait}
	handlers := srv.Handlers(alpns...)
	if _, ok := handlers[upload.ALPN]; ok { // the upload ALPN serves upload, every other echo
		handlers[upload.ALPN] = &upload.Server{CloseWait: cfg.CloseWait}
	}
	events := make(chan endpoint.Record, 16)
	ep, err := endpoint.Listen(ctx, endpoint.Config{
		Bind:         cfg.Bind,
		Secret:       cfg.Secret,
		Handlers:     handlers,
		KeyLog:       cfg.KeyLog,
		OnConnection: func(r endpoint.Record) { events <- r },
	})
	if err != nil {
		return err
	}
	emit(peercontract.Ready{
		Event:      peercontract.EventReady,
		EndpointID: ep.ID().String(),
		Ticket:     ep.Ticket().String(),
		Addrs:      addrStrings(ep.Ticket().IPAddrs()),
		Version:    cmp.Or(cfg.Version, Version()),
	})
	// Records are emitted from this goroutine only, so lines never interleave.
	closed := make(chan error, 1)
	for {
		select {
		case r := <-events:
			emit(ConnectionOf(r))
		case <-ctx.Done():
			go func() { closed <- ep.Close() }()
			for {
				select {
				case r := <-events:
					emit(ConnectionOf(r))
				case err := <-closed:
					// Close waited for every report; drain what is buffered.
					for {
						select {
						case r := <-events:
							emit(ConnectionOf(r))
						default:
							return err
						}
					}
				}
			}
		}
	}
}

// addrStrings are the announced addresses: the ticket's, so an unspecified bind address shows as
// the loopback address that reaches it.
func addrStrings(addrs []netip.AddrPort) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}
