package containers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/irohconf/irohconf/peercontract"
)

// The Docker runtime: the image irohconf/upstream:<version> (FROM scratch, the binary only) run
// through testcontainers-go with the host's network, so the container's sockets are on the
// host's loopback like any local peer's.

// containerKeyLogDir is where a server in a container writes its key log: the host folder of the
// key log is mounted there, so the host reads the secrets as they are written (a cell's capture
// is decrypted while the server still runs).
const containerKeyLogDir = "/keylog"

// runContainer starts a container of the image with cmd, streams its output into out, and waits
// (up to ReadyTimeout) until readyPattern's first group is printed; onReady gets that text. On
// failure the container is removed before returning.
//
// testcontainers streams a container's output only while the context it was started with
// lives, and the container must outlive the caller's (often short) start context: the start
// runs without ctx's cancellation, bounded by ReadyTimeout instead.
func (u *Upstream) runContainer(ctx context.Context, role string, cmd []string, binds []string, readyPattern string, out *output, onReady func(string) error) (*testcontainers.DockerContainer, error) {
	ctx = context.WithoutCancel(ctx)
	ready := wait.ForLog(readyPattern).AsRegexp().
		WithStartupTimeout(u.opts.ReadyTimeout).
		WithPollInterval(20 * time.Millisecond).
		Submatch(func(_ string, matches [][][]byte) error {
			if len(matches) == 0 {
				return errNotReady
			}
			if onReady == nil {
				return nil
			}
			if err := onReady(string(matches[0][1])); err != nil {
				return wait.NewPermanentError(err)
			}
			return nil
		})
	ctr, err := testcontainers.Run(ctx, u.image,
		testcontainers.WithLogger(printfLogger{u.opts.Log}),
		testcontainers.WithCmd(cmd...),
		testcontainers.WithLabels(u.labels(role)),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
			hc.Binds = append(hc.Binds, binds...)
		}),
		testcontainers.WithLogConsumers(out),
		testcontainers.WithWaitStrategy(ready),
	)
	if err != nil {
		// Run returns the container it created even when the wait failed: remove it.
		if ctr != nil {
			u.completeOutput(context.WithoutCancel(ctx), ctr.GetContainerID(), out)
			if termErr := testcontainers.TerminateContainer(ctr, testcontainers.StopTimeout(0)); termErr != nil {
				err = errors.Join(err, termErr)
			}
		}
		out.end()
		return nil, err
	}
	return ctr, nil
}

func (u *Upstream) serveInContainer(ctx context.Context, args []string, keyLog string) (*Server, error) {
	out := newOutput(u.name()+" serve", u.opts.Log)
	var ready peercontract.Ready
	var binds []string
	if keyLog != "" {
		dir, err := filepath.Abs(filepath.Dir(keyLog))
		if err != nil {
			return nil, err
		}
		binds = append(binds, dir+":"+containerKeyLogDir)
	}
	ctr, err := u.runContainer(ctx, "server", args, binds, peercontract.LogPattern(peercontract.EventReady), out, func(line string) error {
		var err error
		ready, err = peercontract.ParseReady(line)
		return err
	})
	if err != nil {
		return nil, startError(u.name(), err, out)
	}
	id := ctr.GetContainerID()
	s := &Server{Ready: ready, name: u.name() + " serve (container " + id[:12] + ")", out: out, Where: "container " + id[:12]}
	// The live log may lag behind the wait (it polls the engine): find the ready line in it.
	readyCtx, cancel := context.WithTimeout(ctx, u.opts.ReadyTimeout)
	defer cancel()
	if _, next, err := peercontract.WaitReady(readyCtx, stdoutOf(out), 0); err == nil {
		s.afterReady = next
	}
	s.halt = func(ctx context.Context) (int, error) {
		var errs []error
		// SIGTERM, then SIGKILL after the grace (the engine does both); once the container has
		// stopped, testcontainers lets the log stream drain before ending it.
		grace := stopGrace
		if err := ctr.Stop(ctx, &grace); err != nil {
			errs = append(errs, fmt.Errorf("stop: %w", err))
		}
		exitCode := -1
		if inspect, err := u.docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("inspect: %w", err))
		} else if st := inspect.Container.State; st != nil {
			exitCode = st.ExitCode
			if st.OOMKilled {
				errs = append(errs, errors.New("killed: out of memory"))
			}
		}
		u.completeOutput(ctx, id, out)
		if err := testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx)); err != nil {
			errs = append(errs, err)
		}
		out.end()
		return exitCode, errors.Join(errs...)
	}
	return s, nil
}

// completeOutput reads the engine's whole log of a container and adds the lines the live log
// stream had not delivered (its stream is cut when the container stops).
func (u *Upstream) completeOutput(ctx context.Context, id string, out *output) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	logs, err := u.docker.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		fmt.Fprintf(u.opts.Log, "%s: reading the log of %s: %v\n", u.name(), id[:12], err)
		return
	}
	defer logs.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		fmt.Fprintf(u.opts.Log, "%s: reading the log of %s: %v\n", u.name(), id[:12], err)
		return
	}
	out.completeFrom(Stdout, stdout.Bytes())
	out.completeFrom(Stderr, stderr.Bytes())
}

// execTargetContainer starts, once, the container one-shot commands are exec'd into: `idle`,
// which does nothing until stopped.
func (u *Upstream) execTargetContainer(ctx context.Context) (*testcontainers.DockerContainer, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, fmt.Errorf("%s: closed", u.name())
	}
	if u.execTarget != nil {
		return u.execTarget, nil
	}
	out := newOutput(u.name()+" idle", u.opts.Log)
	ctr, err := u.runContainer(ctx, "exec", []string{"idle"}, nil, peercontract.LogPattern("idle"), out, nil)
	if err != nil {
		return nil, startError(u.name()+" idle", err, out)
	}
	u.execTarget, u.execOutput = ctr, out
	return ctr, nil
}

// execInContainer runs the binary with args in the exec container, stdin attached when given.
func (u *Upstream) execInContainer(ctx context.Context, stdin []byte, args []string) (stdout, stderr []byte, exitCode int, err error) {
	ctr, err := u.execTargetContainer(ctx)
	if err != nil {
		return nil, nil, -1, err
	}
	created, err := u.docker.ExecCreate(ctx, ctr.GetContainerID(), client.ExecCreateOptions{
		Cmd:          append([]string{"/iroh-upstream"}, args...),
		AttachStdin:  stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, nil, -1, fmt.Errorf("exec create: %w", err)
	}
	attached, err := u.docker.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, nil, -1, fmt.Errorf("exec attach: %w", err)
	}
	defer attached.Close()
	if stdin != nil {
		go func() {
			_, _ = attached.Conn.Write(stdin)
			_ = attached.CloseWrite()
		}()
	}
	var so, se bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&so, &se, attached.Reader)
		copied <- err
	}()
	select {
	case err := <-copied:
		if err != nil {
			return so.Bytes(), se.Bytes(), -1, fmt.Errorf("exec read: %w", err)
		}
	case <-ctx.Done():
		return so.Bytes(), se.Bytes(), -1, fmt.Errorf("exec: %w", ctx.Err())
	}
	// The engine marks the exec finished shortly after closing its stream.
	for {
		inspect, err := u.docker.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return so.Bytes(), se.Bytes(), -1, fmt.Errorf("exec inspect: %w", err)
		}
		if !inspect.Running {
			return so.Bytes(), se.Bytes(), inspect.ExitCode, nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return so.Bytes(), se.Bytes(), -1, fmt.Errorf("exec: %w", ctx.Err())
		}
	}
}

func (u *Upstream) copyFromExecTarget(ctx context.Context, inside, host string) error {
	u.mu.Lock()
	ctr := u.execTarget
	u.mu.Unlock()
	if ctr == nil {
		return errors.New("no exec container")
	}
	return copyFromContainer(ctx, ctr, inside, host)
}

// copyFromContainer copies one file out of a container to a host path.
func copyFromContainer(ctx context.Context, ctr *testcontainers.DockerContainer, inside, host string) error {
	r, err := ctr.CopyFileFromContainer(ctx, inside)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return err
	}
	f, err := os.Create(host)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
