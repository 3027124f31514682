package containers

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/peercontract"
)

// ServeOptions are the flags of `serve`.
type ServeOptions struct {
	// Bind is the one UDP socket's address; empty means 127.0.0.1:0.
	Bind string
	// ALPNs to serve echo on; empty means echo/0 and iroh-example/echo/0.
	ALPNs []string
	// Secret fixes the server's key (64 hex).
	Secret string
	// KeyLog is a host path the TLS key log is written to, as the server writes it (a container
	// has the path's folder mounted).
	KeyLog string
	// Extra flags, passed as they are.
	Extra []string
}

// stopGrace is how long a server has to exit after SIGTERM before it is killed (it closes its
// connections within 3 s).
const stopGrace = 5 * time.Second

// Server is a running `serve`, in a container or a process.
type Server struct {
	// Ready is the server's ready line: its id, ticket, addresses and version.
	Ready peercontract.Ready
	// Where says what runs it: a container id, or a process id.
	Where string

	name       string
	out        *output
	afterReady int
	// halt stops the server and returns its exit code; runtime specific.
	halt   func(ctx context.Context) (int, error)
	forget func(*Server)

	stopOnce sync.Once
	stopErr  error
	exitCode int
}

// Serve starts `serve` and returns once its ready line is printed (within Options.ReadyTimeout).
// The server runs, and its output streams, until Stop or Upstream.Close, whatever becomes of
// ctx after the start.
func (u *Upstream) Serve(ctx context.Context, o ServeOptions) (*Server, error) {
	args := []string{"serve"}
	bind := o.Bind
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	args = append(args, "--bind", bind)
	for _, a := range o.ALPNs {
		args = append(args, "--alpn", a)
	}
	if o.Secret != "" {
		args = append(args, "--secret", o.Secret)
	}
	if o.KeyLog != "" {
		inside := o.KeyLog
		if u.runtime == Docker {
			inside = containerKeyLogDir + "/" + filepath.Base(o.KeyLog)
		}
		args = append(args, "--keylog", inside)
	}
	args = append(args, o.Extra...)

	u.mu.Lock()
	closed := u.closed
	u.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%s: closed", u.name())
	}
	var (
		s   *Server
		err error
	)
	if u.runtime == Docker {
		s, err = u.serveInContainer(ctx, args, o.KeyLog)
	} else {
		s, err = u.serveAsProcess(ctx, args)
	}
	if err != nil {
		return nil, err
	}
	s.forget = func(s *Server) {
		u.mu.Lock()
		delete(u.servers, s)
		u.mu.Unlock()
	}
	u.mu.Lock()
	u.servers[s] = struct{}{}
	u.mu.Unlock()
	return s, nil
}

// WaitConnection waits for the server's line about a finished connection from remoteID (empty:
// any), within ctx.
func (s *Server) WaitConnection(ctx context.Context, remoteID string) (peercontract.Connection, error) {
	c, err := peercontract.WaitConnection(ctx, stdoutOf(s.out), s.afterReady, remoteID)
	if err != nil {
		return c, fmt.Errorf("%s: no connection line from %q: %w", s.name, remoteID, err)
	}
	return c, nil
}

// Connections are the connection lines printed so far.
func (s *Server) Connections() []peercontract.Connection {
	var stdout []string
	for _, l := range s.out.snapshot() {
		if l.Stream == Stdout {
			stdout = append(stdout, l.Text)
		}
	}
	return peercontract.Connections(stdout)
}

// Logs are every line the server printed so far (all of them once stopped).
func (s *Server) Logs() []LogLine { return s.out.snapshot() }

// Stop sends SIGTERM, waits for the server to exit (killing it after 5 s), and removes its
// container. It returns an error when the server did not exit 0. Safe to call twice.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		// Cleanup must happen even when the caller's context is already done.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace+20*time.Second)
		defer cancel()
		s.exitCode, s.stopErr = s.halt(ctx)
		if s.stopErr == nil && s.exitCode != 0 {
			s.stopErr = fmt.Errorf("%s exited with %d", s.name, s.exitCode)
		}
		if s.forget != nil {
			s.forget(s)
		}
	})
	return s.stopErr
}

// ExitCode is the server's exit code once stopped.
func (s *Server) ExitCode() int { return s.exitCode }

// startError describes a server that did not become ready, with what it printed.
func startError(name string, err error, out *output) error {
	var b strings.Builder
	for _, l := range out.snapshot() {
		fmt.Fprintf(&b, "\n  %s: %s", l.Stream, l.Text)
	}
	if b.Len() == 0 {
		b.WriteString(" (it printed nothing)")
	}
	return fmt.Errorf("%s serve did not become ready: %w; its output:%s", name, err, b.String())
}

var errNotReady = errors.New("no ready line")
