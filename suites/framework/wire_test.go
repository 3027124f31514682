package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/internal/syncio"
	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/wire/dissect"
)

// Peers with real traffic for the wire's tests: an in-process Go echo server and a client that
// dials the ticket it is given with the Go peer's dial, both writing key logs.

type echoServerPeer struct{ fakePeer }

func newEchoServer(name string) *echoServerPeer {
	return &echoServerPeer{fakePeer{manifest: fakeManifest(name, []Role{RoleServer})}}
}

func (p *echoServerPeer) StartServer(ctx context.Context, opts ServerOptions, log *Tap) (Server, error) {
	f, err := os.Create(filepath.Join(opts.KeyLogDir, ServerKeyLogFile))
	if err != nil {
		return nil, err
	}
	ep, err := endpoint.Listen(ctx, endpoint.Config{Handlers: (&echo.Server{}).Handlers(), KeyLog: syncio.NewWriter(f)})
	if err != nil {
		f.Close()
		return nil, err
	}
	log.Printf("serving %s", ep.Ticket())
	return &echoServer{ep: ep, keylog: f}, nil
}

type echoServer struct {
	ep     *endpoint.Endpoint
	keylog *os.File
}

func (s *echoServer) ID() string      { return s.ep.ID().String() }
func (s *echoServer) Ticket() string  { return s.ep.Ticket().String() }
func (s *echoServer) Addrs() []string { return []string{s.ep.Addr().String()} }
func (s *echoServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	return peercontract.Connection{RemoteID: remoteID}, nil
}
func (s *echoServer) Stop(ctx context.Context) error {
	return errors.Join(s.ep.Close(), s.keylog.Close())
}

// newDialingClient is a client that really dials: the ticket's id at its first address.
func newDialingClient(name string) *fakeClient {
	c := newFakeClient(name)
	c.dial = func(req DialRequest) (peercontract.Result, error) {
		t, err := ticket.Parse(req.Ticket)
		if err != nil {
			return peercontract.Result{}, err
		}
		f, err := os.Create(req.KeyLog)
		if err != nil {
			return peercontract.Result{}, err
		}
		defer f.Close()
		return contract.Dial(context.Background(), contract.DialRequest{
			ID: t.ID, Addr: t.IPAddrs()[0], ALPN: req.ALPN, Size: req.Size, Count: req.Count, KeyLog: f,
		}), nil
	}
	return c
}

// wireSuite selects the fake suite of these peers and wireCases.
const wireSuite = "wire"

// wireCases are the fake suite's cases about the wire.
func wireCases() []Case {
	return []Case{
		{Name: "wire", Run: func(ctx context.Context, c *Cell) error {
			if c.Server.Ticket() == c.Announced().Ticket() {
				return errors.New("the case got the server's own ticket, not the relay's")
			}
			t, err := ticket.Parse(c.Server.Ticket())
			if err != nil || t.ID.String() != c.Server.ID() || len(t.IPAddrs()) != 1 || t.IPAddrs()[0].String() != c.Server.Addrs()[0] {
				return fmt.Errorf("the relayed ticket %s (%v) does not name the server's id at the relay's address %v", c.Server.Ticket(), err, c.Server.Addrs())
			}
			res, err := c.Dial(ctx, DialRequest{Ticket: c.Server.Ticket(), ALPN: "echo/0", Size: 1000, Count: 2})
			if err != nil || !res.OK {
				return fmt.Errorf("the dial failed: %v %s", err, res.Error)
			}
			w, err := c.Wire(ctx)
			if err != nil {
				return err
			}
			again, err := c.Wire(ctx)
			if err != nil || again != w {
				return errors.New("a second Wire call dissected again")
			}
			conn := w.Handshaken()
			if conn == nil || conn.Handshake.ALPN != "echo/0" || conn.Handshake.ServerKey != c.Server.ID() || w.Undecrypted != 0 {
				return fmt.Errorf("the wire shows %+v", w)
			}
			return nil
		}},
		{Name: "no-dial", Run: func(ctx context.Context, c *Cell) error { return nil }},
		{Name: "wire-after-failure", Run: func(ctx context.Context, c *Cell) error {
			_, _ = c.Dial(ctx, DialRequest{Ticket: c.Server.Ticket(), ALPN: "echo/0", Size: 13, Count: 1})
			return errors.New("the case failed after its dial")
		}},
	}
}

func TestSuiteWire(t *testing.T) {
	run, dir, passed := runSuiteIn(t, wireSuite, "server:echo-sv && (case:wire || case:no-dial)")
	if !passed {
		t.Error("the run failed")
	}
	for _, kase := range []string{"wire", "no-dial"} {
		c := findCell(t, run, "go-cl", "echo-sv", kase)
		if c.Outcome != Succeeded {
			t.Errorf("%s: %s %s", kase, c.Outcome, c.Reason)
		}
		ev := c.Evidence
		if ev == nil || ev.Capture != c.Logs+"/"+CaptureFile || ev.Wire != c.Logs+"/"+dissect.JSONFile ||
			ev.FrameLog != c.Logs+"/"+dissect.FrameLogFile || ev.KeyLog != c.Logs+"/"+KeyLogFile {
			t.Errorf("%s: evidence %+v", kase, ev)
			continue
		}
		w, err := dissect.Load(filepath.Join(dir, ev.Wire))
		if err != nil {
			t.Fatal(err)
		}
		frames, err := os.ReadFile(filepath.Join(dir, ev.FrameLog))
		if err != nil {
			t.Fatal(err)
		}
		switch kase {
		case "wire":
			if len(w.Connections) != 1 || w.Frames < 6 || strings.Count(string(frames), "\n") != w.Frames+3 {
				t.Errorf("wire: %d connections, %d frames; frame log:\n%s", len(w.Connections), w.Frames, frames)
			}
		case "no-dial":
			if len(w.Connections) != 0 || w.Frames != 0 || w.Server == "" || w.Relay == "" {
				t.Errorf("no-dial: %+v", w)
			}
		}
	}
}

func TestSuiteWireAfterFailure(t *testing.T) {
	run, dir, passed := runSuiteIn(t, wireSuite, "server:echo-sv && case:wire-after-failure")
	if passed {
		t.Error("the run passed")
	}
	c := findCell(t, run, "go-cl", "echo-sv", "wire-after-failure")
	if c.Outcome != Failed || !strings.Contains(c.Reason, "failed after its dial") || c.Evidence == nil {
		t.Fatalf("%+v", c)
	}
	// The failed cell still has its evidence: the dial is in the capture.
	w, err := dissect.Load(filepath.Join(dir, c.Evidence.Wire))
	if err != nil || len(w.Connections) != 1 {
		t.Errorf("%v %+v", err, w)
	}
}

func findCell(t *testing.T, run reports.Run, client, server, kase string) reports.Cell {
	t.Helper()
	for _, c := range run.Cells {
		if c.Client == client && c.Server == server && c.Case == kase {
			return c
		}
	}
	t.Fatalf("no cell %s → %s %s in %+v", client, server, kase, run.Cells)
	return reports.Cell{}
}
