package peers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/suites/framework"
)

// BoardPeer is a board as a server peer: a real board over USB serial, or the virtual board on
// a pseudo-terminal, driven through hil/board from its profile.
type BoardPeer struct {
	manifest framework.Manifest
	profile  *profile.Profile

	mu      sync.Mutex
	version string
	// flash, when set, is written to the board before its first boot (FlashBeforeBoot).
	flash   *string
	flashed bool
	elf     string // DecodeWith
}

// FlashBeforeBoot asks for the board to be flashed with espflash (hil/flash) once, before the
// first boot: elf is the image, empty for the profile's flash.elf. A virtual board runs a host
// binary and cannot be flashed.
func (p *BoardPeer) FlashBeforeBoot(elf string) error {
	if p.profile.Kind == profile.Virtual {
		return fmt.Errorf("board %s: a virtual board runs a host binary and cannot be flashed", p.profile.Name)
	}
	p.flash = &elf
	return nil
}

// DecodeWith names the image the board runs, so a crash's backtrace is decoded with it
// (board.UseELF); flashing names the image it writes.
func (p *BoardPeer) DecodeWith(elf string) { p.elf = elf }

// NewBoardPeer returns the peer for a board profile. The virtual board and our firmware declare
// the firmware's manifest; foreign firmware (the iroh ESP32 examples) declares no console.
func NewBoardPeer(p *profile.Profile) (*BoardPeer, error) {
	kind := "board"
	switch {
	case !p.HasConsole():
		kind = "iroh-esp32-example"
	case p.Kind == profile.Virtual:
		kind = "virtual-board"
	}
	m, err := Manifest(kind)
	if err != nil {
		return nil, err
	}
	if kind != "virtual-board" {
		m.Name = p.Name // the matrix names a board by its profile
	}
	if p.Kind == profile.Virtual && m.IrohVersion == "" {
		// Whatever firmware it plays, the virtual board is our firmware's iroh.
		vb, err := Manifest("virtual-board")
		if err != nil {
			return nil, err
		}
		m.IrohVersion = vb.IrohVersion
	}
	if p.ResetMethod == profile.ResetNone {
		m.Features = without(m.Features, framework.FeatureReset)
	}
	if p.Kind == profile.Virtual && p.VirtualBoard != nil && p.VirtualBoard.Secret == "" {
		// The suite fixes the virtual board's secret, as IROH_SECRET fixes a board's.
		sk, err := key.GenerateSecretKey()
		if err != nil {
			return nil, err
		}
		p.VirtualBoard.Secret = sk.Hex()
	}
	return &BoardPeer{manifest: m, profile: p}, nil
}

func without(fs []framework.Feature, f framework.Feature) []framework.Feature {
	var out []framework.Feature
	for _, x := range fs {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}

func (p *BoardPeer) Manifest() framework.Manifest { return p.manifest }

// Version is what the board's boot banner said (our firmware), or the profile's chip and
// firmware (firmware without a banner). Our firmware's version is known only to a process that
// booted the board: elsewhere it is empty (unknown), so that every process that reports the
// board says the same, and the report takes it from the cells that booted it.
func (p *BoardPeer) Version() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.version == "" && !p.profile.HasConsole() {
		return p.profile.Chip + " (" + string(p.profile.Firmware) + " firmware)"
	}
	return p.version
}

func (p *BoardPeer) Runtime() string {
	if p.profile.Kind == profile.Virtual {
		return reports.RuntimePTY
	}
	return reports.RuntimeSerial
}

// Prepare checks that the board can be reached (board.Check): the virtual board's binary is
// there (make builds it), a serial board's port exists and is free. A missing board is then one
// clear error for every cell, not a wait per pair; `make hil` checks it before the suite starts.
func (p *BoardPeer) Prepare(ctx context.Context) error {
	_, err := board.Check(ctx, p.profile)
	return err
}

// StartServer starts the board (StartBoard).
func (p *BoardPeer) StartServer(ctx context.Context, opts framework.ServerOptions, log *framework.Tap) (framework.Server, error) {
	b, err := p.StartBoard(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// StartBoard opens the board and boots it (a reset, so the whole boot log is read).
func (p *BoardPeer) StartBoard(ctx context.Context, opts framework.ServerOptions, log *framework.Tap) (framework.Board, error) {
	log.LinesAreStamped() // the console writes its own timestamped serial log
	b, err := board.Open(ctx, p.boundProfile(opts.Bind), log)
	if err != nil {
		return nil, err
	}
	if p.elf != "" {
		b.UseELF(p.elf)
	}
	s := &boardServer{peer: p, b: b, tap: log, since: log.Mark()}
	if err := p.flashOnce(ctx, b); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	info, err := b.Boot(ctx)
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	s.noteBoot(info)
	return s, nil
}

// boundProfile is the board's profile with a virtual board bound where the matrix binds its
// servers (framework.ServerBind), unless the profile chose an address of its own.
func (p *BoardPeer) boundProfile(bind string) *profile.Profile {
	vb := p.profile.VirtualBoard
	if bind == "" || p.profile.Kind != profile.Virtual || vb == nil || vb.Bind != profile.DefaultBind {
		return p.profile
	}
	prof, vbCopy := *p.profile, *vb
	vbCopy.Bind = bind
	prof.VirtualBoard = &vbCopy
	return &prof
}

// flashOnce flashes the board the first time it starts, when asked to.
func (p *BoardPeer) flashOnce(ctx context.Context, b *board.Board) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flash == nil || p.flashed {
		return nil
	}
	if err := b.Flash(ctx, *p.flash); err != nil {
		return err
	}
	p.flashed = true
	return nil
}

// boardServer is a booted board.
type boardServer struct {
	peer  *BoardPeer
	b     *board.Board
	tap   *framework.Tap
	since framework.Mark
	cells cellCursor // where the current cell began, and each client's last connection

	mu        sync.Mutex
	info      *board.BootInfo
	once      sync.Once
	crashSeen int // console position up to which crashes were reported
}

// Crashed reports the first crash in the console since the previous call (a reset the suite
// asked for is not a crash; a panic, abort, watchdog or brownout is).
func (s *boardServer) Crashed() error {
	s.mu.Lock()
	from := s.crashSeen
	s.crashSeen = s.b.Console().Mark()
	s.mu.Unlock()
	if crashes := s.b.Console().Crashes(from); len(crashes) > 0 {
		l := crashes[0]
		err := fmt.Errorf("the board crashed (%s): %s (serial log: serial.log)", l.Crash, l.Text)
		if rerr := s.recoverFromCrash(); rerr != nil {
			err = fmt.Errorf("%w; it did not come back: %v", err, rerr)
		}
		return err
	}
	return nil
}

func (s *boardServer) noteBoot(info *board.BootInfo) {
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
	if info.Banner != nil {
		s.peer.mu.Lock()
		s.peer.version = "irohconf-fw " + info.Banner.Version
		s.peer.mu.Unlock()
	}
}

func (s *boardServer) boot() *board.BootInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

func (s *boardServer) ID() string      { return s.boot().ID }
func (s *boardServer) Ticket() string  { return s.boot().Ticket }
func (s *boardServer) Addrs() []string { return []string{s.boot().Addr.String()} }

func (s *boardServer) BootTime() time.Duration { return s.boot().BootTime }

// Reset resets the board and waits for the new boot.
func (s *boardServer) Reset(ctx context.Context) (time.Duration, error) {
	info, err := s.b.Reset(ctx)
	if err != nil {
		return 0, err
	}
	s.noteBoot(info)
	return info.BootTime, nil
}

// Status runs the console's status command.
func (s *boardServer) Status(ctx context.Context) (framework.BoardStatus, error) {
	return s.b.Status(ctx)
}

// WaitConnection reads the board's console for a connection: "Accepted connection from
// <id>", a "Copied over" line per echoed stream, our firmware's warnings when a stream or the
// connection ended abnormally ("Echo stream failed: ...", "Connection ended: ..."), then
// "Connection closed". The console names no ALPN and no close code; an abnormal end is the
// event's error, as a contract server reports it.
func (s *boardServer) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	accepted := boardlines.Accepted
	if remoteID != "" {
		accepted = regexp.MustCompile(`Accepted connection from ` + regexp.QuoteMeta(remoteID) + `\b`)
	}
	_, sm, next, err := s.tap.WaitFor(ctx, s.waitFrom(remoteID), accepted)
	if err != nil {
		return peercontract.Connection{}, err
	}
	s.waited(remoteID, next)
	ev := peercontract.Connection{Event: peercontract.EventConnection, RemoteID: sm[1%len(sm)]}
	if remoteID != "" {
		ev.RemoteID = remoteID
	}
	for {
		line, _, after, err := s.tap.WaitFor(ctx, next, connectionLine)
		if err != nil {
			return ev, fmt.Errorf("the board accepted the connection but did not report it closed: %w", err)
		}
		next = after
		if foldConnectionLine(&ev, line.Text) {
			return ev, nil
		}
	}
}

// connectionLine is any line the console prints about an accepted connection.
var connectionLine = regexp.MustCompile(strings.Join([]string{
	boardlines.Copied.String(), boardlines.EchoFailed.String(), boardlines.ConnectionEnded.String(), boardlines.Closed.String(),
}, "|"))

// foldConnectionLine adds one console line to the connection's event; it reports whether the
// line ends the connection ("Connection closed").
func foldConnectionLine(ev *peercontract.Connection, text string) (closed bool) {
	e, err := boardlines.Parse(text)
	if err != nil {
		ev.Error = joinError(ev.Error, fmt.Sprintf("unreadable console line %q: %v", text, err))
		return false
	}
	switch e := e.(type) {
	case boardlines.CopiedEvent:
		ev.Bytes += int64(e.Bytes)
		ev.Streams++
	case boardlines.EchoFailedEvent:
		ev.Streams++
		ev.Error = joinError(ev.Error, "echo stream failed: "+e.Reason)
	case boardlines.ConnectionEndedEvent:
		ev.CloseReason = e.Reason
		ev.Error = joinError(ev.Error, "connection ended: "+e.Reason)
	case boardlines.ConnectionClosedEvent:
		return true
	}
	return false
}

func joinError(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Stop closes the board (and stops the virtual board's process).
func (s *boardServer) Stop(context.Context) error {
	var err error
	s.once.Do(func() { err = s.b.Close() })
	return err
}

// LoadBoardProfile reads a profile from fixtures/boards or a path.
func LoadBoardProfile(nameOrPath string) (*profile.Profile, error) {
	return profile.LoadNamed(RepoRoot(), nameOrPath)
}
