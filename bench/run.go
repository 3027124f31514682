package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/reports"
)

// Run is one run of the matrix: bench.json.
type Run struct {
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Host     map[string]string `json:"host"`
	Load     string            `json:"load_before"` // /proc/loadavg when the run began
	Plan     Plan              `json:"plan"`
	Clients  []string          `json:"clients"`
	Servers  []string          `json:"servers"`
	Limits   []Limit           `json:"limits"`
	Results  []Result          `json:"results"`
	Problems []string          `json:"problems,omitempty"` // peers that could not start, and why
}

// Config says where the programs are and what to run.
type Config struct {
	Root        string // the checkout
	IrohconfBin string // build/bin/irohconf
	AEADExample string // the firmware crypto crate's aead_throughput example
	Versions    []containers.Version
	Plan        Plan
	LimitFor    time.Duration // how long each limit runs
	Log         io.Writer     // the peers' output
	Progress    io.Writer     // one line per measure
}

// Execute measures the limits, then every pair, one pair at a time.
func Execute(ctx context.Context, cfg Config) (*Run, error) {
	run := &Run{Started: time.Now().UTC(), Host: reports.HostInfo(), Plan: cfg.Plan}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		run.Load = string(b[:len(b)-1])
	}
	fmt.Fprintf(cfg.Progress, "bench: load average before the run: %s (the numbers are noisy when other work shares the cores)\n", run.Load)

	run.Limits = measureLimits(ctx, cfg.AEADExample, cfg.LimitFor)
	for _, l := range run.Limits {
		if l.Error != "" {
			fmt.Fprintf(cfg.Progress, "limit %-20s error: %s\n", l.Name, l.Error)
		} else {
			fmt.Fprintf(cfg.Progress, "limit %-20s %s MB/s\n", l.Name, num(l.MBps))
		}
	}

	token := strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(run.Started.UnixNano(), 36)
	goDecl, err := loadDeclared(cfg.Root, "go")
	if err != nil {
		return nil, err
	}
	upDecl, err := loadDeclared(cfg.Root, "upstream")
	if err != nil {
		return nil, err
	}
	boardDecl, err := loadDeclared(cfg.Root, "virtual-board")
	if err != nil {
		return nil, err
	}

	// Clients: each started once for the whole run.
	type decl struct {
		c client
		d declared
	}
	clients := []decl{{&programClient{name: "go", binary: cfg.IrohconfBin, log: cfg.Log}, goDecl}}
	for _, v := range cfg.Versions {
		c, err := newUpstreamClient(ctx, v, token, cfg.Log)
		if err != nil {
			run.Problems = append(run.Problems, fmt.Sprintf("client upstream-%s: %v", v, err))
			continue
		}
		defer c.Close()
		clients = append(clients, decl{c, upDecl})
	}
	for _, c := range clients {
		run.Clients = append(run.Clients, c.c.Name())
	}

	// Servers: one at a time, each serving every client in turn.
	type serverKind struct {
		name         string
		d            declared
		board        bool
		servesUpload bool
		start        func() (server, error)
	}
	kinds := []serverKind{{"go", goDecl, false, true, func() (server, error) { return startGoServer(ctx, cfg.IrohconfBin, cfg.Log) }}}
	for _, v := range cfg.Versions {
		kinds = append(kinds, serverKind{"upstream-" + string(v), upDecl, false, true, func() (server, error) {
			return startUpstreamServer(ctx, v, token, cfg.Log)
		}})
	}
	kinds = append(kinds, serverKind{"virtual-board", boardDecl, true, false, func() (server, error) {
		return startVirtualBoard(ctx, cfg.Root, cfg.Log)
	}})
	for _, k := range kinds {
		run.Servers = append(run.Servers, k.name)
		s, err := k.start()
		if err != nil {
			run.Problems = append(run.Problems, fmt.Sprintf("server %s: %v", k.name, err))
			fmt.Fprintf(cfg.Progress, "server %s did not start: %v\n", k.name, err)
			for _, c := range clients {
				run.Results = append(run.Results, errorResults(c.c.Name(), k.name, err)...)
			}
			continue
		}
		for _, c := range clients {
			if ctx.Err() != nil {
				break
			}
			run.Results = append(run.Results, runPair(ctx, pair{
				client: c.c, server: s, clientDecl: c.d, serverDecl: k.d, isBoard: k.board, servesUpload: k.servesUpload,
			}, cfg.Plan, cfg.Progress)...)
		}
		if err := s.Stop(); err != nil {
			run.Problems = append(run.Problems, fmt.Sprintf("server %s: stopping: %v", k.name, err))
		}
	}
	run.Seconds = time.Since(run.Started).Seconds()
	if ctx.Err() != nil {
		return run, ctx.Err()
	}
	return run, nil
}

// errorResults marks every measure of a pair whose server did not start.
func errorResults(client, server string, err error) []Result {
	var out []Result
	for _, m := range Measures {
		out = append(out, Result{Client: client, Server: server, Measure: m.Name, Unit: m.Unit, Samples: []float64{}, Outcome: "error", Reason: "the server did not start: " + err.Error()})
	}
	return out
}

// runDirLayout names a run folder by its UTC start, as the suites' runs are named.
const runDirLayout = "2006-01-02T15-04-05Z"

// NewRunDir creates <root>/<UTC start>/ (with -2, -3... when taken).
func NewRunDir(root string, start time.Time) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	base := start.UTC().Format(runDirLayout)
	for n := 1; n < 100; n++ {
		name := base
		if n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: too many runs named %s", root, base)
}

// PointLatest makes <root>/latest a relative symlink to the run folder dir, replacing the old
// link in one rename.
func PointLatest(dir string) error {
	root := filepath.Dir(dir)
	link := filepath.Join(root, "latest")
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symlink", link)
	}
	tmp := link + ".tmp-" + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(dir), tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}
