package endpoint_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"github.com/irohconf/irohconf/internal/syncio"
	"os"
	"path/filepath"

	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

// Every test closes what it started; anything left running afterwards is a leak.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait in these tests.
const testTimeout = 20 * time.Second

// records collects what a server reports about its connections.
type records struct {
	mu   sync.Mutex
	list []endpoint.Record
	ch   chan endpoint.Record
}

func newRecords() *records { return &records{ch: make(chan endpoint.Record, 64)} }

func (r *records) add(rec endpoint.Record) {
	r.mu.Lock()
	r.list = append(r.list, rec)
	r.mu.Unlock()
	select {
	case r.ch <- rec:
	default:
	}
}

// next waits for the next record.
func (r *records) next(t *testing.T) endpoint.Record {
	t.Helper()
	select {
	case rec := <-r.ch:
		return rec
	case <-time.After(testTimeout):
		t.Fatal("the server reported no connection in time")
		return endpoint.Record{}
	}
}

func listen(t testing.TB, cfg endpoint.Config) *endpoint.Endpoint {
	t.Helper()
	ep, err := endpoint.Listen(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := ep.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ep
}

// echoServer starts an endpoint serving echo on the default ALPNs and reports its records.
func echoServer(t testing.TB) (*endpoint.Endpoint, *records) {
	t.Helper()
	recs := newRecords()
	srv := &echo.Server{CloseWait: testTimeout}
	return listen(t, endpoint.Config{Handlers: srv.Handlers(), OnConnection: recs.add}), recs
}

func client(t testing.TB) *endpoint.Endpoint {
	t.Helper()
	return listen(t, endpoint.Config{})
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, cl, srv *endpoint.Endpoint, alpn string, opts endpoint.DialOptions) *endpoint.Conn {
	t.Helper()
	c, err := cl.Dial(testContext(t), srv.ID(), srv.Addr(), alpn, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

func TestEchoSizes(t *testing.T) {
	srv, recs := echoServer(t)
	cl := client(t)
	for _, alpn := range echo.ALPNs {
		for _, size := range []int{0, 1, 13, 1 << 10, 64 << 10, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%dB", alpn, size), func(t *testing.T) {
				c := dial(t, cl, srv, alpn, endpoint.DialOptions{})
				res, err := echo.Run(testContext(t), c, echo.Options{Size: size, Count: 1})
				if err != nil {
					t.Fatal(err)
				}
				if res.Bytes != int64(size) || len(res.Durations) != 1 {
					t.Errorf("result %+v, want %d bytes in one echo", res, size)
				}
				if err := c.Close(0, echo.CloseReason); err != nil {
					t.Fatal(err)
				}
				rec := recs.next(t)
				if rec.Err != nil {
					t.Fatalf("server: %v", rec.Err)
				}
				if rec.ALPN != alpn || rec.RemoteID != cl.ID() || !rec.Authenticated {
					t.Errorf("server saw alpn %q remote %s, want %q %s", rec.ALPN, rec.RemoteID.Short(), alpn, cl.ID().Short())
				}
				if rec.PayloadReceived != uint64(size) || rec.PayloadSent != uint64(size) || rec.Streams != 1 {
					t.Errorf("server counted %d in, %d out, %d streams; want %d, %d, 1",
						rec.PayloadReceived, rec.PayloadSent, rec.Streams, size, size)
				}
				wantClose := endpoint.CloseInfo{Kind: endpoint.CloseApplication, Code: 0, Reason: echo.CloseReason, Remote: true}
				if rec.Close != wantClose {
					t.Errorf("server close %+v, want %+v", rec.Close, wantClose)
				}
			})
		}
	}
}

func TestStreamsInSequenceAndConcurrently(t *testing.T) {
	srv, recs := echoServer(t)
	cl := client(t)
	for _, tc := range []struct {
		name           string
		count, streams int
		size           int
	}{
		{"sequence", 8, 1, 4 << 10},
		{"concurrent", 32, 8, 16 << 10},
		{"all-at-once", 50, 50, 1 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
			res, err := echo.Run(testContext(t), c, echo.Options{Size: tc.size, Count: tc.count, Streams: tc.streams})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Durations) != tc.count || res.Bytes != int64(tc.count*tc.size) {
				t.Errorf("%d echoes of %d bytes, want %d of %d", len(res.Durations), res.Bytes, tc.count, tc.count*tc.size)
			}
			_ = c.Close(0, echo.CloseReason)
			rec := recs.next(t)
			if rec.Err != nil || rec.Streams != tc.count || rec.PayloadSent != uint64(tc.count*tc.size) {
				t.Errorf("server: err %v, %d streams, %d bytes; want %d streams, %d bytes",
					rec.Err, rec.Streams, rec.PayloadSent, tc.count, tc.count*tc.size)
			}
		})
	}
}

func TestConcurrentConnections(t *testing.T) {
	srv, recs := echoServer(t)
	const n = 6
	clients := make([]*endpoint.Endpoint, n)
	for i := range clients {
		clients[i] = client(t)
	}
	errs := make(chan error, n)
	for _, cl := range clients {
		go func() {
			c, err := cl.Dial(testContext(t), srv.ID(), srv.Addr(), echo.ExampleALPN, endpoint.DialOptions{})
			if err != nil {
				errs <- err
				return
			}
			_, err = echo.Run(testContext(t), c, echo.Options{Size: 32 << 10, Count: 4, Streams: 2})
			_ = c.Close(0, echo.CloseReason)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	seen := map[key.EndpointID]bool{}
	for range n {
		rec := recs.next(t)
		if rec.Err != nil {
			t.Errorf("server: %v", rec.Err)
		}
		seen[rec.RemoteID] = true
	}
	for _, cl := range clients {
		if !seen[cl.ID()] {
			t.Errorf("server did not report client %s", cl.ID().Short())
		}
	}
}

func TestRecordDetails(t *testing.T) {
	srv, recs := echoServer(t)
	cl := client(t)
	c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
	if c.RemoteID() != srv.ID() || c.ALPN() != echo.ALPN || c.Role() != endpoint.RoleClient {
		t.Errorf("client conn: remote %s alpn %q role %s", c.RemoteID().Short(), c.ALPN(), c.Role())
	}
	if _, err := echo.Run(testContext(t), c, echo.Options{Size: 1000, Count: 3}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(0, echo.CloseReason)
	<-c.Context().Done()
	cr := c.Record()
	if cr.Handshake <= 0 || cr.Err != nil || !cr.Close.Normal() || cr.Close.Remote {
		t.Errorf("client record: handshake %v err %v close %+v", cr.Handshake, cr.Err, cr.Close)
	}
	if cr.PayloadSent != 3000 || cr.PayloadReceived != 3000 || cr.WireSent < 3000 || cr.WireReceived < 3000 {
		t.Errorf("client record bytes: payload %d/%d wire %d/%d", cr.PayloadSent, cr.PayloadReceived, cr.WireSent, cr.WireReceived)
	}
	sr := recs.next(t)
	if sr.Handshake <= 0 || sr.Role != endpoint.RoleServer {
		t.Errorf("server record: handshake %v role %s", sr.Handshake, sr.Role)
	}
	for _, r := range []endpoint.Record{cr, sr} {
		if r.TLS.CipherSuiteName() == "" || !strings.HasPrefix(r.TLS.CipherSuiteName(), "TLS_") {
			t.Errorf("%s: cipher suite %#04x %q", r.Role, r.TLS.CipherSuite, r.TLS.CipherSuiteName())
		}
		if r.TLS.GroupName() == "" {
			t.Errorf("%s: no key exchange group recorded", r.Role)
		}
	}
}

// The client offers iroh's groups unless told otherwise; the server takes what it is offered.
func TestKeyExchangeGroups(t *testing.T) {
	srv, _ := echoServer(t)
	cl := client(t)
	for _, tc := range []struct {
		offer []tls.CurveID
		want  tls.CurveID
	}{
		{nil, tls.X25519},
		{[]tls.CurveID{tls.X25519MLKEM768, tls.X25519}, tls.X25519MLKEM768},
		{[]tls.CurveID{tls.CurveP256}, tls.CurveP256},
	} {
		c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{Groups: tc.offer})
		if got := c.TLS().Group; got != tc.want {
			t.Errorf("offering %v: negotiated %v, want %v", tc.offer, got, tc.want)
		}
		if _, err := echo.Run(testContext(t), c, echo.Options{Size: 100}); err != nil {
			t.Errorf("offering %v: %v", tc.offer, err)
		}
		_ = c.Close(0, echo.CloseReason)
	}
}

func TestSNIModes(t *testing.T) {
	srv, _ := echoServer(t)
	cl := client(t)
	for _, sni := range []rpk.SNIMode{rpk.SNINone, rpk.SNIIrohInvalid} {
		c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{SNI: sni})
		if _, err := echo.Run(testContext(t), c, echo.Options{Size: 100}); err != nil {
			t.Errorf("SNI mode %v: %v", sni, err)
		}
		_ = c.Close(0, echo.CloseReason)
	}
}

func TestKeyLog(t *testing.T) {
	var srvLog, clLog syncio.Buffer
	srv := listen(t, endpoint.Config{Handlers: (&echo.Server{}).Handlers(), KeyLog: &srvLog})
	cl := listen(t, endpoint.Config{KeyLog: &clLog})
	c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
	if _, err := echo.Run(testContext(t), c, echo.Options{Size: 10}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(0, echo.CloseReason)
	for name, log := range map[string]*syncio.Buffer{"server": &srvLog, "client": &clLog} {
		s := log.String()
		for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "SERVER_HANDSHAKE_TRAFFIC_SECRET ", "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "} {
			if !strings.Contains(s, label) {
				t.Errorf("%s key log has no %s line:\n%s", name, strings.TrimSpace(label), s)
			}
		}
	}
}

// The refusals iroh's server and client make, with the QUIC error codes iroh uses.
func TestRefusals(t *testing.T) {
	srv, recs := echoServer(t)
	cl := client(t)
	stranger, err := key.GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		id       key.EndpointID
		alpn     string
		opts     endpoint.DialOptions
		wantCode uint64
		// byServer: the server sent the refusal; else the client refused the server.
		byServer bool
	}{
		{"unknown ALPN", srv.ID(), "no-such-protocol/0", endpoint.DialOptions{}, endpoint.CodeNoApplicationProtocol, true},
		{"plain X.509 client", srv.ID(), echo.ALPN, endpoint.DialOptions{PlainX509: true}, endpoint.CodeHandshakeFailure, true},
		{"no client key", srv.ID(), echo.ALPN, endpoint.DialOptions{NoClientKey: true}, endpoint.CodeCertificateRequired, true},
		{"bad CertificateVerify", srv.ID(), echo.ALPN, endpoint.DialOptions{BadSignature: true}, endpoint.CodeDecryptError, true},
		{"wrong expected id", stranger.Public(), echo.ALPN, endpoint.DialOptions{}, endpoint.CodeBadCertificate, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cl.Dial(testContext(t), tc.id, srv.Addr(), tc.alpn, tc.opts)
			if err == nil {
				// In TLS 1.3 the client finishes before the server checks the client's key, so
				// a refusal of the client's key arrives just after the dial returned.
				select {
				case <-c.Context().Done():
					err = context.Cause(c.Context())
				case <-time.After(testTimeout):
					_ = c.Close(0, "")
					t.Fatal("the dial succeeded and the connection stayed open")
				}
			}
			t.Logf("dial error: %v", err)
			code, ok := endpoint.ErrorCode(err)
			if !ok {
				t.Fatalf("no QUIC error code in %v", err)
			}
			ci := endpoint.CloseInfoOf(err)
			if ci.Kind != endpoint.CloseTransport || ci.Remote != tc.byServer {
				t.Errorf("close %+v, want a transport close, remote=%v", ci, tc.byServer)
			}
			if tc.wantCode != 0 && code != tc.wantCode {
				t.Errorf("error code %#x, want %#x", code, tc.wantCode)
			}
			if tc.wantCode == 0 && (code < 0x100 || code > 0x1ff) {
				t.Errorf("error code %#x, want a TLS alert (0x100-0x1ff)", code)
			}
			// The server reports the failed handshake with the same code.
			rec := recs.next(t)
			if rec.Err == nil || rec.Authenticated || rec.Close.Code != code || rec.Close.Remote == tc.byServer {
				t.Errorf("server record: err %v authenticated %v close %+v; want code %#x", rec.Err, rec.Authenticated, rec.Close, code)
			}
		})
	}
	// The server is still fine afterwards.
	c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
	if _, err := echo.Run(testContext(t), c, echo.Options{Size: 10}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(0, echo.CloseReason)
}

func TestDialNothingListening(t *testing.T) {
	// A port that was just free: bind, note it, release.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	_ = pc.Close()

	cl := client(t)
	const timeout = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	_, err = cl.Dial(ctx, cl.ID(), addr, echo.ALPN, endpoint.DialOptions{})
	took := time.Since(start)
	if err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if took > timeout+time.Second {
		t.Errorf("the dial took %v, its timeout was %v", took, timeout)
	}
	if !endpoint.IsTimeout(err) || !strings.Contains(err.Error(), "no handshake within") || !strings.Contains(err.Error(), addr.String()) {
		t.Errorf("unclear error: %v", err)
	}
	if _, ok := endpoint.ErrorCode(err); ok {
		t.Errorf("a timeout carries no QUIC error code: %v", err)
	}
}

func TestDialInputErrors(t *testing.T) {
	cl := client(t)
	if _, err := cl.Dial(testContext(t), cl.ID(), netip.MustParseAddrPort("127.0.0.1:1"), "", endpoint.DialOptions{}); err == nil {
		t.Error("dial with an empty ALPN succeeded")
	}
	if _, err := cl.Dial(testContext(t), cl.ID(), netip.AddrPort{}, echo.ALPN, endpoint.DialOptions{}); err == nil {
		t.Error("dial without an address succeeded")
	}
	if _, err := endpoint.Listen(context.Background(), endpoint.Config{Bind: "not-an-address"}); err == nil {
		t.Error("Listen on a bad address succeeded")
	}
}

func TestFixedSecret(t *testing.T) {
	sk, err := key.SecretKeyFromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ep := listen(t, endpoint.Config{Secret: &sk})
	if got, want := ep.ID().String(), "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"; got != want {
		t.Errorf("id %s, want %s", got, want)
	}
	if !ep.Addr().Addr().IsLoopback() || ep.Addr().Port() == 0 {
		t.Errorf("bound to %s, want a loopback port", ep.Addr())
	}
}

// Close ends open connections with code 0, as iroh's Endpoint::close does, and returns once
// everything has stopped (TestMain checks for leaked goroutines).
func TestCloseWithOpenConnections(t *testing.T) {
	srv, err := endpoint.Listen(context.Background(), endpoint.Config{Handlers: (&echo.Server{CloseWait: time.Minute}).Handlers()})
	if err != nil {
		t.Fatal(err)
	}
	cl := client(t)
	c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
	if _, err := echo.Run(testContext(t), c, echo.Options{Size: 10}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close did not return")
	}
	select {
	case <-c.Context().Done():
	case <-time.After(testTimeout):
		t.Fatal("the client's connection is still open after the server closed")
	}
	ci := endpoint.CloseInfoOf(context.Cause(c.Context()))
	if !ci.Normal() || !ci.Remote {
		t.Errorf("client saw close %+v, want application code 0 from the server", ci)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// With QLOGDIR set, each side writes a qlog; the transport parameters in it are iroh's idle
// timeout and nothing iroh would read as multipath or NAT traversal (quic-go has none).
func TestQlogAndTransportParameters(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("QLOGDIR", dir)
	srv, recs := echoServer(t)
	cl := client(t)
	c := dial(t, cl, srv, echo.ALPN, endpoint.DialOptions{})
	if _, err := echo.Run(testContext(t), c, echo.Options{Size: 10}); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(0, echo.CloseReason)
	recs.next(t) // the server's connection is over, so its qlog is complete
	for _, side := range []string{"client", "server"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*_"+side+".sqlog"))
		if len(files) != 1 {
			t.Fatalf("%s: %d qlog files, want 1", side, len(files))
		}
		local := localTransportParameters(t, files[0])
		if local["max_idle_timeout"] != float64(30000) {
			t.Errorf("%s: max_idle_timeout %v, want 30000", side, local["max_idle_timeout"])
		}
		for name := range local {
			if strings.Contains(name, "path_id") || strings.Contains(name, "nat_traversal") || strings.Contains(name, "observed") {
				t.Errorf("%s sent transport parameter %s", side, name)
			}
		}
	}
}

// localTransportParameters reads the transport:parameters_set event this side sent from a qlog
// (JSON text sequences, RFC 7464).
func localTransportParameters(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range bytes.Split(b, []byte{0x1e}) {
		var ev struct {
			Name string         `json:"name"`
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal(rec, &ev) == nil && ev.Name == "transport:parameters_set" && ev.Data["initiator"] == "local" {
			return ev.Data
		}
	}
	t.Fatalf("%s has no local transport:parameters_set event", path)
	return nil
}
