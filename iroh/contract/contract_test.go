package contract_test

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/upload"
	"github.com/irohconf/irohconf/peercontract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 20 * time.Second

// server runs contract.Serve in the background and hands out its lines.
type server struct {
	ready  peercontract.Ready
	lines  chan any
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, cfg contract.ServeConfig) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{lines: make(chan any, 64), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- contract.Serve(ctx, cfg, func(v any) { s.lines <- v }) }()
	select {
	case v := <-s.lines:
		r, ok := v.(peercontract.Ready)
		if !ok {
			t.Fatalf("first line is %T, want Ready", v)
		}
		s.ready = r
	case err := <-s.done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(testTimeout):
		t.Fatal("no ready line")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) stop(t *testing.T) {
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(testTimeout):
		t.Error("Serve did not return after its context ended")
	}
}

func (s *server) connection(t *testing.T) peercontract.Connection {
	t.Helper()
	select {
	case v := <-s.lines:
		c, ok := v.(peercontract.Connection)
		if !ok {
			t.Fatalf("line is %T, want Connection", v)
		}
		return c
	case <-time.After(testTimeout):
		t.Fatal("no connection line")
		return peercontract.Connection{}
	}
}

func (s *server) request(t *testing.T) contract.DialRequest {
	t.Helper()
	tk, err := ticket.Parse(s.ready.Ticket)
	if err != nil {
		t.Fatalf("the ready line's ticket does not parse: %v", err)
	}
	if tk.ID.String() != s.ready.EndpointID || len(tk.IPAddrs()) != 1 || tk.IPAddrs()[0].String() != s.ready.Addrs[0] {
		t.Fatalf("ticket %+v disagrees with the ready line %+v", tk, s.ready)
	}
	return contract.DialRequest{ID: tk.ID, Addr: tk.IPAddrs()[0], Timeout: testTimeout}
}

func TestServeAndDial(t *testing.T) {
	seed := make([]byte, 32)
	seed[0] = 7
	sk, err := key.SecretKeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, contract.ServeConfig{Secret: &sk})
	if s.ready.Event != "ready" || s.ready.EndpointID != sk.Public().String() || !strings.HasPrefix(s.ready.Version, "irohconf-go") {
		t.Errorf("ready line %+v", s.ready)
	}
	for _, alpn := range echo.ALPNs {
		req := s.request(t)
		req.ALPN, req.Size, req.Count, req.Streams = alpn, 1000, 5, 2
		res := contract.Dial(context.Background(), req)
		if !res.OK || res.Error != "" || res.ErrorCode != nil {
			t.Fatalf("dial: %+v", res)
		}
		if res.RemoteID != sk.Public().String() || res.ALPN != alpn || res.Bytes != 5000 || len(res.EchoMS) != 5 || res.HandshakeMS <= 0 {
			t.Errorf("result %+v", res)
		}
		conn := s.connection(t)
		if conn.RemoteID != res.EndpointID || conn.ALPN != alpn || conn.Bytes != 5000 || conn.Streams != 5 ||
			conn.CloseCode == nil || *conn.CloseCode != 0 || conn.CloseReason != echo.CloseReason || conn.Error != "" {
			t.Errorf("connection line %+v", conn)
		}
		// The lines are the contract's JSON.
		b, err := json.Marshal(conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{`"event":"connection"`, `"remote_id":`, `"alpn":`, `"bytes":5000`, `"streams":5`, `"close_code":0`, `"close_reason":"bye!"`, `"error":""`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("connection JSON lacks %s: %s", field, b)
			}
		}
	}
}

// The result and the server's line name the ALPN the handshake settled on: a client that offers
// an unserved ALPN first and echo/0 second gets echo/0, and says so.
func TestALPNIsTheNegotiatedOne(t *testing.T) {
	s := startServer(t, contract.ServeConfig{ALPNs: []string{echo.ALPN}})
	req := s.request(t)
	req.ALPN, req.Size = "irohconf/unserved/0", 13
	req.Options.ExtraALPNs = []string{echo.ALPN}
	res := contract.Dial(context.Background(), req)
	if !res.OK {
		t.Fatalf("dial: %+v", res)
	}
	if res.ALPN != echo.ALPN {
		t.Errorf("result names ALPN %q, the handshake negotiated %q", res.ALPN, echo.ALPN)
	}
	if c := s.connection(t); c.ALPN != echo.ALPN {
		t.Errorf("server line names ALPN %q, want %q", c.ALPN, echo.ALPN)
	}
}

func TestDialWithFixedSecretAndIdle(t *testing.T) {
	s := startServer(t, contract.ServeConfig{})
	sk, _ := key.GenerateSecretKey()
	req := s.request(t)
	req.Secret, req.Idle, req.Size = &sk, 300*time.Millisecond, 13
	start := time.Now()
	res := contract.Dial(context.Background(), req)
	if !res.OK || res.EndpointID != sk.Public().String() {
		t.Fatalf("dial: %+v", res)
	}
	if took := time.Since(start); took < req.Idle {
		t.Errorf("the dial took %v, less than its idle time %v", took, req.Idle)
	}
	if c := s.connection(t); c.RemoteID != sk.Public().String() {
		t.Errorf("server saw %s, want %s", c.RemoteID, sk.Public())
	}
}

func TestDialRefusals(t *testing.T) {
	s := startServer(t, contract.ServeConfig{ALPNs: []string{echo.ALPN}})
	stranger, _ := key.GenerateSecretKey()
	for _, tc := range []struct {
		name string
		edit func(*contract.DialRequest)
		code uint64
	}{
		{"unserved ALPN", func(r *contract.DialRequest) { r.ALPN = echo.ExampleALPN }, endpoint.CodeNoApplicationProtocol},
		{"no client key", func(r *contract.DialRequest) { r.Options.NoClientKey = true }, endpoint.CodeCertificateRequired},
		{"wrong id", func(r *contract.DialRequest) { r.ID = stranger.Public() }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := s.request(t)
			req.Size, req.Timeout = 13, 5*time.Second
			tc.edit(&req)
			res := contract.Dial(context.Background(), req)
			if res.OK || res.Error == "" || res.ErrorCode == nil {
				t.Fatalf("result %+v, want a refusal with a code", res)
			}
			if tc.code != 0 && *res.ErrorCode != tc.code {
				t.Errorf("error code %#x, want %#x (%s)", *res.ErrorCode, tc.code, res.Error)
			}
			if tc.code == endpoint.CodeNoApplicationProtocol && res.ALPN != "" {
				t.Errorf("result names ALPN %q though the server refused every ALPN offered", res.ALPN)
			}
			if c := s.connection(t); c.Error == "" || c.CloseCode == nil || *c.CloseCode != *res.ErrorCode {
				t.Errorf("server line %+v, want the same code %#x", c, *res.ErrorCode)
			}
		})
	}
}

func TestDialNothingListening(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	_ = pc.Close()
	sk, _ := key.GenerateSecretKey()
	res := contract.Dial(context.Background(), contract.DialRequest{ID: sk.Public(), Addr: addr, Timeout: time.Second})
	if res.OK || res.ErrorCode != nil || res.Stage != "handshake" || !strings.Contains(res.Error, "no handshake within") {
		t.Errorf("result %+v", res)
	}
}
func TestDialConnectionsAndUpload(t *testing.T) {
	s := startServer(t, contract.ServeConfig{ALPNs: []string{echo.ALPN, upload.ALPN}})
	req := s.request(t)
	req.Size, req.Count, req.Connections = 1000, 2, 3
	res := contract.Dial(context.Background(), req)
	if !res.OK || res.Connections != 3 || len(res.HandshakesMS) != 3 || len(res.EchoMS) != 6 || res.Bytes != 6000 || res.HandshakeMS != res.HandshakesMS[0] {
		t.Fatalf("three connections: %+v", res)
	}
	for range 3 {
		if c := s.connection(t); c.Bytes != 2000 || c.Streams != 2 || c.Error != "" {
			t.Errorf("connection line %+v", c)
		}
	}

	req = s.request(t)
	req.Size, req.Duration = 13, 300*time.Millisecond
	start := time.Now()
	res = contract.Dial(context.Background(), req)
	if !res.OK || res.Connections < 2 || len(res.HandshakesMS) != res.Connections || time.Since(start) < req.Duration {
		t.Fatalf("connections for %s: %+v", req.Duration, res)
	}
	for range res.Connections {
		s.connection(t)
	}

	// Uploads larger than any window: the server answers with the count only.
	req = s.request(t)
	req.ALPN, req.Size, req.Count, req.Streams = upload.ALPN, 8<<20, 3, 2
	res = contract.Dial(context.Background(), req)
	if !res.OK || res.Bytes != 3*8<<20 || len(res.EchoMS) != 3 {
		t.Fatalf("uploads: %+v", res)
	}
	if c := s.connection(t); c.ALPN != upload.ALPN || c.BytesIn != 3*8<<20 || c.BytesOut != 3*8 || c.Error != "" {
		t.Errorf("upload connection line %+v", c)
	}
}
