package containers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/internal/syncio"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/irohconf/irohconf/peercontract"
)

// Version is a pinned upstream iroh version, such as "1.4.1".
type Version string

// Pinned are the versions with a manifest and lockfile in containers/upstream, newest first.
var Pinned = []Version{"1.4.1", "1.0.0"}

// EnvBinDir names the folder holding iroh-upstream-<version>; the default is build/bin of the
// checkout.
const EnvBinDir = "IROHCONF_BIN_DIR"

// Options configure an Upstream.
type Options struct {
	// BinDir holds iroh-upstream-<version>; empty means $IROHCONF_BIN_DIR, else build/bin of
	// the checkout.
	BinDir string
	// Runtime chooses Docker or Process; empty means DetectRuntime.
	Runtime Runtime
	// Log receives every line the peers print (prefixed with who printed it) and what this
	// package does, one line per Write, never two Writes at once; nil discards them.
	Log io.Writer
	// Labels are added to every container, on top of org.irohconf.peer=upstream (a run id lets
	// a caller find its containers).
	Labels map[string]string
	// ReadyTimeout bounds waiting for a server's ready line (default 30 s).
	ReadyTimeout time.Duration
}

// Upstream is one pinned version of upstream iroh, ready to run servers and one-shot commands
// (dial, ticket, key, version). Close releases what it started.
type Upstream struct {
	version  Version
	binary   string
	runtime  Runtime
	fellBack bool
	opts     Options

	docker *client.Client // Docker runtime only
	image  string

	mu      sync.Mutex
	closed  bool
	servers map[*Server]struct{}
	// execTarget is a long-running container (`idle`) the one-shot commands are exec'd into:
	// a docker exec costs a fraction of a container's create, start and remove.
	execTarget *testcontainers.DockerContainer
	execOutput *output
}

// New prepares upstream iroh of version v: finds its binary, picks the runtime and, for Docker,
// builds the image when it is missing or holds another binary.
func New(ctx context.Context, v Version, opts Options) (*Upstream, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	// Lines come from several goroutines (log streams, testcontainers, commands).
	opts.Log = syncio.NewWriter(opts.Log)
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	binary, err := BinaryPath(v, opts.BinDir)
	if err != nil {
		return nil, err
	}
	u := &Upstream{version: v, binary: binary, opts: opts, servers: map[*Server]struct{}{}}
	u.runtime = opts.Runtime
	if u.runtime == "" {
		if u.runtime, u.fellBack, err = detectRuntime(ctx, opts.Log); err != nil {
			return nil, err
		}
	}
	switch u.runtime {
	case Process:
	case Docker:
		if u.docker, err = newDockerClient(); err != nil {
			return nil, fmt.Errorf("docker client: %w", err)
		}
		if err := sweepOrphans(ctx, u.docker, opts.Log); err != nil {
			fmt.Fprintf(opts.Log, "upstream: %v\n", err)
		}
		if u.image, err = ensureImage(ctx, u.docker, v, binary, opts.Log); err != nil {
			u.docker.Close()
			return nil, err
		}
	default:
		return nil, fmt.Errorf("runtime %q: want docker or process", u.runtime)
	}
	return u, nil
}

// BinaryPath is where `make upstream` puts the binary of v; it fails, saying how to build it,
// when the file is not there.
func BinaryPath(v Version, binDir string) (string, error) {
	if binDir == "" {
		binDir = os.Getenv(EnvBinDir)
	}
	if binDir == "" {
		root, err := repo.Root()
		if err != nil {
			return "", err
		}
		binDir = filepath.Join(root, "build", "bin")
	}
	path := filepath.Join(binDir, "iroh-upstream-"+string(v))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("upstream iroh %s: %w (build it with `make upstream`)", v, err)
	}
	return path, nil
}

func (u *Upstream) Version() Version { return u.version }
func (u *Upstream) Runtime() Runtime { return u.runtime }

// RuntimeName is the runtime as reports name it: docker, process, or process-fallback when no
// Docker engine answered.
func (u *Upstream) RuntimeName() string {
	if u.fellBack {
		return FallbackRuntime
	}
	return string(u.runtime)
}

// Image is the image the containers run (Docker runtime), else "".
func (u *Upstream) Image() string { return u.image }

// Binary is the static binary (run directly, or copied into the image).
func (u *Upstream) Binary() string { return u.binary }

func (u *Upstream) name() string { return "upstream-" + string(u.version) }

func (u *Upstream) labels(role string) map[string]string {
	l := map[string]string{"org.irohconf.peer": "upstream", labelVersion: string(u.version), "org.irohconf.role": role, labelOwner: owner}
	for k, v := range u.opts.Labels {
		l[k] = v
	}
	return l
}

// Close stops every server still running and the exec container. It is safe to call twice.
func (u *Upstream) Close() error {
	u.mu.Lock()
	u.closed = true
	servers := make([]*Server, 0, len(u.servers))
	for s := range u.servers {
		servers = append(servers, s)
	}
	target := u.execTarget
	u.execTarget = nil
	u.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Stop(ctx))
	}
	if target != nil {
		errs = append(errs, testcontainers.TerminateContainer(target, testcontainers.StopTimeout(time.Second)))
	}
	if u.docker != nil {
		errs = append(errs, u.docker.Close())
	}
	return errors.Join(errs...)
}

// CommandResult is what a one-shot command printed and how it exited.
type CommandResult struct {
	Args     []string
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Lines are the non-empty lines of stdout.
func (r CommandResult) Lines() []string {
	var lines []string
	for _, l := range strings.Split(string(r.Stdout), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// Run runs one command of the contract (`dial ...`, `ticket decode ...`, `version`) to its
// end, with stdin when given. An error means the command could not be run or waited for; its
// own failure is in ExitCode and its output.
func (u *Upstream) Run(ctx context.Context, stdin []byte, args ...string) (CommandResult, error) {
	res := CommandResult{Args: args}
	var err error
	switch u.runtime {
	case Docker:
		res.Stdout, res.Stderr, res.ExitCode, err = u.execInContainer(ctx, stdin, args)
	default:
		res.Stdout, res.Stderr, res.ExitCode, err = runProcess(ctx, u.binary, stdin, args)
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", u.name(), strings.Join(args, " "), err)
	}
	fmt.Fprintf(u.opts.Log, "%s$ %s (exit %d)\n", u.name(), strings.Join(args, " "), res.ExitCode)
	for _, l := range strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(u.opts.Log, "%s stdout: %s\n", u.name(), l)
		}
	}
	for _, l := range strings.Split(strings.TrimRight(string(res.Stderr), "\n"), "\n") {
		if l != "" {
			fmt.Fprintf(u.opts.Log, "%s stderr: %s\n", u.name(), l)
		}
	}
	return res, nil
}

// DialOptions are the flags of `dial`.
type DialOptions struct {
	// Ticket of the server; or ID and Addrs.
	Ticket string
	ID     string
	Addrs  []string
	// ALPN defaults to echo/0.
	ALPN string
	// Size, Count, Streams: Count echoes of Size bytes, Streams at a time; zero means the
	// program's default (13, 1, 1).
	Size, Count, Streams int
	// Timeout bounds the whole dial (default 10 s); Idle keeps the connection idle after the
	// handshake.
	Timeout, Idle time.Duration
	// Secret fixes the dialer's key (64 hex).
	Secret string
	// KeyLog is a host path the TLS key log is written to.
	KeyLog string
	// Extra flags, passed as they are (--sni, --groups, ...).
	Extra []string
}

// DialResult is dial's result line, with how the program exited (127: unsupported).
type DialResult struct {
	peercontract.Result
	ExitCode int
	Stderr   string
}

// Dial runs `dial` and returns its result line. A refused or failed dial is a result with OK
// false; an error means the test bed broke (the program could not run, or printed no result).
func (u *Upstream) Dial(ctx context.Context, o DialOptions) (DialResult, error) {
	args := []string{"dial"}
	if o.Ticket != "" {
		args = append(args, o.Ticket)
	}
	if o.ID != "" {
		args = append(args, "--id", o.ID)
	}
	for _, a := range o.Addrs {
		args = append(args, "--addr", a)
	}
	if o.ALPN != "" {
		args = append(args, "--alpn", o.ALPN)
	}
	for _, f := range []struct {
		flag string
		n    int
	}{{"--size", o.Size}, {"--count", o.Count}, {"--streams", o.Streams}} {
		if f.n != 0 {
			args = append(args, f.flag, strconv.Itoa(f.n))
		}
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = peercontract.DefaultDialTimeout
	}
	args = append(args, "--timeout", timeout.String())
	if o.Idle > 0 {
		args = append(args, "--idle", o.Idle.String())
	}
	if o.Secret != "" {
		args = append(args, "--secret", o.Secret)
	}
	keylogInside := ""
	if o.KeyLog != "" {
		keylogInside = o.KeyLog
		if u.runtime == Docker {
			// The container's root is its own; the file is copied out after the dial.
			keylogInside = "/keylog-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		}
		args = append(args, "--keylog", keylogInside)
	}
	args = append(args, o.Extra...)

	// The program bounds itself; this bounds waiting for it, with room for it to close.
	ctx, cancel := context.WithTimeout(ctx, timeout+o.Idle+10*time.Second)
	defer cancel()
	res, err := u.Run(ctx, nil, args...)
	if err != nil {
		return DialResult{ExitCode: res.ExitCode}, err
	}
	if o.KeyLog != "" && u.runtime == Docker {
		if err := u.copyFromExecTarget(ctx, keylogInside, o.KeyLog); err != nil {
			fmt.Fprintf(u.opts.Log, "%s: key log: %v\n", u.name(), err)
		}
	}
	out := DialResult{ExitCode: res.ExitCode, Stderr: string(res.Stderr)}
	for _, l := range res.Lines() {
		var probe struct {
			Event string `json:"event"`
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(l), &probe) != nil {
			continue
		}
		switch {
		case probe.Event == peercontract.EventResult:
			if out.Result, err = peercontract.ParseResult(l); err != nil {
				return out, fmt.Errorf("%s: %w", u.name(), err)
			}
			return out, nil
		case probe.Event == "" && probe.Error != "" && res.ExitCode != 0:
			// Invalid input (2) or an unsupported case (127): no result line, an error line.
			out.Event, out.Error = peercontract.EventResult, probe.Error
			return out, nil
		}
	}
	return out, fmt.Errorf("%s: dial printed no result line (exit %d): %s", u.name(), res.ExitCode, bytes.TrimSpace(res.Stderr))
}

// DecodeTicket runs `ticket decode TICKET`: the content, or (exit 2) what is wrong with it.
func (u *Upstream) DecodeTicket(ctx context.Context, ticket string) (peercontract.DecodedTicket, error) {
	d, err := peercontract.DecodeTicket(ctx, u.command, ticket)
	if err != nil {
		return d, fmt.Errorf("%s: %w", u.name(), err)
	}
	return d, nil
}

// DecodeTickets decodes many tickets with one `ticket decode -` (the ones holding a line break,
// which that reads as two, one by one); the answers come in input order.
func (u *Upstream) DecodeTickets(ctx context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	ds, err := peercontract.DecodeTickets(ctx, u.command, tickets)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.name(), err)
	}
	return ds, nil
}

// command is Run as the contract's one-shot command.
func (u *Upstream) command(ctx context.Context, stdin []byte, args ...string) (peercontract.CommandOutput, error) {
	res, err := u.Run(ctx, stdin, args...)
	return peercontract.CommandOutput{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, err
}
