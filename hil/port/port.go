// Package port opens a board's serial port with go.bug.st/serial, with DTR and RTS released,
// and tells ports that have modem control lines (a USB-UART bridge, USB-Serial-JTAG) from ports
// that have none (a pseudo-terminal, an RFC 2217 bridge exposed as a pty). A port on another
// host, rfc2217://host:port (ser2net, a labgrid exporter), is opened with the RFC 2217 client in
// hil/port/rfc2217.
package port

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/irohconf/irohconf/hil/port/rfc2217"
)

// ErrNoModemLines is returned by SetDTR and SetRTS on a port without modem control lines.
var ErrNoModemLines = errors.New("port has no modem control lines (DTR/RTS): a pseudo-terminal or a network bridge cannot reset a board")

// Port is an open serial port.
type Port struct {
	path       string
	baud       int
	modemLines bool

	mu     sync.Mutex
	dev    device
	closed bool
}

// device is what a port is opened on: a local serial port (go.bug.st/serial) or an RFC 2217
// connection.
type device interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	SetDTR(bool) error
	SetRTS(bool) error
	Close() error
}

// RFC2217Scheme starts a port path that names a port on another host: rfc2217://host:port.
const RFC2217Scheme = "rfc2217://"

// IsRemote tells whether path names an RFC 2217 port rather than a local device.
func IsRemote(path string) bool { return strings.HasPrefix(path, RFC2217Scheme) }

// remoteTimeout bounds opening an RFC 2217 port and each of its DTR/RTS changes.
const remoteTimeout = 10 * time.Second

// openRemote opens rfc2217://host:port: baud and 8N1 set and confirmed by the server, buffers
// purged, DTR and RTS released when the server has real lines.
func openRemote(path string, baud int) (*Port, error) {
	addr := strings.TrimPrefix(path, RFC2217Scheme)
	if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" || strings.ContainsAny(addr, "/?#") {
		return nil, fmt.Errorf("open %s: want rfc2217://host:port", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	c, err := rfc2217.Dial(ctx, addr, baud)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	lines, err := c.ModemLines(ctx)
	if err == nil && lines {
		err = errors.Join(c.SetDTR(ctx, false), c.SetRTS(ctx, false))
	}
	if err == nil {
		err = c.Purge(ctx)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Port{path: path, baud: baud, modemLines: lines, dev: remoteDevice{c}}, nil
}

// remoteDevice gives the RFC 2217 client's line changes a deadline.
type remoteDevice struct{ *rfc2217.Conn }

func (r remoteDevice) SetDTR(v bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	return r.Conn.SetDTR(ctx, v)
}

func (r remoteDevice) SetRTS(v bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	return r.Conn.SetRTS(ctx, v)
}

// Open opens path at baud with DTR and RTS released (the idle state of esptool, espflash and
// pyserial's miniterm), so opening does not hold the chip in reset or in download mode. A path
// rfc2217://host:port opens a port on another host (see openRemote).
//
// go.bug.st/serial sets the initial modem bits with TIOCMGET/TIOCMSET, which a pseudo-terminal
// refuses with ENOTTY; such a port is opened again without them and reports no modem lines.
func Open(path string, baud int) (*Port, error) {
	if baud <= 0 {
		return nil, fmt.Errorf("open %s: baud rate %d is not positive", path, baud)
	}
	if IsRemote(path) {
		return openRemote(path, baud)
	}
	released := &serial.ModemOutputBits{DTR: false, RTS: false}
	sp, err := serial.Open(path, &serial.Mode{BaudRate: baud, InitialStatusBits: released})
	if err == nil {
		return &Port{path: path, baud: baud, modemLines: true, dev: sp}, nil
	}
	if !isModemBitsRefusal(err) {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sp, err = serial.Open(path, &serial.Mode{BaudRate: baud})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	p := &Port{path: path, baud: baud, dev: sp}
	// Confirm with an ioctl whose error is not wrapped: only ENOTTY/EINVAL mean "no lines".
	if _, err := sp.GetModemStatusBits(); err == nil {
		p.modemLines = true
		// The lines exist after all: release them now, as the first open meant to.
		if err := errors.Join(sp.SetDTR(false), sp.SetRTS(false)); err != nil {
			sp.Close()
			return nil, fmt.Errorf("open %s: release DTR/RTS: %w", path, err)
		}
	} else if !isNoLinesErrno(err) {
		sp.Close()
		return nil, fmt.Errorf("open %s: read modem lines: %w", path, err)
	}
	return p, nil
}

// isModemBitsRefusal recognises go.bug.st/serial's open failure on the initial modem bits.
// PortError does not unwrap its cause, so the text is all there is; Open confirms afterwards
// with an unwrapped errno.
func isModemBitsRefusal(err error) bool {
	var pe *serial.PortError
	if !errors.As(err, &pe) || pe.Code() != serial.InvalidSerialPort {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "modem bits") &&
		(strings.Contains(msg, unix.ENOTTY.Error()) || strings.Contains(msg, unix.EINVAL.Error()))
}

func isNoLinesErrno(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL)
}

// Path is the device path the port was opened on.
func (p *Port) Path() string { return p.path }

// Baud is the port's baud rate.
func (p *Port) Baud() int { return p.baud }

// HasModemLines tells whether DTR and RTS can be driven on this port.
func (p *Port) HasModemLines() bool { return p.modemLines }

// Read reads what the board sent; it blocks until data arrives or the port is closed.
func (p *Port) Read(b []byte) (int, error) {
	sp := p.current()
	if sp == nil {
		return 0, errClosed(p.path)
	}
	n, err := sp.Read(b)
	if err != nil {
		return n, fmt.Errorf("read %s: %w", p.path, err)
	}
	return n, nil
}

// Write sends bytes to the board.
func (p *Port) Write(b []byte) (int, error) {
	sp := p.current()
	if sp == nil {
		return 0, errClosed(p.path)
	}
	n, err := sp.Write(b)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", p.path, err)
	}
	return n, nil
}

// SetDTR drives DTR (true asserts it: GPIO0 low on Espressif boards).
func (p *Port) SetDTR(v bool) error {
	return p.setLine("DTR", func(d device) error { return d.SetDTR(v) })
}

// SetRTS drives RTS (true asserts it: EN low, chip held in reset, on Espressif boards).
func (p *Port) SetRTS(v bool) error {
	return p.setLine("RTS", func(d device) error { return d.SetRTS(v) })
}

func (p *Port) setLine(name string, set func(device) error) error {
	if !p.modemLines {
		return fmt.Errorf("set %s on %s: %w", name, p.path, ErrNoModemLines)
	}
	sp := p.current()
	if sp == nil {
		return errClosed(p.path)
	}
	if err := set(sp); err != nil {
		if isNoLinesErrno(err) {
			return fmt.Errorf("set %s on %s: %w (%v)", name, p.path, ErrNoModemLines, err)
		}
		return fmt.Errorf("set %s on %s: %w", name, p.path, err)
	}
	return nil
}

func (p *Port) current() device {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	return p.dev
}

// Close closes the port; a pending Read returns. Closing twice is not an error.
func (p *Port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	d := p.dev
	p.mu.Unlock()
	return d.Close()
}

func errClosed(path string) error {
	return fmt.Errorf("%s: %w", path, ErrClosed)
}

// ErrClosed is returned by I/O on a closed port.
var ErrClosed = errors.New("port closed")

// OpenRetry opens path, retrying until ctx ends while the device is absent or busy (a board
// that re-enumerates after a USB reset comes back a moment later).
func OpenRetry(ctx context.Context, path string, baud int) (*Port, error) {
	for {
		p, err := Open(path, baud)
		if err == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up: %v)", err, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
