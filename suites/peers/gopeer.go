package peers

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/suites/framework"
)

// GoPeer runs the Go peer in the suite's own process: the same code as `irohconf serve` and
// `irohconf dial` (package contract), without a process in between.
type GoPeer struct {
	manifest framework.Manifest
}

// NewGoPeer returns the Go peer with its declared manifest.
func NewGoPeer() (*GoPeer, error) {
	m, err := Manifest("go")
	if err != nil {
		return nil, err
	}
	return &GoPeer{manifest: m}, nil
}

func (p *GoPeer) Manifest() framework.Manifest { return p.manifest }
func (p *GoPeer) Version() string              { return contract.Version() }
func (p *GoPeer) Runtime() string              { return reports.RuntimeInProcess }

// Prepare checks that this binary was built with the crypto/tls overlay.
func (p *GoPeer) Prepare(context.Context) error { return rpk.Available() }

// StartServer serves echo in-process; its contract lines go to log.
func (p *GoPeer) StartServer(ctx context.Context, opts framework.ServerOptions, log *framework.Tap) (framework.Server, error) {
	cfg := contract.ServeConfig{ALPNs: opts.ALPNs, Bind: opts.Bind}
	if opts.Secret != "" {
		sk, err := key.ParseSecretKey(opts.Secret)
		if err != nil {
			return nil, err
		}
		cfg.Secret = &sk
	}
	var keylog *os.File
	if opts.KeyLogDir != "" {
		f, err := os.Create(opts.KeyLogDir + "/keylog-server.txt")
		if err != nil {
			return nil, err
		}
		keylog, cfg.KeyLog = f, f
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	mark := log.Mark()
	go func() {
		done <- contract.Serve(sctx, cfg, func(v any) {
			b, _ := json.Marshal(v)
			log.Printf("%s", b)
		})
	}()
	var once sync.Once
	var stopErr error
	stop := func(ctx context.Context) error {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				stopErr = err
			case <-ctx.Done():
				stopErr = fmt.Errorf("go server did not stop: %w", ctx.Err())
			}
			if keylog != nil {
				keylog.Close()
			}
		})
		return stopErr
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	ready, err := waitReadyOrExit(rctx, log, mark, done)
	if err != nil {
		_ = stop(context.Background())
		return nil, err
	}
	return &contractServer{ready: ready, tap: log, since: mark, stop: stop}, nil
}

// waitReadyOrExit waits for the ready line, or for the server to give up starting.
func waitReadyOrExit(ctx context.Context, log *framework.Tap, mark framework.Mark, done chan error) (peercontract.Ready, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err := <-done:
			done <- err // keep it for stop
			cancel(fmt.Errorf("server exited before it was ready: %v", err))
		case <-ctx.Done():
		}
	}()
	return waitReady(ctx, log, mark)
}

// Dial dials in-process.
func (p *GoPeer) Dial(ctx context.Context, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
	return p.dial(ctx, req, endpoint.DialOptions{}, log)
}

// DialWithSNI dials with the chosen SNI.
func (p *GoPeer) DialWithSNI(ctx context.Context, req framework.DialRequest, sni framework.SNIMode, log *framework.Tap) (peercontract.Result, error) {
	opts := endpoint.DialOptions{SNI: rpk.SNINone}
	if sni == framework.SNIIrohInvalid {
		opts.SNI = rpk.SNIIrohInvalid
	}
	return p.dial(ctx, req, opts, log)
}

// postQuantumGroups puts X25519MLKEM768 first: its 1.2 kB key share makes the ClientHello span
// two QUIC Initial packets.
var postQuantumGroups = []tls.CurveID{tls.X25519MLKEM768, tls.X25519}

// DialPostQuantum dials with a post-quantum key share first.
func (p *GoPeer) DialPostQuantum(ctx context.Context, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
	return p.dial(ctx, req, endpoint.DialOptions{Groups: postQuantumGroups}, log)
}

// DialMisbehaving dials breaking the rules on purpose.
func (p *GoPeer) DialMisbehaving(ctx context.Context, req framework.DialRequest, how framework.Misbehaviour, log *framework.Tap) (peercontract.Result, error) {
	var opts endpoint.DialOptions
	switch how {
	case framework.MisbehavePlainX509:
		opts.PlainX509 = true
	case framework.MisbehaveNoClientKey:
		opts.NoClientKey = true
	case framework.MisbehaveUnknownALPN:
		req.ALPN = "irohconf/unserved/0"
	case framework.MisbehaveUnknownALPNLargeHello:
		req.ALPN = "irohconf/unserved/0"
		opts.Groups = postQuantumGroups
	default:
		return peercontract.Result{}, fmt.Errorf("unknown misbehaviour %q", how)
	}
	return p.dial(ctx, req, opts, log)
}

func (p *GoPeer) dial(ctx context.Context, req framework.DialRequest, opts endpoint.DialOptions, log *framework.Tap) (peercontract.Result, error) {
	t, err := ticket.Parse(req.Ticket)
	if err != nil {
		return peercontract.Result{}, fmt.Errorf("server ticket: %w", err)
	}
	addrs := t.IPAddrs()
	if len(addrs) == 0 {
		return peercontract.Result{}, errors.New("server ticket names no IP address")
	}
	creq := contract.DialRequest{
		ID: t.ID, Addr: addrs[0], ALPN: req.ALPN,
		Size: req.Size, Count: req.Count, Streams: req.Streams,
		Idle: req.Idle, Timeout: req.Timeout, Options: opts,
	}
	if req.Secret != "" {
		sk, err := key.ParseSecretKey(req.Secret)
		if err != nil {
			return peercontract.Result{}, err
		}
		creq.Secret = &sk
	}
	if req.KeyLog != "" {
		f, err := os.Create(req.KeyLog)
		if err != nil {
			return peercontract.Result{}, err
		}
		defer f.Close()
		creq.KeyLog = f
	}
	log.Printf("dial %s at %s alpn=%s size=%d count=%d streams=%d idle=%s", t.ID, addrs[0], req.ALPN, req.Size, req.Count, req.Streams, req.Idle)
	res := contract.Dial(ctx, creq)
	b, _ := json.Marshal(res)
	log.Printf("%s", b)
	return res, nil
}

// DecodeTickets runs the irohconf binary's `ticket decode -` (make build), so the Go peer is
// checked as a program, like upstream.
func (p *GoPeer) DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	bin := filepath.Join(RepoRoot(), "build", "bin", "irohconf")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the irohconf binary is not built (make build): %w", err)
	}
	ds, err := peercontract.DecodeTickets(ctx, programCommand(bin), tickets)
	if err != nil {
		return nil, fmt.Errorf("irohconf %w", err)
	}
	return ds, nil
}

// programCommand runs a peer's program as the contract's one-shot command.
func programCommand(bin string) peercontract.Command {
	return func(ctx context.Context, stdin []byte, args ...string) (peercontract.CommandOutput, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		out := peercontract.CommandOutput{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			out.ExitCode, err = exit.ExitCode(), nil
		}
		return out, err
	}
}
