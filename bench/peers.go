package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	docker "github.com/moby/moby/client"
	"go.yaml.in/yaml/v3"

	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/peercontract"
)

// The ALPNs the benchmark servers serve: echo, and the contract's upload protocol.
const (
	echoALPN   = "echo/0"
	uploadALPN = "irohconf/upload/0"
)

// declared is what a peer's manifest (suites/peers/manifests) declares that the measures need.
type declared struct {
	ALPNs  []string `yaml:"alpns"`
	Limits struct {
		ConcurrentBidiStreams int `yaml:"concurrent_bidi_streams"`
		MaxEchoPayload        int `yaml:"max_echo_payload"`
	} `yaml:"limits"`
}

func loadDeclared(root, kind string) (declared, error) {
	var d declared
	path := filepath.Join(root, "suites", "peers", "manifests", kind+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		return d, fmt.Errorf("manifest of %s: %w", kind, err)
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// dialResult is the part of dial's result line the measures read.
type dialResult struct {
	Event        string    `json:"event"`
	OK           bool      `json:"ok"`
	Error        string    `json:"error"`
	HandshakesMS []float64 `json:"handshakes_ms"`
	Connections  int       `json:"connections"`
	EchoMS       []float64 `json:"echo_ms"`
	Bytes        int64     `json:"bytes"`
}

// parseDial finds the result line in a dial's stdout.
func parseDial(who string, stdout []byte, exit int, stderr []byte) (dialResult, error) {
	var r dialResult
	for _, l := range bytes.Split(stdout, []byte("\n")) {
		if json.Unmarshal(l, &r) == nil && r.Event == "result" {
			if !r.OK {
				return r, fmt.Errorf("%s dial failed (exit %d): %s", who, exit, r.Error)
			}
			return r, nil
		}
	}
	return r, fmt.Errorf("%s dial printed no result line (exit %d): %s %s", who, exit, bytes.TrimSpace(stdout), bytes.TrimSpace(stderr))
}

// A client runs dial with the contract's flags and says how much CPU the dialing took.
type client interface {
	Name() string
	Dial(ctx context.Context, args []string) (dialResult, time.Duration, error)
	Close() error
}

// programClient runs a contract program (the irohconf binary, upstream as a process) per dial;
// its CPU time is the exited process's rusage.
type programClient struct {
	name, binary string
	log          io.Writer
}

func (c *programClient) Name() string { return c.name }
func (c *programClient) Close() error { return nil }

func (c *programClient) Dial(ctx context.Context, args []string) (dialResult, time.Duration, error) {
	var so, se bytes.Buffer
	cmd := exec.CommandContext(ctx, c.binary, append([]string{"dial"}, args...)...)
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	fmt.Fprintf(c.log, "%s$ dial %s\n%s%s", c.name, strings.Join(args, " "), so.Bytes(), se.Bytes())
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return dialResult{}, 0, fmt.Errorf("%s dial: %w", c.name, err)
	}
	var cpu time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	r, err := parseDial(c.name, so.Bytes(), cmd.ProcessState.ExitCode(), se.Bytes())
	return r, cpu, err
}

// containerClient runs dial through containers/ (docker exec into one long-running container);
// its CPU time is that container's cgroup's usage over the dial.
type containerClient struct {
	name    string
	u       *containers.Upstream
	cpuFile string
	log     io.Writer
}

func newUpstreamClient(ctx context.Context, v containers.Version, token string, log io.Writer) (client, error) {
	name := "upstream-" + string(v)
	token += "-" + string(v)
	u, err := containers.New(ctx, v, containers.Options{Log: log, Labels: map[string]string{labelBench: token}})
	if err != nil {
		return nil, err
	}
	if u.Runtime() == containers.Process {
		u.Close()
		return &programClient{name: name, binary: u.Binary(), log: log}, nil
	}
	// The first command starts the container the dials are exec'd into.
	if res, err := u.Run(ctx, nil, "version"); err != nil || res.ExitCode != 0 {
		u.Close()
		return nil, fmt.Errorf("%s version: exit %d: %v", name, res.ExitCode, err)
	}
	pid, err := containerPid(ctx, token, "exec")
	if err == nil {
		var file string
		if file, err = cgroupCPUFile(pid); err == nil {
			return &containerClient{name: name, u: u, cpuFile: file, log: log}, nil
		}
	}
	u.Close()
	return nil, fmt.Errorf("%s: the dialing container's CPU accounting: %w", name, err)
}

func (c *containerClient) Name() string { return c.name }
func (c *containerClient) Close() error { return c.u.Close() }

func (c *containerClient) Dial(ctx context.Context, args []string) (dialResult, time.Duration, error) {
	before, err := cgroupCPU(c.cpuFile)
	if err != nil {
		return dialResult{}, 0, err
	}
	res, err := c.u.Run(ctx, nil, append([]string{"dial"}, args...)...)
	if err != nil {
		return dialResult{}, 0, err
	}
	after, err := cgroupCPU(c.cpuFile)
	if err != nil {
		return dialResult{}, 0, err
	}
	r, err := parseDial(c.name, res.Stdout, res.ExitCode, res.Stderr)
	return r, after - before, err
}

// labelBench marks the containers of one benchmark run, so their cgroups can be found.
const labelBench = "org.irohconf.bench"

// containerPid is the main process of the run's container with the given role.
func containerPid(ctx context.Context, token, role string) (int, error) {
	cli, err := docker.New(docker.FromEnv, docker.WithAPIVersionNegotiation())
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, docker.ContainerListOptions{
		Filters: make(docker.Filters).Add("label", labelBench+"="+token).Add("label", "org.irohconf.role="+role),
	})
	if err != nil {
		return 0, err
	}
	if len(list.Items) != 1 {
		return 0, fmt.Errorf("%d running containers labelled %s=%s, role %s; want 1", len(list.Items), labelBench, token, role)
	}
	inspect, err := cli.ContainerInspect(ctx, list.Items[0].ID, docker.ContainerInspectOptions{})
	if err != nil {
		return 0, err
	}
	if inspect.Container.State == nil || inspect.Container.State.Pid == 0 {
		return 0, fmt.Errorf("container %.12s has no process", list.Items[0].ID)
	}
	return inspect.Container.State.Pid, nil
}

// A server serves echo (and upload where it can) and says how much CPU it has used so far.
type server interface {
	Name() string
	Ticket() string
	CPU() (time.Duration, error)
	Stop() error
}

// cpuReader reads a server's cumulative CPU time.
type cpuReader func() (time.Duration, error)

func processCPUReader(pid int) cpuReader {
	return func() (time.Duration, error) { return processCPU(pid) }
}

// goServer is `irohconf serve` as a process.
type goServer struct {
	p *peercontract.ServeProcess
}

func startGoServer(ctx context.Context, binary string, log io.Writer) (*goServer, error) {
	cmd := exec.Command(binary, "serve", "--bind", "127.0.0.1:0", "--alpn", echoALPN, "--alpn", uploadALPN)
	cmd.Stderr = log
	p, err := peercontract.StartServe(ctx, cmd, peercontract.ServeOptions{
		Name:        "go",
		Line:        func(l string) { fmt.Fprintf(log, "go serve: %s\n", l) },
		ReadyWithin: 15 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	return &goServer{p: p}, nil
}

func (s *goServer) Name() string                { return "go" }
func (s *goServer) Ticket() string              { return s.p.Ready.Ticket }
func (s *goServer) CPU() (time.Duration, error) { return processCPU(s.p.Pid()) }
func (s *goServer) Stop() error                 { return s.p.Stop() }

// upstreamServer is upstream's `serve` through containers/: its CPU is its container's cgroup
// (Docker) or its process's.
type upstreamServer struct {
	name string
	u    *containers.Upstream
	s    *containers.Server
	cpu  cpuReader
}

func startUpstreamServer(ctx context.Context, v containers.Version, token string, log io.Writer) (*upstreamServer, error) {
	name := "upstream-" + string(v)
	token += "-" + string(v)
	u, err := containers.New(ctx, v, containers.Options{Log: log, Labels: map[string]string{labelBench: token}})
	if err != nil {
		return nil, err
	}
	s, err := u.Serve(ctx, containers.ServeOptions{ALPNs: []string{echoALPN, uploadALPN}})
	if err != nil {
		return nil, errors.Join(err, u.Close())
	}
	us := &upstreamServer{name: name, u: u, s: s}
	fail := func(err error) (*upstreamServer, error) {
		return nil, errors.Join(fmt.Errorf("%s serve: CPU accounting: %w", name, err), us.Stop())
	}
	if u.Runtime() == containers.Docker {
		pid, err := containerPid(ctx, token, "server")
		if err != nil {
			return fail(err)
		}
		file, err := cgroupCPUFile(pid)
		if err != nil {
			return fail(err)
		}
		us.cpu = func() (time.Duration, error) { return cgroupCPU(file) }
	} else {
		pid, err := pidOfAddr(s.Ready.Addrs)
		if err != nil {
			return fail(err)
		}
		us.cpu = processCPUReader(pid)
	}
	return us, nil
}

func (s *upstreamServer) Name() string                { return s.name }
func (s *upstreamServer) Ticket() string              { return s.s.Ready.Ticket }
func (s *upstreamServer) CPU() (time.Duration, error) { return s.cpu() }
func (s *upstreamServer) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(s.s.Stop(ctx), s.u.Close())
}

func pidOfAddr(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, errors.New("no address")
	}
	ap, err := netip.ParseAddrPort(addrs[0])
	if err != nil {
		return 0, err
	}
	return pidOfUDPPort(ap.Port())
}

// boardServer is the virtual board, through hil/board; its CPU is its process's.
type boardServer struct {
	b      *board.Board
	ticket string
	cpu    cpuReader
	once   sync.Once
	err    error
}

func startVirtualBoard(ctx context.Context, root string, log io.Writer) (*boardServer, error) {
	p, err := profile.Load(filepath.Join(root, "fixtures", "boards", "virtual.yaml"))
	if err != nil {
		return nil, err
	}
	b, err := board.Open(ctx, p, log)
	if err != nil {
		return nil, err
	}
	info, err := b.Boot(ctx)
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	pid, err := pidOfUDPPort(info.Addr.Port())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("virtual board: CPU accounting: %w", err), b.Close())
	}
	return &boardServer{b: b, ticket: info.Ticket, cpu: processCPUReader(pid)}, nil
}

func (s *boardServer) Name() string                { return "virtual-board" }
func (s *boardServer) Ticket() string              { return s.ticket }
func (s *boardServer) CPU() (time.Duration, error) { return s.cpu() }
func (s *boardServer) Stop() error {
	s.once.Do(func() { s.err = s.b.Close() })
	return s.err
}
