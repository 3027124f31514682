package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/peercontract"
)

// The serve and dial tests run the irohconf binary as a process, as the suites and people do.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "irohconf-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "irohconf")
	// GOFLAGS (the crypto/tls overlay) reaches this build through the environment.
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building irohconf:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const processTimeout = 30 * time.Second

// zeroSeedID is the endpoint id of the all-zero seed: an id no test server has.
const zeroSeedID = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"

// serveProcess is a running `irohconf serve`.
type serveProcess struct {
	cmd    *exec.Cmd
	lines  chan string
	ready  peercontract.Ready
	waited chan error
	stderr *strings.Builder
}

func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, lines: make(chan string, 64), waited: make(chan error, 1), stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.waited
		}
	})
	line := p.next(t)
	if err := json.Unmarshal([]byte(line), &p.ready); err != nil || p.ready.Event != "ready" {
		t.Fatalf("first line %q is no ready line (%v); stderr: %s", line, err, p.stderr)
	}
	return p
}

func (p *serveProcess) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("serve ended early; stderr: %s", p.stderr)
		}
		return line
	case <-time.After(processTimeout):
		t.Fatal("serve printed nothing in time")
		return ""
	}
}

func (p *serveProcess) connection(t *testing.T) peercontract.Connection {
	t.Helper()
	line := p.next(t)
	var c peercontract.Connection
	if err := json.Unmarshal([]byte(line), &c); err != nil || c.Event != "connection" {
		t.Fatalf("line %q is no connection line (%v)", line, err)
	}
	return c
}

// stop sends sig and returns the exit code.
func (p *serveProcess) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.waited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(processTimeout):
		t.Fatal("serve did not exit after the signal")
		return -1
	}
}

// dial runs `irohconf dial` and returns its result line and exit code.
func dial(t *testing.T, args ...string) (peercontract.Result, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"dial"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("dial: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 {
		t.Fatalf("dial printed %d lines, want 1: %q (stderr %s)", len(lines), out, stderr.String())
	}
	var res peercontract.Result
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil || res.Event != "result" {
		t.Fatalf("dial printed %q, not a result line (%v)", lines[0], err)
	}
	return res, code, stderr.String()
}

func TestServeDialProcesses(t *testing.T) {
	seed := strings.Repeat("11", 32)
	sk, err := key.ParseSecretKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	keylog := filepath.Join(t.TempDir(), "keys.log")
	srv := startServe(t, "--secret", seed, "--keylog", keylog)
	if srv.ready.EndpointID != sk.Public().String() || len(srv.ready.Addrs) != 1 || !strings.HasPrefix(srv.ready.Addrs[0], "127.0.0.1:") {
		t.Errorf("ready line %+v", srv.ready)
	}

	// The ticket first, flags after it; then --id/--addr.
	res, code, stderr := dial(t, srv.ready.Ticket, "--size", "70000", "--count", "3", "--streams", "2", "--alpn", "iroh-example/echo/0")
	if code != 0 || !res.OK || res.Bytes != 210000 || len(res.EchoMS) != 3 || res.RemoteID != srv.ready.EndpointID {
		t.Fatalf("dial: exit %d %+v %s", code, res, stderr)
	}
	c := srv.connection(t)
	if c.RemoteID != res.EndpointID || c.ALPN != "iroh-example/echo/0" || c.Bytes != 210000 || c.Streams != 3 ||
		c.CloseCode == nil || *c.CloseCode != 0 || c.Error != "" {
		t.Errorf("connection line %+v", c)
	}

	res, code, _ = dial(t, "--id", srv.ready.EndpointID, "--addr", srv.ready.Addrs[0], "--sni", "iroh-invalid", "--idle", "200ms")
	if code != 0 || !res.OK || res.ALPN != "echo/0" || res.Bytes != 13 || res.Group != "X25519" {
		t.Errorf("dial by id and addr: exit %d %+v", code, res)
	}
	srv.connection(t)

	res, code, _ = dial(t, srv.ready.Ticket, "--groups", "x25519mlkem768,x25519")
	if code != 0 || !res.OK || res.Group != "X25519MLKEM768" {
		t.Errorf("dial offering ML-KEM: exit %d %+v", code, res)
	}
	if c := srv.connection(t); c.Group != "X25519MLKEM768" {
		t.Errorf("server negotiated %q", c.Group)
	}

	if code := srv.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0; stderr: %s", code, srv.stderr)
	}
	if b, err := os.ReadFile(keylog); err != nil || !strings.Contains(string(b), "CLIENT_TRAFFIC_SECRET_0 ") {
		t.Errorf("key log: %v %q", err, b)
	}
}

func TestDialRefusalsAsProcess(t *testing.T) {
	srv := startServe(t, "--alpn", "echo/0")
	for _, tc := range []struct {
		name string
		args []string
		code uint64
	}{
		{"unserved ALPN", []string{"--alpn", "iroh-example/echo/0"}, 0x178},
		{"plain X.509", []string{"--plain-x509"}, 0x128},
		{"no client key", []string{"--no-client-key"}, 0x174},
		{"wrong id", []string{"--id", zeroSeedID, "--addr", srv.ready.Addrs[0]}, 0x12a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args[0] != "--id" {
				args = append([]string{srv.ready.Ticket}, args...)
			}
			res, code, _ := dial(t, append(args, "--timeout", "5s")...)
			if code != 1 || res.OK || res.ErrorCode == nil || *res.ErrorCode != tc.code {
				t.Errorf("exit %d, result %+v; want exit 1 and error code %#x", code, res, tc.code)
			}
			if c := srv.connection(t); c.CloseCode == nil || *c.CloseCode != tc.code || c.Error == "" {
				t.Errorf("server line %+v", c)
			}
		})
	}
	if code := srv.stop(t, os.Interrupt); code != 0 {
		t.Errorf("serve exited %d after SIGINT, want 0", code)
	}
}

func TestDialInvalidInput(t *testing.T) {
	for _, args := range [][]string{
		{"not-a-ticket"},
		{},
		{"--id", "zz", "--addr", "127.0.0.1:1"},
		{"--id", strings.Repeat("00", 32), "--addr", "localhost"},
		{"--id", strings.Repeat("00", 32), "--addr", "127.0.0.1:1", "--count", "0"},
		{"--id", strings.Repeat("00", 32), "--addr", "127.0.0.1:1", "--sni", "example.com"},
		{"--id", strings.Repeat("00", 32), "--addr", "127.0.0.1:1", "--secret", "short"},
		{"--id", strings.Repeat("00", 32), "--addr", "127.0.0.1:1", "--groups", "x448"},
	} {
		res, code, stderr := dial(t, args...)
		if code != 2 || res.OK || res.Error == "" || !strings.Contains(stderr, res.Error) {
			t.Errorf("dial %q: exit %d, result %+v, stderr %q; want exit 2 with the error on both", args, code, res, stderr)
		}
	}
}

func TestDialNothingListeningAsProcess(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	start := time.Now()
	res, code, _ := dial(t, "--id", zeroSeedID, "--addr", addr, "--timeout", "1s")
	if code != 1 || res.OK || res.ErrorCode != nil || !strings.Contains(res.Error, "no handshake within") {
		t.Errorf("exit %d, result %+v", code, res)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the dial took %v with --timeout 1s", took)
	}
}

func TestServeInvalidInput(t *testing.T) {
	for _, args := range [][]string{{"--secret", "xyz"}, {"--bind", "nowhere"}, {"extra-arg"}} {
		cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("serve %q: %v, output %q; want exit 2", args, err, out)
		}
	}
}

func TestServeProcs(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{{1, 1}, {2, 1}, {3, 1}, {8, 4}} {
		if n, set := serveProcs("", tc.cpus); !set || n != tc.want {
			t.Errorf("serveProcs(\"\", %d) = %d, %v; want %d, true", tc.cpus, n, set, tc.want)
		}
	}
	if _, set := serveProcs("4", 8); set {
		t.Error("serveProcs overrides GOMAXPROCS from the environment")
	}
}
