// Package virtual starts and stops the virtual board: the firmware's application built for
// the host, with its console on a pseudo-terminal (see docs/board-contract.md). It announces
// the pty on stdout as "console <path>"; the board driver then opens that path like any port.
package virtual

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/internal/child"
	"github.com/irohconf/irohconf/internal/syncio"
)

// Options for Start.
type Options struct {
	Binary string // the virtual-board program
	Bind   string // --bind, e.g. 127.0.0.1:0
	Secret string // IROH_SECRET, 64 hex; empty lets the board make one
	Link   string // --link: a symlink to the pty, optional
	// KeyLog, when set, is where the board writes its TLS secrets (SSLKEYLOGFILE; only a host
	// build of the firmware reads it).
	KeyLog string
	// Heap is the heap budget in bytes (--heap): the free heap the board leaves the
	// application; an allocation past it crashes the board. 0: no budget.
	Heap int64
	// MainStack is the stack of the application's thread, the ESP32 main task (--main-stack);
	// 0: the board's default (48 KiB).
	MainStack int64
	Args      []string // more arguments, passed as they are
	// Stderr receives the board's diagnostics (stderr, and anything unexpected on stdout).
	Stderr io.Writer
	// StartTimeout bounds the wait for the "console <path>" line; 0 means 15s.
	StartTimeout time.Duration
}

// ProfileOptions are the Options a virtual board profile asks for: its address, secret,
// arguments and memory (the heap budget and the main task's stack).
func ProfileOptions(p *profile.Profile, binary string) Options {
	o := Options{Binary: binary}
	if v := p.VirtualBoard; v != nil {
		o.Bind, o.Secret, o.Args, o.KeyLog = v.Bind, v.Secret, v.Args, v.KeyLog
	}
	if m := p.Memory; m != nil {
		o.Heap, o.MainStack = m.Heap(), m.MainStack
	}
	return o
}

// StopTimeout is how long Stop waits after SIGTERM before it kills the process.
const StopTimeout = 5 * time.Second

// ErrNotBuilt is returned when the binary does not exist.
var ErrNotBuilt = errors.New("the virtual board is not built (run `make virtual-board`)")

// Process is a running virtual board.
type Process struct {
	ConsolePath string

	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
	stderr   *tail
}

// Start runs the virtual board and waits until it names its console.
func Start(ctx context.Context, o Options) (*Process, error) {
	if _, err := os.Stat(o.Binary); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("virtual board %s: %w", o.Binary, ErrNotBuilt)
		}
		return nil, fmt.Errorf("virtual board: %w", err)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	var args []string
	if o.Bind != "" {
		args = append(args, "--bind", o.Bind)
	}
	if o.Link != "" {
		args = append(args, "--link", o.Link)
	}
	if o.Heap > 0 {
		args = append(args, "--heap", strconv.FormatInt(o.Heap, 10))
	}
	if o.MainStack > 0 {
		args = append(args, "--main-stack", strconv.FormatInt(o.MainStack, 10))
	}
	args = append(args, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = os.Environ()
	if o.Secret != "" {
		cmd.Env = append(cmd.Env, "IROH_SECRET="+o.Secret)
	}
	if o.KeyLog != "" {
		cmd.Env = append(cmd.Env, "SSLKEYLOGFILE="+o.KeyLog)
	}
	setProcAttr(cmd)
	st := &tail{}
	var stderr io.Writer = st
	if o.Stderr != nil {
		stderr = io.MultiWriter(o.Stderr, st)
	}
	cmd.Stderr = syncio.NewWriter(stderr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("virtual board: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("virtual board: start %s: %w", o.Binary, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{}), stderr: st}

	announced := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			line := sc.Text()
			if first {
				first = false
				announced <- line
				continue
			}
			// The contract says nothing more comes on stdout; keep it if it does.
			fmt.Fprintf(cmd.Stderr, "(stdout) %s\n", line)
		}
		close(announced)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()

	timer := time.NewTimer(o.StartTimeout)
	defer timer.Stop()
	fail := func(format string, args ...any) (*Process, error) {
		err := fmt.Errorf(format, args...)
		return nil, errors.Join(err, p.Stop())
	}
	select {
	case line, ok := <-announced:
		if !ok {
			<-p.done
			return fail("virtual board exited before naming its console (%v); stderr:\n%s", p.waitErr, st)
		}
		path, found := strings.CutPrefix(line, "console ")
		if !found || path == "" {
			return fail("virtual board: first stdout line %q, want \"console <pty path>\"", line)
		}
		p.ConsolePath = path
		return p, nil
	case <-timer.C:
		return fail("virtual board did not name its console within %v; stderr:\n%s", o.StartTimeout, st)
	case <-ctx.Done():
		return fail("virtual board: %w", context.Cause(ctx))
	}
}

// Pid is the board's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the board (tests use it to kill a board behind the driver's back).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is how the process ended; valid after Done.
func (p *Process) ExitErr() error { return p.waitErr }

// Stderr is the end of what the board wrote on stderr.
func (p *Process) Stderr() string { return p.stderr.String() }

// Stop ends the board: SIGTERM, then SIGKILL (of its process group) after StopTimeout. It
// reports an exit that was not clean (the contract says exit 0 on SIGTERM). Calling it again
// returns the same result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		exit := child.Exit{Done: p.done, Err: func() error { return p.waitErr }}
		p.stopErr = child.Stop("virtual board", p.cmd.Process, exit, StopTimeout, func() { killGroup(p.cmd) })
		if p.stopErr != nil {
			p.stopErr = fmt.Errorf("%w; stderr:\n%s", p.stopErr, p.stderr)
		}
	})
	return p.stopErr
}

// tail keeps the last few KiB of a stream.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append([]byte(nil), t.b[len(t.b)-8192:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
