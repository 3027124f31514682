package cases

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

// Fake peers for the cases' own logic: a client whose dials answer what the test says, a server
// whose connection report the test writes. No process, no network.

type fakeClient struct {
	manifest framework.Manifest
	// dial answers a dial; nil: a successful echo of what was asked.
	dial  func(req framework.DialRequest) peercontract.Result
	dials []framework.DialRequest
}

func (p *fakeClient) Manifest() framework.Manifest  { return p.manifest }
func (p *fakeClient) Version() string               { return "fake 1" }
func (p *fakeClient) Runtime() string               { return "in-process" }
func (p *fakeClient) Prepare(context.Context) error { return nil }

func (p *fakeClient) Dial(_ context.Context, req framework.DialRequest, _ *framework.Tap) (peercontract.Result, error) {
	p.dials = append(p.dials, req)
	if p.dial != nil {
		return p.dial(req), nil
	}
	t, err := ticket.Parse(req.Ticket)
	if err != nil {
		return peercontract.Result{}, err
	}
	echoMS := make([]float64, req.Count)
	for i := range echoMS {
		echoMS[i] = 1
	}
	return peercontract.Result{
		Event: peercontract.EventResult, OK: true, EndpointID: clientID, RemoteID: t.ID.String(),
		ALPN: req.ALPN, Bytes: int64(req.Size * req.Count), EchoMS: echoMS,
	}, nil
}

// clientID is the fake client's own id.
const clientID = "c1e47000000000000000000000000000000000000000000000000000000000aa"

type fakeServerPeer struct{ manifest framework.Manifest }

func (p *fakeServerPeer) Manifest() framework.Manifest  { return p.manifest }
func (p *fakeServerPeer) Version() string               { return "fake 1" }
func (p *fakeServerPeer) Runtime() string               { return "in-process" }
func (p *fakeServerPeer) Prepare(context.Context) error { return nil }
func (p *fakeServerPeer) StartServer(context.Context, framework.ServerOptions, *framework.Tap) (framework.Server, error) {
	panic("the cases' tests build their servers themselves")
}

type fakeServer struct {
	id     key.PublicKey
	addr   netip.AddrPort
	report func(remoteID string) peercontract.Connection
}

func newFakeServer(t *testing.T) *fakeServer {
	sk, err := key.GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeServer{id: sk.Public(), addr: netip.MustParseAddrPort("127.0.0.1:4433")}
}

func (s *fakeServer) ID() string { return s.id.String() }
func (s *fakeServer) Ticket() string {
	return ticket.New(s.id, ticket.IPAddr(s.addr)).String()
}
func (s *fakeServer) Addrs() []string            { return []string{s.addr.String()} }
func (s *fakeServer) Stop(context.Context) error { return nil }

// WaitConnection reports a normal echo/0 connection unless the test says otherwise.
func (s *fakeServer) WaitConnection(_ context.Context, remoteID string) (peercontract.Connection, error) {
	if s.report != nil {
		return s.report(remoteID), nil
	}
	zero := uint64(0)
	return peercontract.Connection{Event: peercontract.EventConnection, RemoteID: remoteID, ALPN: EchoALPN, CloseCode: &zero}, nil
}

// fakeBoard is a fake server with a console: it reports no ALPN and no close code.
type fakeBoard struct{ *fakeServer }

func (fakeBoard) Reset(context.Context) (time.Duration, error) { return time.Second, nil }
func (fakeBoard) Status(context.Context) (framework.BoardStatus, error) {
	return framework.BoardStatus{}, nil
}
func (fakeBoard) BootTime() time.Duration { return time.Second }

func manifest(name string, roles ...framework.Role) framework.Manifest {
	return framework.Manifest{Name: name, Kind: "go", Roles: roles, ALPNs: []string{EchoALPN},
		Crypto: framework.Crypto{CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}, Groups: []string{"x25519"}, Signatures: []string{"ed25519"}},
		Limits: framework.Limits{ConcurrentBidiStreams: 100}}
}

// echoWire is the wire of one good echo connection between the fake client and server: what
// the cases' wire checks accept.
func echoWire(serverID string) *dissect.Wire {
	return &dissect.Wire{Frames: 10, Connections: []*dissect.Connection{{
		Number: 1, FirstFrame: 1, LastFrame: 10,
		Handshake: dissect.Handshake{
			ClientHelloFrame: 1, ServerHelloFrame: 2, EncryptedExtensionsFrame: 2, ALPN: EchoALPN,
			CipherSuite: "TLS_AES_128_GCM_SHA256", Group: "X25519", ServerSignature: "Ed25519", ClientSignature: "Ed25519",
			ServerCertType: 2, ClientCertType: 2, ServerKey: serverID, ClientKey: clientID,
			ServerFinished: true, ClientFinished: true,
		},
		TransportParameters:  map[dissect.Side]*dissect.TransportParameters{},
		Streams:              []*dissect.Stream{clientStream(0, 0.1, 0.2)},
		MaxConcurrentStreams: 1,
		Closes:               []dissect.Close{{Frame: 9, By: dissect.Client, FrameType: 0x1d, Code: 0}},
	}}}
}

func newFakeClient() *fakeClient {
	return &fakeClient{manifest: manifest("fake-client", framework.RoleClient)}
}

// run runs one case in a cell of the fakes, with the wire of a good echo connection.
func run(t *testing.T, k framework.Case, client framework.ClientPeer, server framework.Server) (*framework.Cell, error) {
	t.Helper()
	return runOnWire(t, k, client, server, echoWire(server.ID()))
}

// fakeCell is a cell of the fakes: client, server, and a server peer declaring sm (nil: a plain
// server's manifest).
func fakeCell(t *testing.T, client framework.ClientPeer, server framework.Server, sm *framework.Manifest) *framework.Cell {
	t.Helper()
	m := manifest("fake-server", framework.RoleServer)
	if sm != nil {
		m = *sm
	}
	return &framework.Cell{
		Client: client, Server: server, ServerPeer: &fakeServerPeer{manifest: m},
		ClientLog: framework.NewTap("client", nil), ServerLog: framework.NewTap("server", nil),
		LogDir: t.TempDir(),
	}
}

// wantOutcome: a case that must pass (says empty) passed, or failed saying says.
func wantOutcome(t *testing.T, err error, says string) {
	t.Helper()
	if says == "" {
		if err != nil {
			t.Errorf("failed: %v", err)
		}
		return
	}
	wantError(t, err, says)
}

// runOnWire runs one case in a cell of the fakes whose wire is w.
func runOnWire(t *testing.T, k framework.Case, client framework.ClientPeer, server framework.Server, w *dissect.Wire) (*framework.Cell, error) {
	t.Helper()
	c := fakeCell(t, client, server, nil)
	c.UseWire(func() (*dissect.Wire, error) { return w, nil })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c, k.Run(ctx, c)
}

func wantError(t *testing.T, err error, says string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), says) {
		t.Errorf("got %v, want an error saying %q", err, says)
	}
}

func byName(t *testing.T, name string) framework.Case {
	t.Helper()
	for _, k := range Interop() {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no case %s", name)
	return framework.Case{}
}

// The handshake compares the ALPN the server negotiated with the one dialed; a contract server
// that reports none fails, a board (whose console names none) does not.
func TestHandshakeChecksTheServersALPN(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alpn   string
		board  bool
		failed string
	}{
		{"negotiated", EchoALPN, false, ""},
		{"another ALPN", "iroh-example/echo/0", false, `server negotiated ALPN "iroh-example/echo/0"`},
		{"none reported", "", false, "did not report the ALPN"},
		{"board reports none", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			s.report = func(remote string) peercontract.Connection {
				return peercontract.Connection{RemoteID: remote, ALPN: tc.alpn, Bytes: 13}
			}
			var server framework.Server = s
			if tc.board {
				server = fakeBoard{s}
			}
			_, err := run(t, Handshake(), newFakeClient(), server)
			if tc.failed == "" {
				if err != nil {
					t.Errorf("failed: %v", err)
				}
				return
			}
			wantError(t, err, tc.failed)
		})
	}
}

// The client's negotiated ALPN must be the dialed one.
func TestClientMustNegotiateTheDialedALPN(t *testing.T) {
	cl := newFakeClient()
	cl.dial = func(req framework.DialRequest) peercontract.Result {
		t, _ := ticket.Parse(req.Ticket)
		return peercontract.Result{OK: true, EndpointID: clientID, RemoteID: t.ID.String(), ALPN: "iroh-example/echo/0", Bytes: 13}
	}
	_, err := run(t, Handshake(), cl, newFakeServer(t))
	wantError(t, err, `client negotiated ALPN "iroh-example/echo/0"`)
}

// The echo and idle cases read the server's account too: a board whose console says the
// connection ended abnormally fails them, and so does a server that echoed less.
func TestEchoCasesCheckTheServerSide(t *testing.T) {
	for _, name := range []string{"echo-1KiB", "echo-streams-sequential", "echo-streams-concurrent"} {
		t.Run(name, func(t *testing.T) {
			s := newFakeServer(t)
			s.report = func(remote string) peercontract.Connection {
				return peercontract.Connection{RemoteID: remote, Error: "connection ended: timed out"}
			}
			_, err := run(t, byName(t, name), newFakeClient(), fakeBoard{s})
			wantError(t, err, "ended with an error: connection ended: timed out")

			s.report = func(remote string) peercontract.Connection {
				return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: 1}
			}
			_, err = run(t, byName(t, name), newFakeClient(), s)
			wantError(t, err, "server echoed 1 bytes")
		})
	}
}

// refuse-wrong-id needs nothing of the client: every client is asked to dial the server's
// addresses with another id, and must refuse with a certificate alert.
func TestRefuseWrongIDAsksEveryClient(t *testing.T) {
	k := RefuseWrongID()
	if len(k.ClientNeeds) != 0 || len(k.ServerNeeds) != 0 {
		t.Errorf("refuse-wrong-id needs %v of the client and %v of the server; every pair can run it", k.ClientNeeds, k.ServerNeeds)
	}
	code := func(c peercontract.Code) *uint64 { v := uint64(c); return &v }
	for _, tc := range []struct {
		name   string
		res    peercontract.Result
		failed string
	}{
		{"bad_certificate", peercontract.Result{Error: "refused", ErrorCode: code(peercontract.BadCertificate)}, ""},
		{"unknown_ca", peercontract.Result{Error: "refused", ErrorCode: code(peercontract.UnknownCA)}, ""},
		{"accepted", peercontract.Result{OK: true, Bytes: 13}, "accepted and echoed"},
		{"another code", peercontract.Result{Error: "refused", ErrorCode: code(peercontract.NoApplicationProtocol)}, "refused with error code no_application_protocol"},
		{"no code", peercontract.Result{Error: "timed out"}, "without a QUIC error code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			cl := newFakeClient() // not a framework.MisbehavingClient
			cl.dial = func(framework.DialRequest) peercontract.Result { return tc.res }
			// The wire agrees with the client: its CONNECTION_CLOSE with the result's code.
			w := echoWire(s.ID())
			w.Connections[0].Handshake.ServerFinished, w.Connections[0].Handshake.ClientFinished = false, false
			w.Connections[0].Closes = []dissect.Close{{Frame: 4, By: dissect.Client, FrameType: 0x1c, Code: uint64(peercontract.BadCertificate), Packet: "Handshake"}}
			if tc.res.ErrorCode != nil {
				w.Connections[0].Closes[0].Code = *tc.res.ErrorCode
			}
			_, err := runOnWire(t, k, cl, s, w)
			if tc.failed == "" && err != nil {
				t.Errorf("failed: %v", err)
			}
			if tc.failed != "" {
				wantError(t, err, tc.failed)
			}
			if len(cl.dials) != 1 {
				t.Fatalf("%d dials, want 1", len(cl.dials))
			}
			dialed, err := ticket.Parse(cl.dials[0].Ticket)
			if err != nil {
				t.Fatal(err)
			}
			if dialed.ID == s.id || len(dialed.IPAddrs()) != 1 || dialed.IPAddrs()[0] != s.addr {
				t.Errorf("dialed %v at %v; want another id than %v at %v", dialed.ID, dialed.IPAddrs(), s.id, s.addr)
			}
		})
	}
}

// decoderClient is a fake client whose decoder is the Go ticket library, with the answers for
// some tickets changed by the test.
type decoderClient struct {
	*fakeClient
	change func(in string, d *peercontract.DecodedTicket)
}

func (p decoderClient) DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	out, err := referenceDecoder{}.DecodeTickets(ctx, tickets)
	if p.change != nil {
		for i := range out {
			p.change(tickets[i], &out[i])
		}
	}
	return out, err
}

type decoderServerPeer struct {
	*fakeServerPeer
	decoderClient
}

func (p decoderServerPeer) Manifest() framework.Manifest { return p.fakeServerPeer.Manifest() }

func corpusTicket(t *testing.T, name string) string {
	t.Helper()
	corpus, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range corpus {
		if e.Name == name {
			return e.Ticket
		}
	}
	t.Fatalf("no corpus entry %s", name)
	return ""
}

// The differential excuses only the listed custom address layout differences: between decoders
// of different declared layouts, in custom addresses only, for the listed corpus entries.
// Accept/reject and endpoint id differences fail whatever the layouts.
func TestDifferentialExcusesOnlyListedDifferences(t *testing.T) {
	legacy, current := corpusTicket(t, "composite-legacy"), corpusTicket(t, "custom-current-max-id")
	// editAddr changes the first address of a kind in a decoded ticket.
	editAddr := func(kind, field, value string) func(d *peercontract.DecodedTicket) {
		return func(d *peercontract.DecodedTicket) {
			var addrs []map[string]any
			if err := json.Unmarshal(d.Addrs, &addrs); err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if a["type"] == kind {
					a[field] = value
					break
				}
			}
			d.Addrs, _ = json.Marshal(addrs)
		}
	}
	otherData := editAddr("custom", "data", "ffff")
	for _, tc := range []struct {
		name          string
		serverLayouts []string
		ticket        string
		change        func(d *peercontract.DecodedTicket)
		failed        string
	}{
		{"the server refuses a custom ticket", []string{"legacy"}, current,
			func(d *peercontract.DecodedTicket) {
				*d = peercontract.DecodedTicket{Ticket: d.Ticket, Error: "invalid ticket"}
			},
			"client accepts, server refuses"},
		{"another endpoint id on a custom ticket", []string{"legacy"}, legacy,
			func(d *peercontract.DecodedTicket) { d.EndpointID = strings.Repeat("00", 32) }, "endpoint id"},
		{"custom data of an unlisted entry", []string{"legacy"}, current, otherData, "the decoders disagree on 1 of"},
		{"custom data of a listed entry, same layouts", []string{"current", "legacy"}, legacy, otherData, "the decoders disagree on 1 of"},
		{"an ip address of a listed entry", []string{"legacy"}, legacy,
			editAddr("ip", "addr", "192.0.2.1:1"), "the decoders disagree on 1 of"},
		{"custom data of a listed entry, different layouts", []string{"legacy"}, legacy, otherData, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := decoderClient{fakeClient: newFakeClient()}
			cl.manifest.CustomAddrEncodings = map[string][]string{"default": {"current", "legacy"}}
			sm := manifest("fake-server", framework.RoleServer)
			sm.CustomAddrEncodings = map[string][]string{"default": tc.serverLayouts}
			server := decoderServerPeer{&fakeServerPeer{manifest: sm}, decoderClient{change: func(in string, d *peercontract.DecodedTicket) {
				if in == tc.ticket {
					tc.change(d)
				}
			}}}
			c := &framework.Cell{
				Client: cl, Server: newFakeServer(t), ServerPeer: server,
				ClientLog: framework.NewTap("client", nil), ServerLog: framework.NewTap("server", nil), LogDir: t.TempDir(),
			}
			err := TicketDifferential().Run(context.Background(), c)
			if tc.failed == "" {
				if err != nil {
					t.Fatalf("failed: %v", err)
				}
				if n := c.Metrics()["tickets_custom_layout_differences"]; n != 1 {
					t.Errorf("%v differences excused, want 1", n)
				}
				return
			}
			wantError(t, err, tc.failed)
		})
	}
}

// The idle case holds its connection idle longer than iroh's and the Go peer's 30 s idle
// timeout, so a peer without keep-alives cannot pass it.
func TestIdleOutlastsTheIdleTimeouts(t *testing.T) {
	cl, s := newFakeClient(), newFakeServer(t)
	s.report = func(remote string) peercontract.Connection {
		return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: 1 << 10}
	}
	if _, err := run(t, Idle(), cl, s); err != nil && !isTestbed(err) {
		t.Fatal(err)
	}
	if len(cl.dials) != 1 {
		t.Fatalf("%d dials, want 1", len(cl.dials))
	}
	if idle := cl.dials[0].Idle; idle <= 30*time.Second {
		t.Errorf("idle %s, not longer than the 30 s idle timeout", idle)
	}
	if d := cl.dials[0]; d.Timeout <= d.Idle || Idle().Timeout <= d.Timeout {
		t.Errorf("dial timeout %s, case timeout %s for %s idle", d.Timeout, Idle().Timeout, d.Idle)
	}
}

// echo-streams-concurrent records payload over the wall time the wire shows (0.5 s here), not
// over the sum of the client's per-stream times (8 echoes of 250 ms: 2 s), and fails when the
// streams did not overlap.
func TestConcurrentThroughputIsPayloadOverWallTime(t *testing.T) {
	const bytes = 8 * 64 << 10
	cl := newFakeClient()
	cl.dial = func(req framework.DialRequest) peercontract.Result {
		tk, _ := ticket.Parse(req.Ticket)
		return peercontract.Result{OK: true, EndpointID: clientID, RemoteID: tk.ID.String(), ALPN: req.ALPN, Bytes: bytes,
			EchoMS: []float64{250, 250, 250, 250, 250, 250, 250, 250}}
	}
	s := newFakeServer(t)
	s.report = func(remote string) peercontract.Connection {
		return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: bytes}
	}
	w := echoWire(s.ID())
	conn := w.Connections[0]
	conn.Streams = nil
	for i := range 8 {
		start := 1.0 + 0.25*float64(i/4)
		conn.Streams = append(conn.Streams, clientStream(uint64(4*i), start, start+0.25))
	}
	conn.MaxConcurrentStreams = 4
	c, err := runOnWire(t, EchoStreamsConcurrent(), cl, s, w)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(bytes) * 8 / 0.5 / 1e6
	if got := c.Metrics()["throughput_mbps"]; got < want*0.999 || got > want*1.001 {
		t.Errorf("throughput %.1f Mbit/s, want %.1f (payload over the 0.5 s the streams took together)", got, want)
	}

	conn.MaxConcurrentStreams = 1
	_, err = runOnWire(t, EchoStreamsConcurrent(), cl, s, w)
	wantError(t, err, "at most 1 streams overlapped on the wire")
}

// The idle case checks its idle time on the wire: PINGs must cross it.
func TestIdleChecksPingsOnTheWire(t *testing.T) {
	cl, s := newFakeClient(), newFakeServer(t)
	s.report = func(remote string) peercontract.Connection {
		return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: 1 << 10}
	}
	w := echoWire(s.ID())
	idle := idleConn(30000, 30000, everyPing(5, 35, 5, dissect.Server)...)
	idle.Handshake, idle.Closes = w.Connections[0].Handshake, w.Connections[0].Closes
	w.Connections[0] = idle
	if _, err := runOnWire(t, Idle(), cl, s, w); err != nil {
		t.Errorf("keep-alives every 5 s failed: %v", err)
	}
	idle.Pings = nil
	_, err := runOnWire(t, Idle(), cl, s, w)
	wantError(t, err, "no PING crossed the wire")

	// A multipath connection (iroh with iroh) cannot be read after its handshake: its transport
	// parameters still must leave the idle time longer than both idle timeouts.
	long := uint64(60000)
	for _, side := range []dissect.Side{dissect.Client, dissect.Server} {
		idle.TransportParameters[side].Others = []dissect.Parameter{{Name: "initial_max_path_id"}}
	}
	idle.Streams = nil
	if _, err := runOnWire(t, Idle(), cl, s, w); err != nil {
		t.Errorf("a multipath connection with 30 s idle timeouts failed: %v", err)
	}
	idle.TransportParameters[dissect.Server].MaxIdleTimeout = &long
	_, err = runOnWire(t, Idle(), cl, s, w)
	if wantError(t, err, "not longer than the longer idle timeout (60 s)"); !isTestbed(err) {
		t.Errorf("%v is not a test bed error", err)
	}
}
