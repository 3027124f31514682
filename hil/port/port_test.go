package port

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.bug.st/serial/enumerator"

	"github.com/irohconf/irohconf/hil/reset"
)

func openPty(t *testing.T) (master *os.File, slavePath string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s.Name()
}

func TestPtyHasNoModemLines(t *testing.T) {
	master, path := openPty(t)
	p, err := Open(path, 115200)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer p.Close()
	if p.HasModemLines() {
		t.Fatal("a pseudo-terminal reported modem lines")
	}
	if err := p.SetDTR(false); !errors.Is(err, ErrNoModemLines) {
		t.Errorf("SetDTR: %v, want ErrNoModemLines", err)
	}
	// A reset sequence on it reports the missing lines at its first step.
	err = reset.Run(context.Background(), p, reset.Classic)
	var se *reset.StepError
	if !errors.As(err, &se) || se.Index != 1 || !errors.Is(err, ErrNoModemLines) {
		t.Errorf("reset.Run: %v", err)
	}
	if !strings.Contains(err.Error(), "no modem control lines") {
		t.Errorf("the error does not say why: %v", err)
	}

	// Reading and writing work both ways.
	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := p.Read(buf)
	if err != nil || string(buf[:n]) != "hello\n" {
		t.Errorf("Read = %q, %v", buf[:n], err)
	}
	if _, err := p.Write([]byte("status\n")); err != nil {
		t.Fatal(err)
	}
	n, err = master.Read(buf)
	if err != nil || string(buf[:n]) != "status\n" {
		t.Errorf("master got %q, %v", buf[:n], err)
	}
}

func TestCloseEndsRead(t *testing.T) {
	_, path := openPty(t)
	p, err := Open(path, 115200)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	var _ io.ReadWriteCloser = p
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("/dev/irohconf-no-such-port", 115200); err == nil || !strings.Contains(err.Error(), "/dev/irohconf-no-such-port") {
		t.Errorf("missing device: %v", err)
	}
	if _, err := Open(os.DevNull, 115200); err == nil {
		t.Error("/dev/null opened as a serial port")
	}
	_, path := openPty(t)
	if _, err := Open(path, 0); err == nil {
		t.Error("baud 0 accepted")
	}
}

func TestOpenRetryGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := OpenRetry(ctx, "/dev/irohconf-no-such-port", 115200)
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("OpenRetry: %v", err)
	}
}

func TestFind(t *testing.T) {
	if p, err := Find(context.Background(), Selector{Path: "/dev/ttyUSB7"}); err != nil || p != "/dev/ttyUSB7" {
		t.Errorf("path selector: %q %v", p, err)
	}
	if _, err := Find(context.Background(), Selector{}); err == nil {
		t.Error("empty selector accepted")
	}
	// No board with this serial number is plugged in here: Find keeps looking until the
	// deadline, then says what it saw.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := Find(ctx, Selector{SerialNumber: "irohconf-test-no-such-board"})
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "USB serial ports present") {
		t.Errorf("Find: %v", err)
	}
}

func TestListUSB(t *testing.T) {
	ports, err := ListUSB()
	if err != nil {
		t.Fatal(err)
	}
	// This machine may have no USB serial port; whatever is listed must be usable in a profile.
	for _, u := range ports {
		if u.Path == "" || len(u.VID) != 4 || len(u.PID) != 4 {
			t.Errorf("listed %v", u)
		}
	}
}

func TestUSBIdentityFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "ttyACM0")
	if err := os.WriteFile(dev, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	byID := filepath.Join(dir, "usb-Espressif_USB_JTAG_serial_debug_unit-if00")
	if err := os.Symlink(dev, byID); err != nil {
		t.Fatal(err)
	}
	ports := []*enumerator.PortDetails{
		{Name: filepath.Join(dir, "ttyS0")},
		{Name: dev, IsUSB: true, VID: "303A", PID: "1001"},
	}
	for _, path := range []string{dev, byID} {
		if vid, pid, ok := usbIdentityIn(ports, path); !ok || vid != "303a" || pid != "1001" {
			t.Errorf("%s: %s:%s %v", path, vid, pid, ok)
		}
	}
	if _, _, ok := usbIdentityIn(ports, filepath.Join(dir, "ttyS0")); ok {
		t.Error("a port that is not USB has a USB identity")
	}
	if _, _, ok, err := USBIdentity("rfc2217://127.0.0.1:7000"); ok || err != nil {
		t.Errorf("rfc2217: %v %v", ok, err)
	}
}
