// Package board is what the suites use to drive a board: open it from its profile, get it to
// "ready" (reset, then the boot log up to "Router started, accepting connections"), read its
// endpoint id and ticket, run console commands, wait for lines, close it.
//
// A Board is driven from one goroutine at a time.
//
//	b, err := board.Open(ctx, prof, serialLog)
//	defer b.Close()
//	boot, err := b.Boot(ctx)            // boot.ID, boot.Ticket, boot.Addr, boot.BootTime
//	st, err := b.Status(ctx)            // board.ErrNoConsole on foreign firmware
//	m, err := b.Expect(ctx, boardlines.Accepted)
package board

import (
	"context"
	"errors"
	"fmt"
	"github.com/irohconf/irohconf/internal/repo"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/irohconf/irohconf/hil/backtrace"
	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/console"
	"github.com/irohconf/irohconf/hil/flash"
	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/hil/reset"
	"github.com/irohconf/irohconf/hil/virtual"
	"github.com/irohconf/irohconf/peercontract"
)

// Timeouts used when the caller's context has no deadline.
const (
	DefaultOpenTimeout    = 20 * time.Second
	DefaultCommandTimeout = 5 * time.Second
	DefaultFlashTimeout   = 5 * time.Minute
	// Before a reset, output already on its way is let in for up to settleLimit, until the
	// console has been quiet for settleQuiet.
	settleQuiet = 100 * time.Millisecond
	settleLimit = time.Second
	// ReenumerateTimeout bounds the wait for a USB-Serial-JTAG board to come back after a reset.
	ReenumerateTimeout = 5 * time.Second
)

var (
	// ErrNoConsole is returned by commands on firmware without console commands (the iroh
	// ESP32 examples); a case that needs the console is unsupported on such a board.
	ErrNoConsole = errors.New("the board's firmware has no console commands")
	// ErrCannotReset is returned by Reset when the profile says nobody can reset the board.
	ErrCannotReset = errors.New("the board cannot be reset (reset: none)")
	// ErrUnknownCommand is returned when the firmware does not know a command.
	ErrUnknownCommand = errors.New("the firmware does not know the command")
	// ErrNotReady is returned when the board printed "Router started" without its id or ticket.
	ErrNotReady = errors.New("the board did not print what a ready board prints")
)

// Board is an open board.
type Board struct {
	Profile *profile.Profile

	console *console.Console
	port    *port.Port
	proc    *virtual.Process
	last    *BootInfo
	closed  bool

	decoder atomic.Pointer[backtrace.Decoder] // decodes a crash's backtrace (UseELF)
}

// UseELF names the firmware image the board runs, so a crash's backtrace in the serial log is
// decoded to function names (hil/backtrace); empty leaves it raw, with a note saying so. Open
// takes the profile's flash.elf (the virtual board's binary for a virtual board); Flash the
// image it wrote.
func (b *Board) UseELF(path string) {
	b.decoder.Store(backtrace.New(path, b.Profile.Chip))
}

func (b *Board) annotate(text string) []string { return b.decoder.Load().Annotate(text) }

// BootInfo is what a board printed while getting ready.
type BootInfo struct {
	ID          string         // Endpoint ID, 64 hex
	Ticket      string         // Long ticket
	ShortTicket string         // only on firmware that prints one
	Addr        netip.AddrPort // Listening on
	// Banner is our firmware's boot banner; nil on foreign firmware.
	Banner *boardlines.BannerInfo

	ResetMethod profile.ResetMethod // what was done to restart it (none: only waited)
	ResetNote   string              // why it differs from the profile's method, if it does
	// Notes are remarks on the boot that are not failures: a missing banner, a second start.
	Notes []string
	// PreviousCrash is a crash the board showed before this reset that no wait had reported.
	PreviousCrash *console.CrashError

	ResetAt  time.Time     // when the reset was issued (or the wait began)
	ReadyAt  time.Time     // when "Router started" arrived
	BootTime time.Duration // ReadyAt - ResetAt
	// FirstLine is the console Seq of the first line of this boot (for Console().Lines).
	FirstLine int
}

// Open opens the board the profile describes: it starts the virtual board for kind virtual,
// or finds and opens the serial port, and starts reading the console at once. log receives
// the timestamped serial log (it may be nil).
func Open(ctx context.Context, p *profile.Profile, log io.Writer) (*Board, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultOpenTimeout)
		defer cancel()
	}
	b := &Board{Profile: p}
	b.UseELF(p.FlashELF())
	b.console = console.New(console.Config{Log: log, Annotate: b.annotate})
	b.console.Notef("board %s: open (%s, %s firmware, reset %s)", p.Name, p.Kind, p.Firmware, p.Reset)

	var path string
	switch p.Kind {
	case profile.Virtual:
		bin, err := VirtualBoardBinary(p)
		if err != nil {
			return nil, err
		}
		// The profile's memory becomes the virtual board's heap budget and main stack.
		opts := virtual.ProfileOptions(p, bin)
		opts.Stderr = &noteWriter{c: b.console, prefix: "stderr: ", crashes: true}
		proc, err := virtual.Start(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", p.Name, err)
		}
		b.proc = proc
		b.UseELF(bin)
		path = proc.ConsolePath
		b.console.Notef("board %s: virtual board pid %d, console %s", p.Name, proc.Pid(), path)
	default:
		var err error
		path, err = port.Find(ctx, b.selector())
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", p.Name, err)
		}
		if err := inferReset(p, path, b.console); err != nil {
			return nil, err
		}
	}
	if err := b.attach(ctx, path); err != nil {
		return nil, errors.Join(fmt.Errorf("board %s: %w", p.Name, err), b.Close())
	}
	return b, nil
}

func (b *Board) selector() port.Selector {
	vid, pid := b.Profile.VIDPID()
	return port.Selector{Path: b.Profile.Port.Path, SerialNumber: b.Profile.Port.USBSerial, VID: vid, PID: pid}
}

// attach opens path (retrying while ctx lasts: a board may be re-enumerating) and starts the
// console reading it.
func (b *Board) attach(ctx context.Context, path string) error {
	pt, err := port.OpenRetry(ctx, path, b.Profile.Baud)
	if err != nil {
		return err
	}
	if err := b.console.Attach(pt); err != nil {
		pt.Close()
		return err
	}
	b.port = pt
	lines := "DTR/RTS available"
	if !pt.HasModemLines() {
		lines = "no modem lines (a pseudo-terminal or a network bridge)"
	}
	b.console.Notef("port %s opened at %d baud: %s", path, pt.Baud(), lines)
	return nil
}

// Console is the board's console, for Expect, Lines, Mark and Crashes.
func (b *Board) Console() *console.Console { return b.console }

// PortPath is the device path the console is open on.
func (b *Board) PortPath() string {
	if b.port == nil {
		return ""
	}
	return b.port.Path()
}

// HasModemLines tells whether the port can drive DTR/RTS.
func (b *Board) HasModemLines() bool { return b.port != nil && b.port.HasModemLines() }

// Last is the BootInfo of the last Boot or Reset, or nil.
func (b *Board) Last() *BootInfo { return b.last }

// Boot gets the board to ready and returns what it printed. It resets the board the way the
// profile says, so the whole boot log is read; with reset "none" it only waits for the board
// to boot (someone presses EN). The wait is bounded by the profile's boot_timeout and ctx.
func (b *Board) Boot(ctx context.Context) (*BootInfo, error) {
	if _, none := b.resetter().(noReset); none {
		return b.WaitReady(ctx)
	}
	return b.Reset(ctx)
}

// Reset restarts the board and waits until it is ready again. Lines read before the reset are
// skipped (they stay in the log); a crash among them that no wait reported is returned in
// BootInfo.PreviousCrash.
func (b *Board) Reset(ctx context.Context) (*BootInfo, error) {
	r := b.resetter()
	if _, none := r.(noReset); none {
		return nil, ErrCannotReset
	}
	ctx, cancel := context.WithTimeout(ctx, b.Profile.BootTimeout)
	defer cancel()
	b.console.Settle(ctx, settleQuiet, settleLimit)
	info := &BootInfo{PreviousCrash: b.console.Discard()}
	if info.PreviousCrash != nil {
		b.console.Notef("board crashed before this reset (%s): %s", info.PreviousCrash.Kind, info.PreviousCrash.Line.Text)
	}
	info.FirstLine = b.console.Mark()
	info.ResetAt = time.Now()
	if r.modemLines() && !b.port.HasModemLines() {
		why := fmt.Sprintf("reset %s needs DTR/RTS, but %s has no modem lines (a pseudo-terminal or a network bridge)", b.Profile.Reset, b.port.Path())
		if b.Profile.FallbackMethod != profile.ResetConsole {
			return info, fmt.Errorf("%s; use reset: console or reset_fallback: console: %w", why, port.ErrNoModemLines)
		}
		info.ResetNote = why + "; used the console's reset command (reset_fallback: console)"
		b.console.Notef("%s", info.ResetNote)
		r = consoleReset{}
	}
	info.ResetMethod = r.method()
	if err := r.reset(ctx, b, info); err != nil {
		if info.PreviousCrash != nil {
			// A board that died before the reset (the virtual board out of heap) cannot take one.
			return info, fmt.Errorf("%w (and the reset failed: %v)", info.PreviousCrash, err)
		}
		return info, err
	}
	return info, b.waitReady(ctx, info)
}

// WaitReady waits, without resetting, until the board prints the lines of a finished boot.
func (b *Board) WaitReady(ctx context.Context) (*BootInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, b.Profile.BootTimeout)
	defer cancel()
	info := &BootInfo{ResetMethod: profile.ResetNone, ResetAt: time.Now(), FirstLine: b.console.Mark()}
	return info, b.waitReady(ctx, info)
}

var errSequenceHung = errors.New("the port stopped answering during the reset")

// runSequence runs a reset sequence with a bound: on Linux's cdc_acm driver a modem-line
// ioctl can block once the device has dropped off the bus.
func (b *Board) runSequence(ctx context.Context, seq reset.Sequence) error {
	done := make(chan error, 1)
	seqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { done <- reset.Run(seqCtx, b.port, seq) }()
	select {
	case err := <-done:
		return err
	case <-time.After(seq.Duration() + time.Second):
		return errSequenceHung
	}
}

// reopenIfGone handles a board that re-enumerates after a USB reset: when the console stops
// reading within a moment, the port is found again (by USB serial number when the profile
// gives one) and reopened.
func (b *Board) reopenIfGone(ctx context.Context, gone bool) error {
	if !gone {
		select {
		case <-b.console.ReaderDone():
		case <-time.After(time.Second):
			if !b.portHung() {
				return nil
			}
		}
	}
	b.console.Notef("port %s went away after the reset; looking for the board again", b.port.Path())
	_ = b.console.Detach()
	findCtx, cancel := context.WithTimeout(ctx, ReenumerateTimeout)
	defer cancel()
	path, err := port.Find(findCtx, b.selector())
	if err != nil {
		return fmt.Errorf("after reset: %w", err)
	}
	if err := b.attach(findCtx, path); err != nil {
		return fmt.Errorf("after reset: reopen %s: %w", path, err)
	}
	return nil
}

// portHung probes the port with a modem-line read that must not block.
func (b *Board) portHung() bool {
	done := make(chan struct{})
	go func() {
		_ = b.port.SetRTS(false)
		close(done)
	}()
	select {
	case <-done:
		return false
	case <-time.After(500 * time.Millisecond):
		return true
	}
}

// waitReady reads the boot up to "Router started, accepting connections", collecting what the
// board prints on the way: our firmware's banner, then the lines the iroh examples print, in
// whatever order they come. A banner in the middle means the board started over (a reboot
// without a crash line): what came before it is dropped.
func (b *Board) waitReady(ctx context.Context, info *BootInfo) error {
	for {
		i, m, err := b.ExpectAny(ctx, boardlines.Banner, boardlines.ListeningOn, boardlines.EndpointID,
			boardlines.LongTicket, boardlines.ShortTicket, boardlines.RouterStarted)
		if err != nil {
			return fmt.Errorf("board %s: waiting for %q: %w", b.Profile.Name, "Router started, accepting connections", err)
		}
		switch i {
		case 0:
			banner, err := boardlines.ParseBanner(m.Line.Text)
			if err != nil {
				return err
			}
			if info.Banner != nil || info.ID != "" || info.Ticket != "" {
				info.Notes = append(info.Notes, fmt.Sprintf("the board started over during the boot (console line %d)", m.Line.Seq+1))
			}
			info.Banner, info.ID, info.Ticket, info.ShortTicket, info.Addr = &banner, "", "", "", netip.AddrPort{}
		case 1:
			ap, err := boardlines.ParseListeningOn(m.Line.Text)
			if err != nil {
				return err
			}
			info.Addr = ap
		case 2:
			info.ID = m.Submatches[1]
		case 3:
			info.Ticket = m.Submatches[1]
		case 4:
			info.ShortTicket = m.Submatches[1]
		case 5:
			info.ReadyAt = m.Line.Time
			info.BootTime = info.ReadyAt.Sub(info.ResetAt)
			var missing []string
			if info.ID == "" {
				missing = append(missing, "Endpoint ID")
			}
			if info.Ticket == "" {
				missing = append(missing, "Long ticket")
			}
			if len(missing) > 0 {
				return fmt.Errorf("board %s: %q came without %s: %w", b.Profile.Name, m.Line.Text, strings.Join(missing, " and "), ErrNotReady)
			}
			if info.Banner == nil && b.Profile.Firmware == profile.Irohconf {
				// A USB-Serial-JTAG board drops what it prints while it re-enumerates.
				info.Notes = append(info.Notes, "no boot banner was seen")
			}
			for _, n := range info.Notes {
				b.console.Notef("boot: %s", n)
			}
			b.last = info
			b.console.Notef("board ready after %v: id %s", info.BootTime.Round(time.Millisecond), info.ID)
			return nil
		}
	}
}

// Expect waits for a console line matching pattern (see console.Console.Expect); without a
// deadline on ctx it waits console.DefaultTimeout.
func (b *Board) Expect(ctx context.Context, pattern *regexp.Regexp) (*console.Match, error) {
	m, err := b.console.Expect(ctx, pattern)
	return m, b.explain(err)
}

// ExpectAny waits for a line matching any of the patterns and says which.
func (b *Board) ExpectAny(ctx context.Context, patterns ...*regexp.Regexp) (int, *console.Match, error) {
	i, m, err := b.console.ExpectAny(ctx, patterns...)
	return i, m, b.explain(err)
}

// explain adds the virtual board's exit to a console that ended because the process died.
func (b *Board) explain(err error) error {
	var ended *console.EndedError
	if b.proc == nil || !errors.As(err, &ended) {
		return err
	}
	select {
	case <-b.proc.Done():
		return fmt.Errorf("%w\nthe virtual board exited: %v; its stderr:\n%s", err, b.proc.ExitErr(), b.proc.Stderr())
	case <-time.After(200 * time.Millisecond):
		return err
	}
}

// Command sends one console command and waits for the line that answers it. Unread lines
// from before the command are skipped first (a crash among them is returned as the error).
// It returns ErrNoConsole on foreign firmware and ErrUnknownCommand when the firmware answers
// "unknown command".
func (b *Board) Command(ctx context.Context, command string, answer *regexp.Regexp) (*console.Match, error) {
	if !b.Profile.HasConsole() {
		return nil, fmt.Errorf("command %q: %w", command, ErrNoConsole)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultCommandTimeout)
		defer cancel()
	}
	if crash := b.console.Discard(); crash != nil {
		return nil, fmt.Errorf("command %q: not sent: %w", command, crash)
	}
	if err := b.send(command); err != nil {
		return nil, err
	}
	i, m, err := b.ExpectAny(ctx, answer, boardlines.UnknownCommand)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", command, err)
	}
	if i == 1 {
		return nil, fmt.Errorf("command %q: board answered %q: %w", command, m.Line.Text, ErrUnknownCommand)
	}
	return m, nil
}

func (b *Board) send(command string) error {
	if strings.ContainsAny(command, "\r\n") {
		return fmt.Errorf("command %q: one line only", command)
	}
	b.console.Notef("send: %s", command)
	if _, err := b.port.Write([]byte(command + "\n")); err != nil {
		return fmt.Errorf("command %q: %w", command, err)
	}
	return nil
}

// Status runs the "status" command and parses its STATUS line.
func (b *Board) Status(ctx context.Context) (boardlines.StatusInfo, error) {
	m, err := b.Command(ctx, "status", boardlines.Status)
	if err != nil {
		return boardlines.StatusInfo{}, err
	}
	return boardlines.ParseStatus(m.Line.Text)
}

// Heap runs the "heap" command: it ends the current heap window, starts the next, and parses
// the HEAP line that describes the ended one.
func (b *Board) Heap(ctx context.Context) (boardlines.HeapInfo, error) {
	m, err := b.Command(ctx, "heap", boardlines.Heap)
	if err != nil {
		return boardlines.HeapInfo{}, err
	}
	return boardlines.ParseHeap(m.Line.Text)
}

// DialTimeout bounds a dial command: the firmware ends every dial within 10 s and then prints
// its result line.
const DialTimeout = 15 * time.Second

// Dial runs the "dial" command: the board dials the ticket's endpoint on echo/0 and runs count
// echoes of size bytes, one stream each, on one connection; the result is its DIAL line, the
// peer contract's result.
func (b *Board) Dial(ctx context.Context, ticket string, size, count int) (peercontract.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	m, err := b.Command(ctx, fmt.Sprintf("dial %s %d %d", ticket, size, count), boardlines.Dial)
	if err != nil {
		return peercontract.Result{}, err
	}
	return boardlines.ParseDial(m.Line.Text)
}

// ID runs the "id" command.
func (b *Board) ID(ctx context.Context) (string, error) {
	m, err := b.Command(ctx, "id", boardlines.EndpointID)
	if err != nil {
		return "", err
	}
	return m.Submatches[1], nil
}

// Ticket runs the "ticket" command.
func (b *Board) Ticket(ctx context.Context) (string, error) {
	m, err := b.Command(ctx, "ticket", boardlines.LongTicket)
	if err != nil {
		return "", err
	}
	return m.Submatches[1], nil
}

// Flash writes firmware with espflash: the console lets go of the port, espflash runs (its
// output goes into the serial log), then the port is found and opened again. espflash resets
// the board when done; call Boot afterwards for a whole boot log. elf empty uses the
// profile's flash.elf.
func (b *Board) Flash(ctx context.Context, elf string) error {
	p := b.Profile
	if p.Kind == profile.Virtual {
		return errors.New("flash: a virtual board runs a host binary; rebuild it instead")
	}
	req := flash.Request{Baud: p.Baud}
	if p.Flash != nil {
		req.Args = p.Flash.Args
		if p.Flash.Baud > 0 {
			req.Baud = p.Flash.Baud
		}
	}
	if elf == "" {
		elf = p.FlashELF()
	}
	req.ELF = elf
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFlashTimeout)
		defer cancel()
	}
	if _, err := flash.Espflash(); err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	req.Port = b.port.Path()
	req.Output = &noteWriter{c: b.console, prefix: "espflash: "}
	b.console.Notef("flash: closing %s for espflash", req.Port)
	if err := b.console.Detach(); err != nil {
		return fmt.Errorf("flash: release the port: %w", err)
	}
	flashErr := flash.Run(ctx, req)
	if flashErr == nil {
		b.UseELF(elf)
	}

	reopenCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReenumerateTimeout)
	defer cancel()
	path, err := port.Find(reopenCtx, b.selector())
	if err == nil {
		err = b.attach(reopenCtx, path)
	}
	if err != nil {
		err = fmt.Errorf("flash: reopen the port afterwards: %w", err)
	}
	return errors.Join(flashErr, err)
}

// Close stops reading, closes the port and stops the virtual board, always. Closing again
// does nothing and returns nil.
func (b *Board) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	if err := b.console.Close(); err != nil {
		errs = append(errs, err)
	}
	if b.proc != nil {
		if err := b.proc.Stop(); err != nil {
			errs = append(errs, err)
		}
		b.console.Notef("virtual board stopped")
	}
	if err := b.console.LogError(); err != nil {
		errs = append(errs, fmt.Errorf("serial log: %w", err))
	}
	return errors.Join(errs...)
}

// VirtualBoardBinary is the virtual-board program for a profile: $IROHCONF_VIRTUAL_BOARD when
// set, else the profile's virtual.binary, relative paths taken from the repository root (the
// folder holding go.mod above the working directory).
func VirtualBoardBinary(p *profile.Profile) (string, error) {
	if env := os.Getenv("IROHCONF_VIRTUAL_BOARD"); env != "" {
		return env, nil
	}
	bin := profile.DefaultBinary
	if p.VirtualBoard != nil && p.VirtualBoard.Binary != "" {
		bin = p.VirtualBoard.Binary
	}
	if filepath.IsAbs(bin) {
		return bin, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, bin), nil
}

// noteWriter turns a stream (espflash's output, the virtual board's stderr) into log notes.
type noteWriter struct {
	c       *console.Console
	prefix  string
	crashes bool // a crash line is also a console line (the virtual board's stderr)
	partial []byte
}

func (w *noteWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := strings.IndexAny(string(w.partial), "\r\n")
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.partial[:i])); line != "" {
			w.c.Notef("%s%s", w.prefix, line)
			// A process that aborts may write its last words to stderr after its console has
			// gone: a crash there is the board's crash.
			if _, crash := console.IsCrash(line); crash && w.crashes {
				w.c.AppendLine(w.prefix + line)
			}
		}
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}
