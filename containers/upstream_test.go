package containers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLog sends lines to the test's log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// upstreams prepares each pinned version once per test, closed when the test ends.
func upstreams(t *testing.T, opts Options) map[Version]*Upstream {
	t.Helper()
	if opts.Log == nil {
		opts.Log = testLog{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[Version]*Upstream{}
	for _, v := range Pinned {
		u, err := New(ctx, v, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := u.Close(); err != nil {
				t.Errorf("closing %s: %v", u.name(), err)
			}
		})
		out[v] = u
	}
	return out
}

func stopServer(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Stop(context.Background()); err != nil {
		t.Errorf("stopping %s: %v", s.name, err)
	}
}

// TestEchoBetweenPinnedVersions is the baseline: every pinned version dials every pinned
// version's server, on both echo ALPNs, and both sides see the same connection.
func TestEchoBetweenPinnedVersions(t *testing.T) {
	ups := upstreams(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, sv := range Pinned {
		server, err := ups[sv].Serve(ctx, ServeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopServer(t, server) })
		if want := "iroh " + string(sv); server.Ready.Version != want {
			t.Errorf("server %s reports version %q, want %q", sv, server.Ready.Version, want)
		}
		for _, cv := range Pinned {
			for _, alpn := range []string{"echo/0", "iroh-example/echo/0"} {
				t.Run(fmt.Sprintf("%s-to-%s/%s", cv, sv, alpn), func(t *testing.T) {
					res, err := ups[cv].Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, ALPN: alpn, Size: 3000, Count: 4, Streams: 2})
					if err != nil {
						t.Fatal(err)
					}
					if !res.OK || res.ExitCode != 0 {
						t.Fatalf("dial failed (exit %d): %s", res.ExitCode, res.Error)
					}
					if res.Bytes != 4*3000 || len(res.EchoMS) != 4 || res.HandshakeMS <= 0 {
						t.Errorf("result %+v: want 12000 bytes in 4 timed echoes after a timed handshake", res.Result)
					}
					if res.RemoteID != server.Ready.EndpointID || res.ALPN != alpn {
						t.Errorf("result names %s on %q, want %s on %q", res.RemoteID, res.ALPN, server.Ready.EndpointID, alpn)
					}
					conn, err := server.WaitConnection(ctx, res.EndpointID)
					if err != nil {
						t.Fatal(err)
					}
					if conn.ALPN != alpn || conn.Bytes != 12000 || conn.Streams != 4 || conn.Error != "" ||
						conn.CloseCode == nil || *conn.CloseCode != 0 || conn.CloseReason != "bye!" {
						t.Errorf("server saw %+v, want %s, 12000 bytes on 4 streams, closed with 0 \"bye!\"", conn, alpn)
					}
				})
			}
		}
	}
}

// TestRefusals: iroh's own refusals, with the QUIC error codes the cases expect.
func TestRefusals(t *testing.T) {
	ups := upstreams(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, v := range Pinned {
		u := ups[v]
		server, err := u.Serve(ctx, ServeOptions{ALPNs: []string{"echo/0"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(v)+"/unserved-alpn", func(t *testing.T) {
			res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, ALPN: "iroh-example/echo/0", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// TLS alert 120 no_application_protocol, as QUIC's 0x100 + alert.
			if res.OK || res.ExitCode != 1 || res.ErrorCode == nil || *res.ErrorCode != 0x178 {
				t.Errorf("got ok=%t exit %d code %v (%s), want a refusal with 0x178", res.OK, res.ExitCode, res.ErrorCode, res.Error)
			}
			// The result names the negotiated ALPN: none, not the one asked for.
			if res.ALPN != "" {
				t.Errorf("result names ALPN %q after the server refused it", res.ALPN)
			}
		})
		t.Run(string(v)+"/wrong-id", func(t *testing.T) {
			other, err := u.Run(ctx, nil, "key", "generate")
			if err != nil {
				t.Fatal(err)
			}
			id := strings.Split(strings.Split(string(other.Stdout), `"endpoint_id":"`)[1], `"`)[0]
			res, err := u.Dial(ctx, DialOptions{ID: id, Addrs: server.Ready.Addrs, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// The dialer's verifier refuses the server's key: unknown_ca (48) → 0x130.
			if res.OK || res.ErrorCode == nil || *res.ErrorCode != 0x130 {
				t.Errorf("got ok=%t code %v (%s), want a refusal with 0x130", res.OK, res.ErrorCode, res.Error)
			}
		})
		t.Run(string(v)+"/go-only-misbehaviour-is-unsupported", func(t *testing.T) {
			res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, Extra: []string{"--plain-x509"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.ExitCode != 127 || res.Error == "" {
				t.Errorf("got ok=%t exit %d (%s), want exit 127 with a reason", res.OK, res.ExitCode, res.Error)
			}
		})
		stopServer(t, server)
	}
}

// TestKeyLogAndFixedSecret: a fixed secret gives the id it derives; the key logs are written
// where asked, the server's while it still runs (a cell's capture is decrypted before the pair's
// server stops).
func TestKeyLogAndFixedSecret(t *testing.T) {
	ups := upstreams(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	u := ups[Pinned[0]]
	key, err := u.Run(ctx, nil, "key", "generate")
	if err != nil || key.ExitCode != 0 {
		t.Fatalf("key generate: %v (exit %d)", err, key.ExitCode)
	}
	field := func(name string) string {
		return strings.Split(strings.Split(string(key.Stdout), `"`+name+`":"`)[1], `"`)[0]
	}
	server, err := u.Serve(ctx, ServeOptions{Secret: field("secret"), KeyLog: dir + "/server.keylog"})
	if err != nil {
		t.Fatal(err)
	}
	if server.Ready.EndpointID != field("endpoint_id") {
		t.Errorf("server id %s, want %s from its secret", server.Ready.EndpointID, field("endpoint_id"))
	}
	res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, KeyLog: dir + "/client.keylog"})
	if err != nil || !res.OK {
		t.Fatalf("dial: %v %+v", err, res)
	}
	checkKeyLogs := func(when string) {
		t.Helper()
		for _, f := range []string{"server.keylog", "client.keylog"} {
			b, err := os.ReadFile(dir + "/" + f)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if !strings.Contains(string(b), "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") || !strings.Contains(string(b), "SERVER_TRAFFIC_SECRET_0 ") {
				t.Errorf("%s: %s is not an SSLKEYLOGFILE of a TLS 1.3 handshake:\n%s", when, f, b)
			}
		}
	}
	checkKeyLogs("while the server runs")
	stopServer(t, server)
	checkKeyLogs("after the server stopped")
}

// TestConcurrentDials: one exec container serves many dials at once.
func TestConcurrentDials(t *testing.T) {
	ups := upstreams(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u := ups[Pinned[0]]
	server, err := u.Serve(ctx, ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stopServer(t, server)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, Size: 100 * (i + 1)})
			if err != nil || !res.OK {
				t.Errorf("dial %d: %v %+v", i, err, res)
			}
		})
	}
	wg.Wait()
}

// TestStopRightAfterReady: SIGTERM sent the moment the ready line is out still ends the server
// cleanly (exit 0): the program catches signals before it announces readiness.
func TestStopRightAfterReady(t *testing.T) {
	runtimes := []Runtime{Process}
	if rt, err := DetectRuntime(context.Background(), testLog{t}); err == nil && rt == Docker {
		runtimes = append(runtimes, Docker)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, rt := range runtimes {
		for _, v := range Pinned {
			u, err := New(ctx, v, Options{Runtime: rt, Log: testLog{t}})
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				s, err := u.Serve(ctx, ServeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Stop(ctx); err != nil {
					t.Errorf("%s on %s: %v", u.name(), rt, err)
				}
			}
			if err := u.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}
