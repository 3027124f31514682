package framework

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/relay"
)

// Every cell's client reaches its server through an in-path relay (wire/relay) on 127.0.0.1
// that captures both directions into the cell's wire.pcapng. Cases dial c.Server.Ticket() as
// always and get the relay's ticket: the server's id with the relay's address. After the case
// (or when a case asks, Cell.Wire) the relay closes and the capture is dissected with both
// sides' key logs (wire/dissect) into wire.json and wire.txt next to it.

// Files of a cell's wire evidence, in its log folder.
const (
	CaptureFile = "wire.pcapng"
	// KeyLogFile is both sides' TLS key logs of the cell in one file (SSLKEYLOGFILE format). The
	// capture also carries them (a Decryption Secrets Block), so Wireshark opens it decrypted;
	// other tools take this file (Wireshark: Preferences, Protocols, TLS, (Pre)-Master-Secret log).
	KeyLogFile = "keylog.txt"
	// ServerKeyLogFile is the server's key log in the pair's folder (the server serves every
	// cell of the pair).
	ServerKeyLogFile = "keylog-server.txt"
)

// WirePath is what a cell's relay does to the datagrams between client and server: a fault
// profile (wire/faults) and the seed of its random decisions. The zero value forwards
// everything (profile none).
type WirePath struct {
	Profile faults.Profile
	Seed    uint64
}

// settle bounds how long the relay is kept open after a case for datagrams still in flight
// (the last ACKs, a close), and quiet is how long no datagram must arrive to call the path idle.
const (
	settle = time.Second
	quiet  = 50 * time.Millisecond
)

// maxClients bounds the client addresses of one cell's relay: every connection of a case may
// come from a new port (the soak makes 100 in a row), and each holds a socket until the relay
// closes.
const maxClients = 512

// dissectTimeout bounds one dissection (tshark takes well under a second for a cell).
const dissectTimeout = time.Minute

// cellWire is one cell's relay, its capture and, once dissected, its wire.
type cellWire struct {
	dir          string
	serverKeyLog string
	relay        *relay.Relay
	notef        func(format string, args ...any)

	// dissected, when set, stands in for the relay (UseWire).
	dissected func() (*dissect.Wire, error)

	once   sync.Once
	frames int
	wire   *dissect.Wire
	err    error
}

// startWire starts the cell's relay in front of srv and returns the server as the case sees it:
// its ticket and addresses are the relay's.
func startWire(dir string, srv Server, path WirePath, serverKeyLog string, notef func(string, ...any)) (*cellWire, Server, error) {
	target, err := relayTarget(srv.Addrs())
	if err != nil {
		return nil, nil, err
	}
	id, err := key.ParsePublicKey(srv.ID())
	if err != nil {
		return nil, nil, fmt.Errorf("the server's id %q: %w", srv.ID(), err)
	}
	// HoldPort: a board keeps one iroh endpoint through all cells of its pair and remembers the
	// relay addresses of earlier cells; a later cell's relay must not get such a port.
	r, err := relay.Start(relay.Config{Target: target, CapturePath: filepath.Join(dir, CaptureFile), Profile: path.Profile, Seed: path.Seed,
		MaxClients: maxClients, HoldPort: true})
	if err != nil {
		return nil, nil, err
	}
	w := &cellWire{dir: dir, serverKeyLog: serverKeyLog, relay: r, notef: notef}
	rs := &relayedServer{Server: srv, ticket: ticket.New(id, ticket.Addr{Kind: ticket.KindIP, IP: r.Addr()}).String(),
		addrs: []string{r.Addr().String()}, w: w}
	if b, ok := srv.(Board); ok {
		return w, &relayedBoard{Board: b, relayedServer: rs}, nil
	}
	return w, rs, nil
}

// relayTarget picks the address the relay forwards to among those the server announced: IPv4
// loopback first (local servers), then any IPv4 (a board on the network), then the rest.
func relayTarget(addrs []string) (netip.AddrPort, error) {
	var parsed []netip.AddrPort
	for _, a := range addrs {
		if ap, err := netip.ParseAddrPort(a); err == nil && ap.Port() != 0 {
			parsed = append(parsed, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
	}
	rank := func(ap netip.AddrPort) int {
		switch a := ap.Addr(); {
		case a.Is4() && a.IsLoopback():
			return 0
		case a.Is4():
			return 1
		case a.IsLoopback():
			return 2
		}
		return 3
	}
	sort.SliceStable(parsed, func(i, j int) bool { return rank(parsed[i]) < rank(parsed[j]) })
	if len(parsed) == 0 {
		return netip.AddrPort{}, fmt.Errorf("the server announced no address to relay to (%q)", addrs)
	}
	return parsed[0], nil
}

// finish closes the relay and dissects the capture, once; later calls return the same.
func (w *cellWire) finish(ctx context.Context) (*dissect.Wire, error) {
	w.once.Do(func() {
		if w.dissected != nil {
			w.wire, w.err = w.dissected()
			return
		}
		w.wire, w.err = w.close(ctx)
	})
	return w.wire, w.err
}

func (w *cellWire) close(ctx context.Context) (*dissect.Wire, error) {
	w.settle()
	err := w.relay.Close() // writes out and closes the capture
	w.frames = len(w.relay.Records())
	if err != nil {
		return nil, Testbed(fmt.Errorf("the cell's relay: %w", err))
	}
	keylog := filepath.Join(w.dir, KeyLogFile)
	if err := w.mergeKeyLogs(keylog); err != nil {
		return nil, Testbed(err)
	}
	capturePath := filepath.Join(w.dir, CaptureFile)
	start := time.Now()
	var res *dissect.Result
	if w.frames == 0 {
		res, err = dissect.Empty(capturePath)
	} else {
		// The key logs also go into the capture, so that Wireshark opens it decrypted.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dissectTimeout)
		defer cancel()
		res, err = dissect.Dissect(dctx, dissect.Input{Capture: capturePath, KeyLogs: []string{keylog}, EmbedKeyLogs: true})
	}
	if err == nil {
		err = res.WriteFiles(w.dir)
	}
	if err != nil {
		return nil, Testbed(fmt.Errorf("dissecting the cell's capture: %w", err))
	}
	w.notef("wire: %d datagrams through the relay, dissected in %s (%s, %s)", w.frames, time.Since(start).Round(time.Millisecond), dissect.JSONFile, dissect.FrameLogFile)
	return res.Wire, nil
}

// settle waits, at most `settle`, until no datagram crossed the relay for `quiet`: the last
// datagrams of a connection the case just closed are then in the capture.
func (w *cellWire) settle() {
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) {
		recs := w.relay.Records()
		if len(recs) == 0 || time.Since(recs[len(recs)-1].Time) >= quiet {
			return
		}
		time.Sleep(quiet / 4)
	}
}

// mergeKeyLogs writes the cell's key logs (keylog-*.txt in its folder) and the server's (in the
// pair's folder, when the server writes one there) into one file.
func (w *cellWire) mergeKeyLogs(to string) error {
	logs, err := filepath.Glob(filepath.Join(w.dir, "keylog-*.txt"))
	if err != nil {
		return err
	}
	if w.serverKeyLog != "" {
		logs = append(logs, w.serverKeyLog)
	}
	var all []byte
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // a server in a container hands its key log over only when it stops
		}
		if err != nil {
			return fmt.Errorf("key log: %w", err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b, '\n')
		}
		all = append(all, b...)
	}
	return os.WriteFile(to, all, 0o644)
}

// ErrNoWire is Cell.Wire's error in a cell made without a relay (a case's unit test: its
// fake peers send no packets).
var ErrNoWire = errors.New("this cell has no relay, so no wire to check")

// Wire closes the cell's relay and returns what crossed it, dissected: for checks on the wire
// after the case's last dial (the relay forwards nothing afterwards). The framework dissects
// every cell after its case anyway; asking costs nothing more.
func (c *Cell) Wire(ctx context.Context) (*dissect.Wire, error) {
	if c.wire == nil {
		return nil, Testbed(ErrNoWire)
	}
	return c.wire.finish(ctx)
}

// UseWire makes a cell built outside a matrix (a case's unit test) answer Wire with what
// wire returns, asked once, instead of a relay's dissected capture.
func (c *Cell) UseWire(wire func() (*dissect.Wire, error)) {
	c.wire = &cellWire{dissected: wire}
}

// Announced is the server as it announced itself: its own ticket and listening addresses, not
// the relay's. Only cases about the ticket itself need it; every dial goes through c.Server.
func (c *Cell) Announced() Server {
	if c.announced != nil {
		return c.announced
	}
	return c.Server
}

// relayedServer is a server whose ticket and addresses are its relay's.
type relayedServer struct {
	Server
	w      *cellWire
	ticket string
	addrs  []string
}

func (s *relayedServer) Ticket() string  { return s.ticket }
func (s *relayedServer) Addrs() []string { return s.addrs }

// relayedBoard is a board behind a relay: a board's cases still reset it and ask its status.
type relayedBoard struct {
	Board
	*relayedServer
}

func (b *relayedBoard) ID() string      { return b.Board.ID() }
func (b *relayedBoard) Ticket() string  { return b.relayedServer.Ticket() }
func (b *relayedBoard) Addrs() []string { return b.relayedServer.Addrs() }
func (b *relayedBoard) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	return b.Board.WaitConnection(ctx, remoteID)
}
func (b *relayedBoard) Stop(ctx context.Context) error { return b.Board.Stop(ctx) }

// startCellWire puts a relay between the cell's client and its server. A cell without a
// server (its pair's server did not start) has none.
func (m *Matrix) startCellWire(cell *Cell, k Case) error {
	if cell.Server == nil {
		return nil
	}
	path, err := m.cellWirePath(k, cell.ClientManifest(), cell.ServerManifest())
	if err != nil {
		return Testbed(fmt.Errorf("the cell's fault profile: %w", err))
	}
	cell.path = &path
	pairDir := filepath.Dir(cell.LogDir)
	w, relayed, err := startWire(cell.LogDir, cell.Server, path, filepath.Join(pairDir, ServerKeyLogFile), cell.Notef)
	if err != nil {
		return Testbed(fmt.Errorf("starting the cell's relay: %w", err))
	}
	cell.Notef("relay %s -> server %s (fault profile %s, seed %d)", w.relay.Addr(), w.relay.Target(), profileName(path.Profile), path.Seed)
	cell.wire, cell.announced, cell.Server = w, cell.Server, relayed
	return nil
}

func profileName(p faults.Profile) string {
	if p.Name == "" {
		return "none"
	}
	return p.Name
}

// joinCellErrors adds what went wrong with the cell's wire to what its case returned: the case's
// outcome stands, the wire's problem is named in the reason.
func joinCellErrors(caseErr, wireErr error) error {
	switch {
	case caseErr == nil:
		return wireErr
	case errors.Is(caseErr, wireErr):
		return caseErr // the case asked for the wire and returned its error
	}
	return fmt.Errorf("%w; and the cell's wire: %v", caseErr, wireErr)
}

// checkWireTools checks once, before any cell, that captures can be dissected: without tshark
// every cell would end in the same error.
func checkWireTools(ctx context.Context) error {
	return dissect.CheckTools(ctx)
}

// evidence names the cell's wire files in the report (paths relative to the run folder, under
// the cell's logs); nil for a cell that had no relay.
func (c *Cell) evidence(logs string) *reports.Evidence {
	if c.wire == nil {
		return nil
	}
	return &reports.Evidence{
		Capture: path.Join(logs, CaptureFile), Wire: path.Join(logs, dissect.JSONFile),
		FrameLog: path.Join(logs, dissect.FrameLogFile), KeyLog: path.Join(logs, KeyLogFile),
	}
}

// Reset resets the board. A board that comes back at another address (a new port) gets the
// cell's relay forwarding there, so the case's ticket still reaches it.
func (b *relayedBoard) Reset(ctx context.Context) (time.Duration, error) {
	took, err := b.Board.Reset(ctx)
	if err != nil {
		return took, err
	}
	now, err := relayTarget(b.Board.Addrs())
	if err != nil {
		return took, Testbed(fmt.Errorf("after the reset: %w", err))
	}
	if was := b.w.relay.Target(); now != was {
		if err := b.w.relay.Retarget(now); err != nil {
			return took, Testbed(fmt.Errorf("the board came back at %s after the reset; moving the cell's relay there: %w", now, err))
		}
		b.w.notef("the board came back at %s after the reset (was %s): the relay forwards there now; the capture keeps naming the first address", now, was)
	}
	return took, nil
}

// dialKeyLog is the key log path of one dial: keylog-client.txt, then keylog-client-2.txt and
// on. A client truncates the file it is given, and the capture of a cell of several dials needs
// every connection's secrets.
func (c *Cell) dialKeyLog() string {
	c.mu.Lock()
	c.keyLogs++
	n := c.keyLogs
	c.mu.Unlock()
	if n == 1 {
		return c.KeyLogPath("client")
	}
	return c.KeyLogPath(fmt.Sprintf("client-%d", n))
}
