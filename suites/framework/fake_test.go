package framework

import (
	"context"
	"sync"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/peercontract"
)

// Fake peers for the framework's own tests: no process, no Docker, no board. A fake server
// only announces an id; a fake client's dial answers what its test says.

type fakePeer struct {
	manifest Manifest
	prepErr  error
}

func (p *fakePeer) Manifest() Manifest                { return p.manifest }
func (p *fakePeer) Version() string                   { return "fake 1" }
func (p *fakePeer) Runtime() string                   { return "in-process" }
func (p *fakePeer) Prepare(ctx context.Context) error { return p.prepErr }

func fakeManifest(name string, roles []Role, features ...Feature) Manifest {
	return Manifest{Name: name, Kind: "go", Roles: roles, ALPNs: []string{"echo/0"}, Features: features}
}

type fakeClient struct {
	fakePeer
	// dial answers a dial; nil: a successful echo.
	dial func(req DialRequest) (peercontract.Result, error)
}

func newFakeClient(name string, features ...Feature) *fakeClient {
	return &fakeClient{fakePeer: fakePeer{manifest: fakeManifest(name, []Role{RoleClient}, features...)}}
}

func (c *fakeClient) Dial(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error) {
	log.Printf("dial %s", req.Ticket)
	if c.dial != nil {
		return c.dial(req)
	}
	return peercontract.Result{Event: peercontract.EventResult, OK: true, ALPN: req.ALPN, Bytes: int64(req.Size * req.Count)}, nil
}

// fakeDecoder is a client that also decodes tickets.
type fakeDecoder struct{ *fakeClient }

func (fakeDecoder) DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	return make([]peercontract.DecodedTicket, len(tickets)), nil
}

type fakeServerPeer struct {
	fakePeer
	startErr error

	mu      sync.Mutex
	started int
	stopped int
}

func newFakeServer(name string, features ...Feature) *fakeServerPeer {
	return &fakeServerPeer{fakePeer: fakePeer{manifest: fakeManifest(name, []Role{RoleServer}, features...)}}
}

func (p *fakeServerPeer) StartServer(ctx context.Context, opts ServerOptions, log *Tap) (Server, error) {
	if p.startErr != nil {
		return nil, p.startErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started++
	log.Printf("serving")
	sk, err := key.GenerateSecretKey()
	if err != nil {
		return nil, err
	}
	return &fakeServer{peer: p, id: sk.Public().String()}, nil
}

type fakeServer struct {
	peer *fakeServerPeer
	id   string
	once sync.Once
}

func (s *fakeServer) ID() string      { return s.id }
func (s *fakeServer) Ticket() string  { return "ticket-of-" + s.id }
func (s *fakeServer) Addrs() []string { return []string{"127.0.0.1:1"} }
func (s *fakeServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	return peercontract.Connection{RemoteID: remoteID}, nil
}
func (s *fakeServer) Stop(ctx context.Context) error {
	s.once.Do(func() {
		s.peer.mu.Lock()
		s.peer.stopped++
		s.peer.mu.Unlock()
	})
	return nil
}

// fakeSessionClient dials only through a started session (like a board), whose heap windows
// report a fixed peak.
type fakeSessionClient struct{ *fakeClient }

func (c fakeSessionClient) Dial(context.Context, DialRequest, *Tap) (peercontract.Result, error) {
	return peercontract.Result{}, ErrDialOutsideSession
}

func (c fakeSessionClient) StartClient(ctx context.Context, log *Tap) (ClientSession, error) {
	log.Printf("session started")
	return &fakeSession{client: c.fakeClient}, nil
}

type fakeSession struct {
	client *fakeClient
}

func (s *fakeSession) Dial(ctx context.Context, req DialRequest, log *Tap) (peercontract.Result, error) {
	return s.client.Dial(ctx, req, log)
}
func (s *fakeSession) Stop(context.Context) error { return nil }
func (s *fakeSession) HeapWindow(context.Context) (HeapReading, error) {
	peak, low := uint64(4096), uint64(100_000)
	return HeapReading{WindowPeak: &peak, WindowMin: &low}, nil
}
