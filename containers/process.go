package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/irohconf/irohconf/peercontract"
)

// The process runtime: the same static binary the image holds, run on the host. Each process
// gets its own process group, and the whole group is killed when it overstays.

// killGroup signals a process group (the process was started with Setpgid).
func killGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// runProcess runs a one-shot command to its end; ctx ending kills its process group.
func runProcess(ctx context.Context, binary string, stdin []byte, args []string) (stdout, stderr []byte, exitCode int, err error) {
	var so, se bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return so.Bytes(), se.Bytes(), -1, fmt.Errorf("killed: %w", ctx.Err())
	case errors.As(err, &exitErr):
		return so.Bytes(), se.Bytes(), exitErr.ExitCode(), nil
	case err != nil:
		return so.Bytes(), se.Bytes(), -1, err
	}
	return so.Bytes(), se.Bytes(), 0, nil
}

func (u *Upstream) serveAsProcess(ctx context.Context, args []string) (*Server, error) {
	out := newOutput(u.name()+" serve", u.opts.Log)
	cmd := exec.Command(u.binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out.writer(Stdout), out.writer(Stderr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s serve: %w", u.name(), err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit code is read from cmd.ProcessState
		out.end()
		close(exited)
	}()

	s := &Server{name: u.name() + " serve (pid " + strconv.Itoa(cmd.Process.Pid) + ")", out: out, Where: "pid " + strconv.Itoa(cmd.Process.Pid)}
	s.halt = func(ctx context.Context) (int, error) {
		_ = killGroup(cmd, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopGrace):
			_ = killGroup(cmd, syscall.SIGKILL)
			<-exited
			return cmd.ProcessState.ExitCode(), fmt.Errorf("%s did not exit within %s of SIGTERM; killed", s.name, stopGrace)
		case <-ctx.Done():
			_ = killGroup(cmd, syscall.SIGKILL)
			<-exited
			return cmd.ProcessState.ExitCode(), fmt.Errorf("%s: %w; killed", s.name, ctx.Err())
		}
		return cmd.ProcessState.ExitCode(), nil
	}

	readyCtx, cancel := context.WithTimeout(ctx, u.opts.ReadyTimeout)
	defer cancel()
	ready, next, err := peercontract.WaitReady(readyCtx, stdoutOf(out), 0)
	if err != nil {
		_ = killGroup(cmd, syscall.SIGKILL)
		<-exited
		return nil, startError(u.name(), err, out)
	}
	s.Ready, s.afterReady = ready, next
	return s, nil
}
