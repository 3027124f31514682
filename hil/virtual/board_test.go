package virtual

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/irohconf/irohconf/hil/console"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
)

// These tests run the real virtual board (build/bin/virtual-board) in its ESP32 limits, read its
// console with the hil driver's console, and talk to it with the Go peer's endpoint.

// builtBoard is the virtual board program. Without it the test says why; under `make
// test-hil-driver` (IROHCONF_REQUIRE_VIRTUAL_BOARD=1, the binary built first) it fails.
func builtBoard(t *testing.T) string {
	t.Helper()
	bin, err := repo.Path(profile.DefaultBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "virtual board not built (" + err.Error() + "); `make virtual-board` builds it"
		if os.Getenv("IROHCONF_REQUIRE_VIRTUAL_BOARD") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// liveBoard is a started virtual board with its console attached.
type liveBoard struct {
	proc    *Process
	console *console.Console
	port    *os.File
	ticket  ticket.Ticket
}

func startBoard(t *testing.T, ctx context.Context, o Options) *liveBoard {
	t.Helper()
	o.Binary = builtBoard(t)
	proc, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Stop() })
	port, err := os.OpenFile(proc.ConsolePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := console.New(console.Config{})
	if err := c.Attach(port); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	b := &liveBoard{proc: proc, console: c, port: port}
	m := b.expect(t, ctx, `^  Long ticket:  (\S+)$`)
	if b.ticket, err = ticket.Parse(m.Submatches[1]); err != nil {
		t.Fatal(err)
	}
	b.expect(t, ctx, `^Router started, accepting connections$`)
	return b
}

func (b *liveBoard) expect(t *testing.T, ctx context.Context, pattern string) *console.Match {
	t.Helper()
	m, err := b.console.Expect(ctx, regexp.MustCompile(pattern))
	if err != nil {
		t.Fatalf("waiting for %q: %v", pattern, err)
	}
	return m
}

// command sends a console line and decodes the JSON of the reply line that starts with word.
func (b *liveBoard) command(t *testing.T, ctx context.Context, line, word string, into any) {
	t.Helper()
	if _, err := b.port.WriteString(line + "\r"); err != nil {
		t.Fatal(err)
	}
	m := b.expect(t, ctx, `^`+word+` (\{.*\})$`)
	if err := json.Unmarshal([]byte(m.Submatches[1]), into); err != nil {
		t.Fatalf("%s: %v", m.Line.Text, err)
	}
}

type heapLine struct {
	Free       int64 `json:"heap_free"`
	Min        int64 `json:"heap_min"`
	WindowMin  int64 `json:"window_min"`
	WindowPeak int64 `json:"window_peak"`
}

type dialLine struct {
	OK         bool      `json:"ok"`
	EndpointID string    `json:"endpoint_id"`
	RemoteID   string    `json:"remote_id"`
	ALPN       string    `json:"alpn"`
	EchoMillis []float64 `json:"echo_ms"`
	Bytes      int64     `json:"bytes"`
	Error      string    `json:"error"`
}

// goPeer is an in-process Go peer serving echo.
func goPeer(t *testing.T, ctx context.Context) *endpoint.Endpoint {
	t.Helper()
	e, err := endpoint.Listen(ctx, endpoint.Config{Bind: "127.0.0.1:0", Handlers: (&echo.Server{}).Handlers()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// handshake dials the board from a fresh Go endpoint, echoes 13 bytes (so the board surely saw
// the handshake complete) and closes.
func handshake(ctx context.Context, b *liveBoard) error {
	e, err := endpoint.Listen(ctx, endpoint.Config{Bind: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer e.Close()
	c, err := e.Dial(ctx, b.ticket.ID, b.ticket.IPAddrs()[0], echo.ALPN, endpoint.DialOptions{})
	if err != nil {
		return err
	}
	if _, err := echo.Echo(ctx, c, []byte("hello, board!")); err != nil {
		return errors.Join(err, c.Close(0, echo.CloseReason))
	}
	return c.Close(0, echo.CloseReason)
}

// boardProfile is an ESP32-S3 with 8 MiB of PSRAM: without PSRAM the virtual board cannot dial
// with two 1 MiB echoes (see docs/board-console.md, the virtual board).
func boardProfile(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.Load("../../fixtures/boards/esp32s3-devkitc-usb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAHeapTooSmallForAHandshakeIsADetectedCrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// What a boot and a handshake take, with room to spare.
	const roomy = 64 << 20
	b := startBoard(t, ctx, Options{Bind: "127.0.0.1:0", Heap: roomy})
	var idle, after heapLine
	time.Sleep(1500 * time.Millisecond) // iroh allocates for a moment after the bind
	b.command(t, ctx, "heap", "HEAP", &idle)
	if err := handshake(ctx, b); err != nil {
		t.Fatalf("handshake with room to spare: %v", err)
	}
	b.expect(t, ctx, `^Connection closed$`)
	b.command(t, ctx, "heap", "HEAP", &after)
	if after.WindowPeak <= 0 {
		t.Fatalf("a handshake took no heap: %+v", after)
	}
	if err := b.proc.Stop(); err != nil {
		t.Fatal(err)
	}

	// Room to boot and for half a handshake: the board must crash as an ESP32 does, at once.
	// Boot: the most charged since the application became ready (iroh allocates for a moment
	// right after the bind).
	budget := roomy - idle.WindowMin + after.WindowPeak/2
	small := startBoard(t, ctx, Options{Bind: "127.0.0.1:0", Heap: budget})
	dialCtx, cancelDial := context.WithTimeout(ctx, 5*time.Second)
	defer cancelDial()
	dialed := make(chan error, 1)
	go func() { dialed <- handshake(dialCtx, small) }()

	begin := time.Now()
	_, err := small.console.Expect(ctx, regexp.MustCompile(`never printed`))
	var crash *console.CrashError
	if !errors.As(err, &crash) || crash.Kind != console.Abort {
		t.Fatalf("want an abort crash, got %v", err)
	}
	if before := fmt.Sprint(crash.Before); !regexp.MustCompile(`memory allocation of \d+ bytes failed`).MatchString(before) {
		t.Errorf("no allocation failure before the abort: %s", crash)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("the crash took %v to show", took)
	}
	select {
	case <-small.proc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the board still runs after the abort")
	}
	if ws, ok := errorsAsWaitStatus(small.proc.ExitErr()); !ok || ws.Signal() != syscall.SIGABRT {
		t.Errorf("exit %v, want SIGABRT", small.proc.ExitErr())
	}
	if err := <-dialed; err == nil {
		t.Errorf("a handshake fit in %d bytes", budget)
	}
	t.Logf("budget %d B (boot %d B + half a handshake of %d B): %s", budget, roomy-idle.WindowMin, after.WindowPeak, crash.Line.Raw)
}

func TestTheBoardDialsTheGoPeerWithinItsProfileHeap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := boardProfile(t)
	o := ProfileOptions(p, "")
	o.Bind = "127.0.0.1:0"
	b := startBoard(t, ctx, o)
	peer := goPeer(t, ctx)

	var start, end heapLine
	b.command(t, ctx, "heap", "HEAP", &start)
	var ok dialLine
	b.command(t, ctx, "dial "+peer.Ticket().String()+" 1048576 2", "DIAL", &ok)
	if !ok.OK || ok.RemoteID != peer.ID().String() || ok.EndpointID != b.ticket.ID.String() ||
		ok.ALPN != echo.ALPN || ok.Bytes != 2<<20 || len(ok.EchoMillis) != 2 || ok.Error != "" {
		t.Errorf("dial the Go peer: %+v", ok)
	}
	b.command(t, ctx, "heap", "HEAP", &end)
	if end.WindowPeak <= 0 || end.Min > end.Free || end.Free > p.Memory.Heap() {
		t.Errorf("heap after the dial: %+v", end)
	}
	t.Logf("dialing the Go peer, two 1 MiB echoes: peak %d B above %d B in use (budget %d B)",
		end.WindowPeak, p.Memory.Heap()-start.Free, p.Memory.Heap())

	// The Go peer's address under another id: the board must refuse the server.
	other, err := key.GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	wrong := ticket.New(other.Public(), ticket.IPAddr(peer.Addr()))
	var refused dialLine
	b.command(t, ctx, "dial "+wrong.String(), "DIAL", &refused)
	if refused.OK || refused.RemoteID != other.Public().String() || refused.Bytes != 0 || refused.Error == "" {
		t.Errorf("dial under a wrong id: %+v", refused)
	}
}

func errorsAsWaitStatus(err error) (syscall.WaitStatus, bool) {
	var exit interface{ Sys() any }
	if !errors.As(err, &exit) {
		return 0, false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ws, ok
}
