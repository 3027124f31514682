// Package ser2net runs Debian's ser2net for the tests of hil/: it exports a device (a
// pseudo-terminal standing in for a board's UART) as an RFC 2217 port on 127.0.0.1, the way a
// board farm exports its boards, and stops it when the test ends.
package ser2net

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/irohconf/irohconf/internal/syncio"
)

// Signature is what the exported port answers to RFC 2217's SIGNATURE request.
const Signature = "irohconf-test-ser2net"

// Server is a running ser2net.
type Server struct {
	// Addr is the RFC 2217 port, 127.0.0.1:<port>.
	Addr string
	// URL is Addr as a profile's port path: rfc2217://127.0.0.1:<port>.
	URL    string
	cmd    *exec.Cmd
	output *syncio.Buffer
	done   chan struct{}
}

// Output is what ser2net printed so far.
func (s *Server) Output() string { return s.output.String() }

// Accepters: how ser2net offers the port.
const (
	RFC2217 = "telnet(rfc2217)" // telnet with the Com Port Control Option: what a board farm exports
	Telnet  = "telnet"          // plain telnet: no port control
	RawTCP  = "tcp"             // bytes only
)

// Start writes a ser2net YAML config exporting device at baud (with accepter, e.g. RFC2217, on a
// free port of 127.0.0.1), starts ser2net in the foreground and waits until the port accepts.
// The test fails, saying why, when ser2net is not installed or does not come up; ser2net is
// stopped when the test ends, failures included.
func Start(t testing.TB, device string, baud int, accepter string) *Server {
	t.Helper()
	bin, err := exec.LookPath("ser2net")
	if err != nil {
		bin = "/usr/sbin/ser2net" // Debian's, outside a non-root PATH
		if _, serr := os.Stat(bin); serr != nil {
			t.Fatalf("ser2net is not installed (%v): apt-get install -y ser2net; the RFC 2217 tests run against it", err)
		}
	}
	port := freePort(t)
	dir := t.TempDir()
	// mdns off: nothing is advertised (every packet stays on this machine).
	config := fmt.Sprintf(`%%YAML 1.1
---
default:
  name: mdns
  value: false

connection: &board
  accepter: %s,127.0.0.1,%d
  connector: serialdev,%s,%dn81,local
  enable: on
  options:
    kickolduser: true
    mdns: false
    signature: %s
`, tcpAccepter(accepter), port, device, baud, Signature)
	cfg := filepath.Join(dir, "ser2net.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), output: &syncio.Buffer{}, done: make(chan struct{})}
	s.URL = "rfc2217://" + s.Addr
	// -n: stay in the foreground; -u: no UUCP lock files; -P: a pid file of its own, so tests
	// in parallel do not share /run/ser2net.pid.
	s.cmd = exec.Command(bin, "-n", "-u", "-c", cfg, "-P", filepath.Join(dir, "ser2net.pid"))
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting ser2net: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.Stop(t) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		conn, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			conn.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("ser2net exited before its port %s accepted (%v); config:\n%s\noutput:\n%s", s.Addr, s.cmd.ProcessState, config, s.Output())
		case <-ctx.Done():
			t.Fatalf("ser2net's port %s did not accept within 10s: %v; output:\n%s", s.Addr, err, s.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends ser2net: SIGTERM, then SIGKILL after 5 s. Start has it run when the test ends.
func (s *Server) Stop(t testing.TB) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("ser2net did not stop on SIGTERM within 5s; killed. Output:\n%s", s.Output())
	}
}

// Running tells whether ser2net is still running.
func (s *Server) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// tcpAccepter stacks the accepter on TCP.
func tcpAccepter(a string) string {
	if a == RawTCP {
		return a
	}
	return a + ",tcp"
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
