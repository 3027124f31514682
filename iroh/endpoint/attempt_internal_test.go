package endpoint

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// An attempt whose client was authenticated but whose connection ended without reaching the
// accept loop (a handshake that failed after the client's signature, or one quic-go refused) is
// still reported, once: quic-go will not hand it to Accept.
func TestAuthenticatedAttemptNeverAcceptedIsReported(t *testing.T) {
	records := make(chan Record, 4)
	e, err := Listen(context.Background(), Config{
		Handlers:     map[string]Handler{"test/0": HandlerFunc(func(context.Context, *Conn) error { return nil })},
		OnConnection: func(r Record) { records <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	remote := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}
	connCtx, cancel := context.WithCancelCause(context.Background())
	ctx, err := e.connContext(connCtx, &quic.ClientInfo{RemoteAddr: remote})
	if err != nil {
		t.Fatal(err)
	}
	a := ctx.Value(attemptKey{}).(*attempt)
	a.authenticated.Store(true) // VerifyConnection ran
	refused := errors.New("client Finished did not verify")
	cancel(refused)

	select {
	case r := <-records:
		if !errors.Is(r.Err, refused) || !strings.Contains(r.Err.Error(), "before it was accepted") ||
			r.RemoteAddr != remote.String() || r.Authenticated {
			t.Errorf("record %+v (err %v), want the unaccepted attempt from %s", r, r.Err, remote)
		}
	case <-time.After(acceptGrace + 10*time.Second):
		t.Fatal("the attempt was never reported")
	}
	select {
	case r := <-records:
		t.Errorf("reported twice: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
}
