package peers

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
	"github.com/irohconf/irohconf/iroh/ticket"
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
	cfg := contract.ServeConfig{ALPNs: opts.ALPNs}
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
func waitReadyOrExit(ctx context.Context, log *framework.Tap, mark framework.Mark, done chan error) (readyEvent, error) {
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
func (p *GoPeer) Dial(ctx context.Context, req framework.DialRequest, log *framework.Tap) (framework.DialResult, error) {
	return p.dial(ctx, req, endpoint.DialOptions{}, log)
}

// DialWithSNI dials with the chosen SNI.
func (p *GoPeer) DialWithSNI(ctx context.Context, req framework.DialRequest, sni framework.SNIMode, log *framework.Tap) (framework.DialResult, error) {
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
func (p *GoPeer) DialPostQuantum(ctx context.Context, req framework.DialRequest, log *framework.Tap) (framework.DialResult, error) {
	return p.dial(ctx, req, endpoint.DialOptions{Groups: postQuantumGroups}, log)
}

// DialMisbehaving dials breaking the rules on purpose.
func (p *GoPeer) DialMisbehaving(ctx context.Context, req framework.DialRequest, how framework.Misbehaviour, log *framework.Tap) (framework.DialResult, error) {
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
	case framework.MisbehaveWrongID:
		other, err := key.GenerateSecretKey()
		if err != nil {
			return framework.DialResult{}, err
		}
		t, err := ticket.Parse(req.Ticket)
		if err != nil {
			return framework.DialResult{}, fmt.Errorf("server ticket: %w", err)
		}
		t.ID = other.Public()
		req.Ticket = t.String()
	default:
		return framework.DialResult{}, fmt.Errorf("unknown misbehaviour %q", how)
	}
	return p.dial(ctx, req, opts, log)
}

func (p *GoPeer) dial(ctx context.Context, req framework.DialRequest, opts endpoint.DialOptions, log *framework.Tap) (framework.DialResult, error) {
	t, err := ticket.Parse(req.Ticket)
	if err != nil {
		return framework.DialResult{}, fmt.Errorf("server ticket: %w", err)
	}
	addrs := t.IPAddrs()
	if len(addrs) == 0 {
		return framework.DialResult{}, errors.New("server ticket names no IP address")
	}
	creq := contract.DialRequest{
		ID: t.ID, Addr: addrs[0], ALPN: req.ALPN,
		Size: req.Size, Count: req.Count, Streams: req.Streams,
		Idle: req.Idle, Timeout: req.Timeout, Options: opts,
	}
	if req.Secret != "" {
		sk, err := key.ParseSecretKey(req.Secret)
		if err != nil {
			return framework.DialResult{}, err
		}
		creq.Secret = &sk
	}
	if req.KeyLog != "" {
		f, err := os.Create(req.KeyLog)
		if err != nil {
			return framework.DialResult{}, err
		}
		defer f.Close()
		creq.KeyLog = f
	}
	log.Printf("dial %s at %s alpn=%s size=%d count=%d streams=%d idle=%s", t.ID, addrs[0], req.ALPN, req.Size, req.Count, req.Streams, req.Idle)
	res := contract.Dial(ctx, creq)
	b, _ := json.Marshal(res)
	log.Printf("%s", b)
	var out framework.DialResult
	if err := json.Unmarshal(b, &out); err != nil {
		return framework.DialResult{}, err
	}
	return out, nil
}

// DecodeTickets runs the irohconf binary's `ticket decode -` (make build), so the Go peer is
// checked as a program, like upstream; a ticket with a line break gets a call of its own.
func (p *GoPeer) DecodeTickets(ctx context.Context, tickets []string) ([]framework.DecodedTicket, error) {
	bin := filepath.Join(RepoRoot(), "build", "bin", "irohconf")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the irohconf binary is not built (make build): %w", err)
	}
	out := make([]framework.DecodedTicket, len(tickets))
	var batch []string
	var index []int
	for i, t := range tickets {
		if strings.ContainsAny(t, "\r\n") {
			res, err := exec.CommandContext(ctx, bin, "ticket", "decode", t).Output()
			var exit *exec.ExitError
			if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 2) {
				return nil, fmt.Errorf("irohconf ticket decode: %w", err)
			}
			if err := json.Unmarshal(res, &out[i]); err != nil {
				return nil, fmt.Errorf("irohconf ticket decode: answer is not JSON: %w: %s", err, res)
			}
			out[i].Ticket = t
			continue
		}
		batch, index = append(batch, t), append(index, i)
	}
	cmd := exec.CommandContext(ctx, bin, "ticket", "decode", "-")
	cmd.Stdin = strings.NewReader(strings.Join(batch, "\n") + "\n")
	res, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("irohconf ticket decode -: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(res), "\n"), "\n")
	if len(lines) != len(batch) {
		return nil, fmt.Errorf("irohconf ticket decode -: %d answers for %d tickets", len(lines), len(batch))
	}
	for j, l := range lines {
		i := index[j]
		if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
			return nil, fmt.Errorf("irohconf ticket decode -: answer %d is not JSON: %w: %s", j+1, err, l)
		}
		out[i].Ticket = tickets[i] // JSON cannot carry bytes that are not UTF-8 as they were
	}
	return out, nil
}
