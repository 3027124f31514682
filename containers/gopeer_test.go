package containers

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/peercontract"
)

// goServer runs the Go peer's serve (iroh/contract) in this process until the test ends.
func goServer(t *testing.T) (peercontract.Ready, <-chan peercontract.Connection) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	lines := make(chan any, 64)
	done := make(chan error, 1)
	go func() { done <- contract.Serve(ctx, contract.ServeConfig{}, func(v any) { lines <- v }) }()
	var ready peercontract.Ready
	select {
	case v := <-lines:
		r, ok := v.(peercontract.Ready)
		if !ok {
			cancel()
			t.Fatalf("the Go peer's first line is %T, want its ready line", v)
		}
		ready = r
	case err := <-done:
		cancel()
		t.Fatalf("the Go peer's serve: %v (the Go peer needs the crypto/tls overlay: make overlay, GOFLAGS)", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("the Go peer printed no ready line")
	}
	conns := make(chan peercontract.Connection, 64)
	go func() {
		for v := range lines {
			if c, ok := v.(peercontract.Connection); ok {
				conns <- c
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the Go peer's serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("the Go peer's serve did not stop")
		}
		close(lines)
	})
	return ready, conns
}

// TestGoPeerAndUpstreamEcho: the Go peer (quic-go with RFC 7250 raw public keys) and each pinned
// upstream iroh echo to each other, in both directions, and both sides agree on what happened.
func TestGoPeerAndUpstreamEcho(t *testing.T) {
	ups := upstreams(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("upstream-dials-go", func(t *testing.T) {
		ready, conns := goServer(t)
		for _, v := range Pinned {
			for _, alpn := range []string{"echo/0", "iroh-example/echo/0"} {
				t.Run(fmt.Sprintf("%s/%s", v, alpn), func(t *testing.T) {
					res, err := ups[v].Dial(ctx, DialOptions{Ticket: ready.Ticket, ALPN: alpn, Size: 5000, Count: 3, Streams: 3})
					if err != nil {
						t.Fatal(err)
					}
					if !res.OK || res.Bytes != 15000 || res.RemoteID != ready.EndpointID {
						t.Fatalf("upstream %s dialing the Go peer: %+v", v, res.Result)
					}
					select {
					case c := <-conns:
						if c.RemoteID != res.EndpointID || c.ALPN != alpn || c.Bytes != 15000 || c.Error != "" ||
							c.CloseCode == nil || *c.CloseCode != 0 {
							t.Errorf("the Go peer saw %+v, want upstream %s's id, %s, 15000 bytes, closed with 0", c, res.EndpointID, alpn)
						}
					case <-time.After(15 * time.Second):
						t.Error("the Go peer printed no connection line")
					}
				})
			}
		}
	})

	t.Run("go-dials-upstream", func(t *testing.T) {
		for _, v := range Pinned {
			server, err := ups[v].Serve(ctx, ServeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stopServer(t, server) })
			id, err := key.ParsePublicKey(server.Ready.EndpointID)
			if err != nil {
				t.Fatal(err)
			}
			addr, err := netip.ParseAddrPort(server.Ready.Addrs[0])
			if err != nil {
				t.Fatal(err)
			}
			for _, alpn := range []string{"echo/0", "iroh-example/echo/0"} {
				t.Run(fmt.Sprintf("%s/%s", v, alpn), func(t *testing.T) {
					res := contract.Dial(ctx, contract.DialRequest{ID: id, Addr: addr, ALPN: alpn, Size: 5000, Count: 3, Streams: 3})
					if !res.OK || res.Bytes != 15000 {
						t.Fatalf("the Go peer dialing upstream %s: %+v", v, res)
					}
					c, err := server.WaitConnection(ctx, res.EndpointID)
					if err != nil {
						t.Fatal(err)
					}
					if c.ALPN != alpn || c.Bytes != 15000 || c.Streams != 3 || c.Error != "" || c.CloseCode == nil || *c.CloseCode != 0 {
						t.Errorf("upstream %s saw %+v, want %s, 15000 bytes on 3 streams, closed with 0", v, c, alpn)
					}
				})
			}
		}
	})
}
