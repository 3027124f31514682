package port_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/internal/scripted"
	"github.com/irohconf/irohconf/hil/internal/ser2net"
	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/hil/reset"
	"github.com/irohconf/irohconf/hil/virtual"
	"github.com/irohconf/irohconf/internal/syncio"
)

// A board on another host: ser2net exports a pty as rfc2217://127.0.0.1:<port>, and the port
// opened on that URL reads and writes like the local one. A pty has no modem lines, and the
// remote port says so the same way (ser2net cannot read DTR on it).
func TestRemotePort(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	srv := ser2net.Start(t, slave.Name(), 115200, ser2net.RFC2217)

	if !port.IsRemote(srv.URL) || port.IsRemote(slave.Name()) {
		t.Fatalf("IsRemote(%s) / IsRemote(%s)", srv.URL, slave.Name())
	}
	p, err := port.Open(srv.URL, 115200)
	if err != nil {
		t.Fatalf("Open(%s): %v", srv.URL, err)
	}
	defer p.Close()
	if p.Path() != srv.URL || p.Baud() != 115200 {
		t.Errorf("path %q baud %d", p.Path(), p.Baud())
	}
	if p.HasModemLines() {
		t.Error("an exported pty reported modem lines")
	}
	if err := p.SetRTS(true); !errors.Is(err, port.ErrNoModemLines) {
		t.Errorf("SetRTS: %v, want ErrNoModemLines", err)
	}
	err = reset.Run(context.Background(), p, reset.Classic)
	var se *reset.StepError
	if !errors.As(err, &se) || se.Index != 1 || !errors.Is(err, port.ErrNoModemLines) {
		t.Errorf("reset.Run: %v", err)
	}

	if _, err := master.Write([]byte("boot line\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(got), "boot line\n") && time.Now().Before(deadline) {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "boot line\n" {
		t.Errorf("Read = %q", got)
	}
	if _, err := p.Write([]byte("status\n")); err != nil {
		t.Fatal(err)
	}
	n, err := master.Read(buf)
	if err != nil || string(buf[:n]) != "status\n" {
		t.Errorf("the board got %q, %v", buf[:n], err)
	}

	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := p.Read(buf); !errors.Is(err, port.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

func TestRemotePortErrors(t *testing.T) {
	for _, bad := range []string{"rfc2217://", "rfc2217://host", "rfc2217://:4000", "rfc2217://127.0.0.1:4000/x"} {
		if _, err := port.Open(bad, 115200); err == nil || !strings.Contains(err.Error(), "want rfc2217://host:port") {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	// Nothing listening: an error, and OpenRetry keeps trying until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := port.OpenRetry(ctx, "rfc2217://127.0.0.1:1", 115200); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("OpenRetry to a closed port: %v", err)
	}
}

// remoteProfile is a serial board profile on an RFC 2217 URL, reset through the console (an
// exported pty has no lines).
func remoteProfile(t *testing.T, url string) *profile.Profile {
	t.Helper()
	p, err := profile.Parse([]byte("name: remote\nkind: serial\nchip: esp32s3\nfirmware: irohconf\nport: {path: \"" + url +
		"\"}\nreset: classic\nreset_fallback: console\nboot_timeout: 30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openBoard(t *testing.T, p *profile.Profile, log *syncio.Buffer) *board.Board {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := board.Open(ctx, p, log)
	if err != nil {
		t.Fatalf("board.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// The board driver boots a board whose console is on another host: a recorded boot log played
// on a pty, exported by ser2net.
func TestBoardThroughRFC2217(t *testing.T) {
	sb := scripted.Start(t, scripted.Config{Boots: [][]byte{scripted.BootLog(t, "irohconf-normal.log")}, PowerOn: true,
		Commands: true, ID: scripted.FixtureID, Ticket: scripted.FixtureTicket, Status: scripted.FixtureStatus})
	srv := ser2net.Start(t, sb.Path, 115200, ser2net.RFC2217)
	var log syncio.Buffer
	b := openBoard(t, remoteProfile(t, srv.URL), &log)
	if b.PortPath() != srv.URL || b.HasModemLines() {
		t.Errorf("port %s, modem lines %v", b.PortPath(), b.HasModemLines())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := b.Boot(ctx)
	if err != nil {
		t.Fatalf("Boot: %v\nserial log:\n%s\nser2net:\n%s", err, log.String(), srv.Output())
	}
	if info.ID != scripted.FixtureID || info.ResetMethod != profile.ResetConsole {
		t.Errorf("boot info %+v", info)
	}
	if got := sb.Received(); len(got) != 1 || got[0] != "reset" {
		t.Errorf("the board received %q, want one reset", got)
	}
}

// The virtual board (our firmware on Linux) through ser2net: boot, status and reset over the
// network, as the hil suite will drive a board on a bench host.
func TestVirtualBoardThroughRFC2217(t *testing.T) {
	p, err := profile.Parse([]byte("name: v\nkind: virtual\nfirmware: irohconf\n"))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := board.VirtualBoardBinary(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "virtual board not built (" + bin + "): `make virtual-board` builds it"
		if os.Getenv("IROHCONF_REQUIRE_VIRTUAL_BOARD") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr syncio.Buffer
	proc, err := virtual.Start(ctx, virtual.Options{Binary: bin, Bind: "127.0.0.1:0", Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Stop()
	srv := ser2net.Start(t, proc.ConsolePath, 115200, ser2net.RFC2217)

	var log syncio.Buffer
	b := openBoard(t, remoteProfile(t, srv.URL), &log)
	info, err := b.Boot(ctx)
	if err != nil {
		t.Fatalf("Boot: %v\nserial log:\n%s\nboard stderr:\n%s", err, log.String(), stderr.String())
	}
	if !info.Addr.Addr().IsLoopback() || len(info.ID) != 64 {
		t.Errorf("boot info %+v", info)
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	again, err := b.Reset(ctx)
	if err != nil {
		t.Fatalf("Reset: %v\nserial log:\n%s", err, log.String())
	}
	if again.ID != info.ID || again.Banner == nil || info.Banner == nil || again.Banner.Boot != info.Banner.Boot+1 {
		t.Errorf("after the reset: %+v (before %+v, status %+v)", again, info, st)
	}
}
