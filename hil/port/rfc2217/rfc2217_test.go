package rfc2217

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/irohconf/irohconf/hil/internal/ser2net"
)

// These tests run against Debian's ser2net exporting a pseudo-terminal: the pty's master is
// the board's side of the wire, its slave the UART that ser2net drives.

func exported(t *testing.T, baud int, accepter string) (master, slave *os.File, srv *ser2net.Server) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s, ser2net.Start(t, s.Name(), baud, accepter)
}

func dial(t *testing.T, addr string, baud int) *Conn {
	t.Helper()
	c, err := Dial(within(t, 10*time.Second), addr, baud)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readFull reads n bytes from r within 10 s.
func readFull(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(r, got); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("read: %d bytes did not arrive within 10s", n)
	}
	return got
}

// speed is the pty's baud rate as the serial driver set it.
func speed(t *testing.T, slave *os.File) uint32 {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Cflag & unix.CBAUD
}

// Every byte value goes both ways unchanged, IAC (0xff), CR and NUL included, in a stream long
// enough to be split across many reads.
func TestBytesBothWays(t *testing.T) {
	master, _, srv := exported(t, 115200, ser2net.RFC2217)
	c := dial(t, srv.Addr, 115200)
	var payload []byte
	for i := range 16 * 1024 {
		payload = append(payload, byte(i), byte(i*7))
	}
	payload = append(payload, 0xff, 0xff, '\r', 0, '\r', '\n', 0xff)

	go master.Write(payload)
	if got := readFull(t, c, len(payload)); !bytes.Equal(got, payload) {
		t.Errorf("board → client: %d bytes differ (first at %d)", len(payload), firstDiff(got, payload))
	}
	go c.Write(payload)
	if got := readFull(t, master, len(payload)); !bytes.Equal(got, payload) {
		t.Errorf("client → board: %d bytes differ (first at %d)", len(payload), firstDiff(got, payload))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The baud rate asked for is the one the remote port runs at: ser2net sets it on the tty, and
// the tty says so.
func TestBaudRateReachesThePort(t *testing.T) {
	_, slave, srv := exported(t, 115200, ser2net.RFC2217)
	c := dial(t, srv.Addr, 9600)
	if got := speed(t, slave); got != unix.B9600 {
		t.Errorf("after Dial at 9600 the port runs at CBAUD %o, want %o", got, unix.B9600)
	}
	if err := c.SetBaudRate(within(t, 5*time.Second), 921600); err != nil {
		t.Fatal(err)
	}
	if got := speed(t, slave); got != unix.B921600 {
		t.Errorf("after SetBaudRate(921600) CBAUD %o, want %o", got, unix.B921600)
	}
	if err := c.SetBaudRate(within(t, time.Second), 0); err == nil {
		t.Error("baud 0 was accepted")
	}
}

// ser2net answers the signature and purge requests; on a pty it cannot read DTR, so the port
// reports no modem lines, and a change of DTR gets no answer, which is an error, not a reset.
func TestControlAnswers(t *testing.T) {
	_, _, srv := exported(t, 115200, ser2net.RFC2217)
	c := dial(t, srv.Addr, 115200)
	if sig, err := c.Signature(within(t, 5*time.Second)); err != nil || sig != ser2net.Signature {
		t.Errorf("Signature = %q, %v; want %q", sig, err, ser2net.Signature)
	}
	if err := c.Purge(within(t, 5*time.Second)); err != nil {
		t.Errorf("Purge: %v", err)
	}
	lines, err := c.ModemLines(within(t, 5*time.Second))
	if err != nil || lines {
		t.Errorf("ModemLines on an exported pty = %v, %v; want false", lines, err)
	}
	c.timeout = 300 * time.Millisecond
	if err := c.SetDTR(within(t, 5*time.Second), true); err == nil || !strings.Contains(err.Error(), "DTR on: no answer") {
		t.Errorf("SetDTR on an exported pty: %v, want no answer", err)
	}
	// The connection still works after an unanswered command.
	c.timeout = DefaultTimeout
	if err := c.Purge(within(t, 5*time.Second)); err != nil {
		t.Errorf("Purge after an unanswered command: %v", err)
	}
}

// A port without the Com Port Control Option is told apart from one with it.
func TestNotAnRFC2217Port(t *testing.T) {
	t.Run("plain telnet", func(t *testing.T) {
		_, _, srv := exported(t, 115200, ser2net.Telnet)
		_, err := Dial(within(t, 10*time.Second), srv.Addr, 115200)
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("Dial to a plain telnet port: %v, want ErrNotSupported", err)
		}
	})
	t.Run("raw TCP", func(t *testing.T) {
		_, _, srv := exported(t, 115200, ser2net.RawTCP)
		start := time.Now()
		_, err := Dial(within(t, time.Second), srv.Addr, 115200)
		if err == nil || !strings.Contains(err.Error(), "not an RFC 2217 port?") {
			t.Errorf("Dial to a raw TCP port: %v", err)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("Dial took %s with a 1s context", time.Since(start))
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		if _, err := Dial(within(t, 2*time.Second), "127.0.0.1:1", 115200); err == nil {
			t.Error("Dial to a closed port succeeded")
		}
	})
}

// Close ends a pending Read; a server that goes away ends it too.
func TestReadEnds(t *testing.T) {
	_, _, srv := exported(t, 115200, ser2net.RFC2217)
	c := dial(t, srv.Addr, 115200)
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 8)); done <- err }()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Read")
	}

	c2 := dial(t, srv.Addr, 115200)
	go func() { _, err := c2.Read(make([]byte, 8)); done <- err }()
	srv.Stop(t)
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read returned no error when the server went away")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a server that stopped did not end Read")
	}
}

// The parser keeps its state across reads: a stream cut at every byte gives the same data and
// events as one read.
func TestParserAcrossReads(t *testing.T) {
	stream := []byte{'a', iac, iac, 'b', iac, do, optComPort, 'c', iac, sb, optComPort, cmdSetBaudRate + serverOffset,
		0, 0, iac, iac, iac, se, iac, 241 /* NOP */, 'd', iac, will, 1, '\r', 0}
	var whole parser
	wantData, wantEvents := whole.feed(stream)
	if string(wantData) != "a\xffbcd\r\x00" || len(wantEvents) != 3 || !bytes.Equal(wantEvents[1].sub, []byte{101, 0, 0, 0xff}) {
		t.Fatalf("feed = %q, %v", wantData, wantEvents)
	}
	for cut := 1; cut < len(stream); cut++ {
		var p parser
		d1, e1 := p.feed(stream[:cut])
		d2, e2 := p.feed(stream[cut:])
		if got := append(d1, d2...); !bytes.Equal(got, wantData) || len(e1)+len(e2) != len(wantEvents) {
			t.Errorf("cut at %d: %q, %d events", cut, got, len(e1)+len(e2))
		}
	}
}
