package peercontract

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/irohconf/irohconf/internal/child"
)

// ServeProcess is a contract program's `serve` command running as a child process: started,
// ready (its ready line read), and stopped as the contract says (SIGTERM, exit 0).
type ServeProcess struct {
	Ready Ready

	cmd     *exec.Cmd
	name    string        // for errors
	exited  chan struct{} // closed once the process was waited for
	waitErr error

	stopWithin time.Duration
	stopOnce   sync.Once
	stopErr    error
}

// ServeOptions are what StartServe needs beyond the command.
type ServeOptions struct {
	// Name names the program in errors; empty means the command's file name.
	Name string
	// Line, when set, gets every stdout line as it comes (ready and connection lines included).
	// Every line is read in any case, so that the server never blocks on a full pipe.
	Line func(string)
	// ReadyWithin bounds the wait for the ready line; zero means 30 s.
	ReadyWithin time.Duration
	// StopWithin is how long Stop waits after SIGTERM before it kills; zero means 10 s.
	StopWithin time.Duration
}

// StartServe starts cmd, a contract program's serve command (its Stdout must be unset), and waits
// for its ready line. When the ready line does not come (the program exits, prints something
// else first, takes longer than ReadyWithin, or ctx ends), the process is stopped and the error
// says why.
func StartServe(ctx context.Context, cmd *exec.Cmd, opts ServeOptions) (*ServeProcess, error) {
	name := opts.Name
	if name == "" {
		name = filepath.Base(cmd.Path)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s serve: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s serve: %w", name, err)
	}
	p := &ServeProcess{cmd: cmd, name: name, exited: make(chan struct{})}
	if opts.StopWithin == 0 {
		opts.StopWithin = 10 * time.Second
	}
	p.stopWithin = opts.StopWithin
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for n := 0; sc.Scan(); n++ {
			if opts.Line != nil {
				opts.Line(sc.Text())
			}
			if n == 0 {
				first <- sc.Text()
			}
		}
		close(first)
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	within := opts.ReadyWithin
	if within == 0 {
		within = 30 * time.Second
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case line, ok := <-first:
		if !ok {
			select { // its output ended: it exits, or it keeps running without one
			case <-p.exited:
				return nil, fmt.Errorf("%s serve exited before its ready line: %v", name, p.waitErr)
			case <-timer.C:
				err = fmt.Errorf("%s serve closed its output without a ready line", name)
			}
			break
		}
		if p.Ready, err = ParseReady(line); err != nil {
			return nil, errors.Join(fmt.Errorf("%s serve: %w", name, err), p.Stop())
		}
		return p, nil
	case <-timer.C:
		err = fmt.Errorf("%s serve printed no ready line within %s", name, within)
	case <-ctx.Done():
		err = fmt.Errorf("%s serve: waiting for its ready line: %w", name, context.Cause(ctx))
	}
	return nil, errors.Join(err, p.Stop())
}

// Pid is the process's id.
func (p *ServeProcess) Pid() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *ServeProcess) Exited() <-chan struct{} { return p.exited }

// Stop sends SIGTERM and waits for the exit, killing the process when it has not exited within
// StopWithin. It returns an error when the process had to be killed or did not exit 0; calling it
// again returns the same.
func (p *ServeProcess) Stop() error {
	p.stopOnce.Do(func() {
		exit := child.Exit{Done: p.exited, Err: func() error { return p.waitErr }}
		p.stopErr = child.Stop(p.name+" serve", p.cmd.Process, exit, p.stopWithin, nil)
	})
	return p.stopErr
}
