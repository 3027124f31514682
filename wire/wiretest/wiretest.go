// Package wiretest runs the Go peer through an in-path relay for the tests and benchmarks of
// the wire packages: a Go echo server, a relay in front of it writing wire.pcapng, and a Go
// client that dials the relay, each side writing its TLS key log next to the capture.
package wiretest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/irohconf/irohconf/internal/syncio"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/relay"
)

// File names in a run's directory, as a cell of the matrix lays them out.
const (
	CaptureFile      = "wire.pcapng"
	ClientKeyLogFile = "keylog-client.txt"
	ServerKeyLogFile = "keylog-server.txt"
)

// Options describe one run.
type Options struct {
	// Profile and Seed go to the relay.
	Profile faults.Profile
	Seed    uint64
	// ALPN is what the client dials; empty means echo.ALPN. The server serves echo.ALPNs.
	ALPN string
	// Echo is what the client runs once connected; a zero Size and Count means one 13-byte echo.
	Echo echo.Options
	// Timeout bounds the dial and the echo together; zero means 60 s.
	Timeout time.Duration
	// Dir receives the capture and the key logs; empty means a new t.TempDir().
	Dir string
	// NoCapture runs the relay without a capture (for measuring the capture's cost).
	NoCapture bool
}

// Run is what happened.
type Run struct {
	Dir     string
	Server  *endpoint.Endpoint // closed when Echo returns
	Records []relay.Record
	// DialErr and EchoErr are the client's errors; Echo records them rather than failing, since
	// some runs are meant to fail.
	DialErr, EchoErr error
	// Client is the client's record of its connection (zero when the dial failed).
	Client endpoint.Record
	Echo   echo.Result
}

// Capture is the path of the run's capture.
func (r Run) Capture() string { return filepath.Join(r.Dir, CaptureFile) }

// KeyLogs are the paths of both sides' key logs.
func (r Run) KeyLogs() []string {
	return []string{filepath.Join(r.Dir, ClientKeyLogFile), filepath.Join(r.Dir, ServerKeyLogFile)}
}

// Echo runs a Go client against a Go echo server through a relay, and closes everything before
// it returns. Setting-up failures end the test; the client's errors are in the Run.
func Echo(t testing.TB, opts Options) (run Run) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.ALPN == "" {
		opts.ALPN = echo.ALPN
	}
	if opts.Echo.Size == 0 && opts.Echo.Count == 0 {
		opts.Echo.Size = 13
	}
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	run.Dir = opts.Dir
	// Closed in reverse order of start, except that the relay goes last so that both peers'
	// last datagrams are in the capture.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	srvLog, closeSrvLog := keyLog(t, filepath.Join(opts.Dir, ServerKeyLogFile))
	cleanups = append(cleanups, closeSrvLog)
	cliLog, closeCliLog := keyLog(t, filepath.Join(opts.Dir, ClientKeyLogFile))
	cleanups = append(cleanups, closeCliLog)

	// The relay closes after both peers, so that their last datagrams are in the capture.
	var rl *relay.Relay
	cleanups = append(cleanups, func() {
		if rl != nil {
			closeOrFail(t, "relay", rl.Close)
			run.Records = rl.Records()
		}
	})

	served := make(chan endpoint.Record, 4)
	srv, err := endpoint.Listen(context.Background(), endpoint.Config{
		Handlers: (&echo.Server{CloseWait: opts.Timeout}).Handlers(),
		KeyLog:   srvLog,
		OnConnection: func(r endpoint.Record) {
			select {
			case served <- r:
			default:
			}
		},
	})
	if err != nil {
		t.Fatalf("wiretest: server: %v", err)
	}
	run.Server = srv
	cleanups = append(cleanups, func() { closeOrFail(t, "server", srv.Close) })

	rcfg := relay.Config{Target: srv.Addr(), Profile: opts.Profile, Seed: opts.Seed}
	if !opts.NoCapture {
		rcfg.CapturePath = filepath.Join(opts.Dir, CaptureFile)
	}
	if rl, err = relay.Start(rcfg); err != nil {
		t.Fatalf("wiretest: relay: %v", err)
	}

	cl, err := endpoint.Listen(context.Background(), endpoint.Config{KeyLog: cliLog})
	if err != nil {
		t.Fatalf("wiretest: client: %v", err)
	}
	cleanups = append(cleanups, func() { closeOrFail(t, "client", cl.Close) })

	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	c, err := cl.Dial(ctx, srv.ID(), rl.Addr(), opts.ALPN, endpoint.DialOptions{})
	if err != nil {
		run.DialErr = err
		// A refusal's CONNECTION_CLOSE may still be on its way through a delaying relay.
		waitServed(served, time.Second)
		return run
	}
	run.Echo, run.EchoErr = echo.Run(ctx, c, opts.Echo)
	_ = c.Close(0, echo.CloseReason)
	<-c.Context().Done()
	run.Client = c.Record()
	// The server reports the connection once it saw the client's close; under loss the close may
	// not arrive, and the server then ends with the endpoint.
	waitServed(served, 3*time.Second)
	return run
}

func waitServed(served <-chan endpoint.Record, limit time.Duration) {
	select {
	case <-served:
	case <-time.After(limit):
	}
}

func keyLog(t testing.TB, path string) (*syncio.Writer, func()) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("wiretest: %v", err)
	}
	return syncio.NewWriter(f), func() { closeOrFail(t, path, f.Close) }
}

func closeOrFail(t testing.TB, what string, close func() error) {
	if err := close(); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Errorf("wiretest: closing the %s: %v", what, err)
	}
}

// Describe is a run's outcome in one line, for test logs.
func (r Run) Describe() string {
	return fmt.Sprintf("dial err %v, echo err %v, %d bytes echoed, %d datagrams through the relay", r.DialErr, r.EchoErr, r.Echo.Bytes, len(r.Records))
}
