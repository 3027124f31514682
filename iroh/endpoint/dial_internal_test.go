package endpoint

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

// Dial checks the remote id itself after the handshake: with the TLS pinning broken (it accepts
// the real server's key for any dialed id), a dial of another id still fails, with
// ErrRemoteIDMismatch, and the server sees the connection closed with CodeDialRefused.
func TestDialChecksRemoteIDAfterHandshake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	records := make(chan Record, 4)
	srv, err := Listen(ctx, Config{
		Handlers: map[string]Handler{"test/0": HandlerFunc(func(ctx context.Context, c *Conn) error {
			<-c.Context().Done()
			return nil
		})},
		OnConnection: func(r Record) { records <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := Listen(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	broken := func(id rpk.Identity, _ key.PublicKey, alpns []string, opts rpk.ClientOptions) (*tls.Config, error) {
		return rpk.ClientConfig(id, srv.ID(), alpns, opts)
	}
	defer func(orig func(rpk.Identity, key.PublicKey, []string, rpk.ClientOptions) (*tls.Config, error)) {
		clientTLSConfig = orig
	}(clientTLSConfig)
	clientTLSConfig = broken

	stranger, err := key.GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cl.Dial(ctx, stranger.Public(), srv.Addr(), "test/0", DialOptions{})
	if err == nil {
		_ = c.Close(0, "")
		t.Fatalf("Dial of %s returned a connection to %s", stranger.Public().Short(), c.RemoteID().Short())
	}
	if !errors.Is(err, ErrRemoteIDMismatch) {
		t.Fatalf("Dial: %v, want ErrRemoteIDMismatch", err)
	}
	t.Logf("dial error: %v", err)
	select {
	case r := <-records:
		// Before the handshake is confirmed an application close travels as the transport
		// error APPLICATION_ERROR (0x0c) in a Handshake packet (RFC 9000 §10.2.3); which one
		// the server sees depends on whether HANDSHAKE_DONE reached the client first.
		app := r.Close.Kind == CloseApplication && r.Close.Code == CodeDialRefused
		early := r.Close.Kind == CloseTransport && r.Close.Code == 0x0c
		if !r.Close.Remote || !app && !early {
			t.Errorf("server record: close %+v, want the client's application close %#x (or APPLICATION_ERROR 0x0c before the handshake is confirmed)", r.Close, CodeDialRefused)
		}
	case <-ctx.Done():
		t.Fatal("the server reported no connection")
	}
}
