// Package scripted plays a board's console on a pseudo-terminal for the tests of hil/: it
// replays recorded boot logs (fixtures/boot-logs) at power-on and on "reset", and answers our
// firmware's console commands, so the driver is tested against a real tty, byte for byte.
package scripted

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/irohconf/irohconf/internal/repo"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Config describes the scripted board.
type Config struct {
	// Boots are the boot logs: Boots[0] is played at power-on when PowerOn is set, the next
	// one on each reset; the last one repeats.
	Boots [][]byte
	// PowerOn plays the first boot log at once, before anyone reads (a powered board).
	PowerOn bool
	// Commands makes it answer our firmware's commands (id, ticket, status, reset, help);
	// without it the board ignores its input, like the iroh examples' firmware.
	Commands bool
	// LineDelay paces the lines, so they arrive as a stream; 0 means 1ms.
	LineDelay  time.Duration
	ID, Ticket string
	// Status is the JSON object of the STATUS line.
	Status string
}

// Board is a scripted console on a pty.
type Board struct {
	// Path is the pty's slave path: what the driver opens, like /dev/ttyUSB0.
	Path string

	cfg    Config
	master *os.File
	slave  *os.File

	writeMu  sync.Mutex
	mu       sync.Mutex
	received []string
	boot     int
	done     chan struct{}
	resets   chan struct{}
}

// Start makes the pty and starts the script; t.Cleanup stops it.
func Start(t testing.TB, cfg Config) *Board {
	t.Helper()
	if cfg.LineDelay == 0 {
		cfg.LineDelay = time.Millisecond
	}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	// Raw mode at once, as a UART has no line discipline: nothing echoed, "\r" left alone.
	if err := makeRaw(int(slave.Fd())); err != nil {
		t.Fatalf("pty raw mode: %v", err)
	}
	b := &Board{Path: slave.Name(), cfg: cfg, master: master, slave: slave,
		done: make(chan struct{}), resets: make(chan struct{}, 16)}
	go b.readCommands()
	if cfg.PowerOn {
		b.playNextBoot()
	}
	t.Cleanup(b.Close)
	return b
}

func makeRaw(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}

// Close stops the script and closes both ends of the pty.
func (b *Board) Close() {
	select {
	case <-b.done:
		return
	default:
	}
	close(b.done)
	b.master.Close()
	b.slave.Close()
}

// Received is every command line the board got, in order.
func (b *Board) Received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.received...)
}

// Resets receives a value each time a "reset" command starts a boot.
func (b *Board) Resets() <-chan struct{} { return b.resets }

// Send writes raw bytes to the console, as the board would.
func (b *Board) Send(p []byte) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	_, _ = b.master.Write(p)
}

// SendLines writes lines ending in "\r\n", paced by LineDelay.
func (b *Board) SendLines(data []byte) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	data = bytes.TrimSuffix(data, []byte("\n"))
	for _, line := range bytes.Split(data, []byte("\n")) {
		select {
		case <-b.done:
			return
		default:
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if _, err := b.master.Write(append(line, '\r', '\n')); err != nil {
			return
		}
		time.Sleep(b.cfg.LineDelay)
	}
}

func (b *Board) playNextBoot() {
	if len(b.cfg.Boots) == 0 {
		return
	}
	b.mu.Lock()
	log := b.cfg.Boots[min(b.boot, len(b.cfg.Boots)-1)]
	b.boot++
	b.mu.Unlock()
	b.SendLines(log)
}

func (b *Board) readCommands() {
	sc := bufio.NewScanner(b.master)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if cmd == "" {
			continue
		}
		b.mu.Lock()
		b.received = append(b.received, cmd)
		b.mu.Unlock()
		if !b.cfg.Commands {
			continue
		}
		switch cmd {
		case "reset":
			b.SendLines([]byte("Restarting..."))
			select {
			case b.resets <- struct{}{}:
			default:
			}
			go b.playNextBoot()
		case "id":
			b.SendLines([]byte(idf("  Endpoint ID: " + b.cfg.ID)))
		case "ticket":
			b.SendLines([]byte(idf("  Long ticket:  " + b.cfg.Ticket)))
		case "status":
			b.SendLines([]byte(idf("STATUS " + b.cfg.Status)))
		case "help":
			b.SendLines([]byte("commands: help id ticket status reset"))
		default:
			b.SendLines([]byte(fmt.Sprintf("unknown command: %s (try help)", cmd)))
		}
	}
}

func idf(msg string) string { return "\x1b[0;32mI (51234) irohconf_fw: " + msg + "\x1b[0m" }

// BootLog reads fixtures/boot-logs/<name> from the repository.
func BootLog(t testing.TB, name string) []byte {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "fixtures", "boot-logs", name))
	if err != nil {
		t.Fatalf("boot log fixture: %v", err)
	}
	return data
}

// Fixture is the path of a file under fixtures/.
func Fixture(t testing.TB, rel string) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "fixtures", rel)
}

// The values in the boot log fixtures.
const (
	FixtureID     = "8a3f5c0e7d1b2a94c6e0f13579bdf2468ace13579bdf02468ace13579bdf0246"
	FixtureTicket = "endpointrird4yd5ddvjjrxa6e2xtpo7ejdkztr3pg67ahndk4juk6n7aijgaaqaaaaaaaaaaaaaaaaaaf6xk2aq"
	FixtureAddr   = "192.168.1.77:49731"
	FixtureStatus = `{"uptime_ms":51234,"open_connections":0,"connections_served":3,"bytes_echoed":36,"heap_free":131220,"heap_min":98304}`
)
