package peers

import (
	"context"
	"errors"
	"fmt"
	"github.com/irohconf/irohconf/internal/syncio"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// UpstreamPeer is one pinned version of upstream iroh, run through containers/ (Docker with
// host networking, or the same static binary as a process where no Docker engine answers).
// Servers get an Upstream of their own, so their output goes to the pair's server log; dials
// and ticket decodes share one, exec'd into one long-running container.
type UpstreamPeer struct {
	manifest framework.Manifest
	version  containers.Version

	mu      sync.Mutex
	client  *containers.Upstream
	runtime string        // docker, process, or process-fallback (no engine answered)
	clientW syncio.Writer // the dialing Upstream's output, to the tap of the cell that dials
}

// NewUpstreamPeers returns one peer per version the upstream manifest declares.
func NewUpstreamPeers() ([]*UpstreamPeer, error) {
	m, err := Manifest("upstream")
	if err != nil {
		return nil, err
	}
	var out []*UpstreamPeer
	for _, vm := range m.Expand() {
		out = append(out, &UpstreamPeer{manifest: vm, version: containers.Version(vm.Version)})
	}
	return out, nil
}

func (p *UpstreamPeer) Manifest() framework.Manifest { return p.manifest }
func (p *UpstreamPeer) Version() string              { return "iroh " + string(p.version) }

func (p *UpstreamPeer) Runtime() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runtime == "" {
		return "not started"
	}
	return p.runtime
}

// Prepare finds the binary, picks the runtime and builds the image when it is missing or stale.
func (p *UpstreamPeer) Prepare(ctx context.Context) error {
	_, err := p.clientUpstream(ctx)
	return err
}

func (p *UpstreamPeer) clientUpstream(ctx context.Context) (*containers.Upstream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	u, err := containers.New(ctx, p.version, containers.Options{Log: &p.clientW})
	if err != nil {
		return nil, err
	}
	p.client, p.runtime = u, u.RuntimeName()
	return u, nil
}

// Close releases the dialing container.
func (p *UpstreamPeer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return nil
	}
	err := p.client.Close()
	p.client = nil
	return err
}

// StartServer runs `serve` in a container of its own. The server outlives the setup node that
// starts it, so it is started without that node's cancellation; containers bounds the start
// itself (a ready line within its ReadyTimeout).
func (p *UpstreamPeer) StartServer(ctx context.Context, opts framework.ServerOptions, log *framework.Tap) (framework.Server, error) {
	ctx = context.WithoutCancel(ctx)
	u, err := containers.New(ctx, p.version, containers.Options{Log: log})
	if err != nil {
		return nil, err
	}
	so := containers.ServeOptions{ALPNs: opts.ALPNs, Secret: opts.Secret, Bind: opts.Bind}
	if opts.KeyLogDir != "" {
		so.KeyLog = opts.KeyLogDir + "/keylog-server.txt"
	}
	s, err := u.Serve(ctx, so)
	if err != nil {
		return nil, errors.Join(err, u.Close())
	}
	return &upstreamServer{u: u, s: s}, nil
}

type upstreamServer struct {
	u    *containers.Upstream
	s    *containers.Server
	once sync.Once
	err  error

	cells cellCursor // positions in the list of connections the server reported
}

// CellStarted notes how many connections came before the cell (framework.CellAware).
func (s *upstreamServer) CellStarted() { s.cells.start(framework.Mark(len(s.s.Connections()))) }

func (s *upstreamServer) ID() string      { return s.s.Ready.EndpointID }
func (s *upstreamServer) Ticket() string  { return s.s.Ready.Ticket }
func (s *upstreamServer) Addrs() []string { return s.s.Ready.Addrs }

// WaitConnection waits for the next connection from remoteID in the current cell: a client
// with a fixed id (a board) dials in many cells.
func (s *upstreamServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	from := int(s.cells.from(0, remoteID))
	for {
		conns := s.s.Connections()
		for i := from; i < len(conns); i++ {
			if remoteID == "" || strings.EqualFold(conns[i].RemoteID, remoteID) {
				s.cells.took(remoteID, framework.Mark(i+1))
				return conns[i], nil
			}
		}
		select {
		case <-ctx.Done():
			return peercontract.Connection{}, fmt.Errorf("upstream server: no connection line from %q in this cell (%d connections before it): %w", remoteID, from, context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *upstreamServer) Stop(ctx context.Context) error {
	s.once.Do(func() { s.err = errors.Join(s.s.Stop(ctx), s.u.Close()) })
	return s.err
}

// Dial runs `dial` in the version's dialing container.
func (p *UpstreamPeer) Dial(ctx context.Context, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
	u, err := p.clientUpstream(ctx)
	if err != nil {
		return peercontract.Result{}, err
	}
	p.clientW.Set(log)
	defer p.clientW.Set(nil)
	opts := containers.DialOptions{
		Ticket: req.Ticket, ALPN: req.ALPN, Size: req.Size, Count: req.Count, Streams: req.Streams,
		Timeout: req.Timeout, Idle: req.Idle, Secret: req.Secret, KeyLog: req.KeyLog,
	}
	if req.Size == 0 {
		opts.Extra = append(opts.Extra, "--size", "0") // DialOptions leaves a zero size to the default
	}
	res, err := u.Dial(ctx, opts)
	if err != nil {
		return peercontract.Result{}, err
	}
	switch res.ExitCode {
	case 0, 1:
	case 127:
		return peercontract.Result{}, framework.NotDeclared(p.manifest.Name, "%s answered 127 (unsupported): %s", p.manifest.Name, res.Stderr)
	default:
		return peercontract.Result{}, fmt.Errorf("%s dial exited %d: %s", p.manifest.Name, res.ExitCode, res.Stderr)
	}
	return res.Result, nil
}

// DecodeTickets runs `ticket decode -` once for the whole batch.
func (p *UpstreamPeer) DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	u, err := p.clientUpstream(ctx)
	if err != nil {
		return nil, err
	}
	return u.DecodeTickets(ctx, tickets)
}
