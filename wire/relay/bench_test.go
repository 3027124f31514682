package relay_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/wire/relay"
)

// benchSize is one echo's payload: well past every flow-control window, long enough for the
// congestion controller to reach its rate.
const benchSize = 16 << 20

// paths are the ways an echo goes: straight to the server, through a relay, and through a relay
// writing its capture to a file, as every cell's relay does.
var paths = []string{"direct", "relay", "relay+capture"}

// benchPeers are the programs echoing, each as client and server of itself: the Go peer, and
// upstream iroh, whose server listens on [::1] as in a cell so that its client cannot open a
// path around the relay.
var benchPeers = []struct{ name, bin, bind string }{
	{"go", "irohconf", "127.0.0.1:0"},
	{"upstream-1.4.1", "iroh-upstream-1.4.1", "[::1]:0"},
}

// BenchmarkEcho16MiB measures what the relay costs a bulk echo as a cell makes it: the peers are
// processes (the programs the suites run), the relay runs in this process (as in the suite's),
// and the three paths are measured side by side: each iteration is a round that echoes once
// over every path, in an order that rotates from round to round, so that the machine's load
// swings fall on all three alike. The time is the client's own (echo_ms: stream open to the
// last byte back); each echo has a new client process, connection and relay, whose Close writes
// the capture. It reports each path's MB/s (payload one way, median over the rounds) and the
// relay's cost as the median of the per-round losses against the direct echo of the same round,
// and the relay's own CPU per echo (this process's, from the relay's start to its Close: capture
// written included), which load on the machine moves far less than throughput.
//
// Each pair runs in two placements (placements): on shared cores, as cells run, where two peers
// that keep every core busy give up the relay's CPU to it; and with the relay on a core of its
// own, which leaves what the extra hop costs the transfer itself.
func BenchmarkEcho16MiB(b *testing.B) {
	for _, p := range benchPeers {
		for _, pl := range placements() {
			b.Run(p.name+"/"+pl.name, func(b *testing.B) {
				bin, err := repo.Path("build", "bin", p.bin)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := os.Stat(bin); err != nil {
					b.Fatalf("%v: `make build upstream` builds the peers", err)
				}
				if pl.unsupported != "" {
					b.Skipf("unsupported: %s", pl.unsupported)
				}
				restore, err := pinProcess(pl.relayCPUs)
				if err != nil {
					b.Fatal(err)
				}
				defer restore()
				benchmarkEcho(b, bin, p.bind, pl)
			})
		}
	}
}

// placement is where the benchmark's processes run: the peers on peerCPUs (taskset's list
// syntax), this process (the relay) on relayCPUs; empty for anywhere.
type placement struct {
	name                string
	peerCPUs, relayCPUs string
	unsupported         string // why this machine cannot give the placement
}

func placements() []placement {
	n := runtime.NumCPU()
	own := placement{name: "relay-own-core", peerCPUs: fmt.Sprintf("0-%d", n-2), relayCPUs: strconv.Itoa(n - 1)}
	if n < 2 {
		own.unsupported = "a core of the relay's own needs a machine with 2 cores or more"
	} else if _, err := exec.LookPath("taskset"); err != nil {
		own.unsupported = "placing the peers on cores needs taskset (util-linux): " + err.Error()
	}
	return []placement{{name: "shared-cores"}, own}
}

// peerCommand is the command that runs a peer program where the placement puts peers.
func (pl placement) peerCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if pl.peerCPUs == "" {
		return exec.CommandContext(ctx, bin, args...)
	}
	// taskset sets the affinity before the program starts, so every thread it makes inherits it.
	return exec.CommandContext(ctx, "taskset", append([]string{"--cpu-list", pl.peerCPUs, bin}, args...)...)
}

// pinProcess puts every thread of this process on cpus (none: it stays where it is) and returns
// what puts them back. New threads inherit the affinity of the thread that makes them.
func pinProcess(cpus string) (func(), error) {
	if cpus == "" {
		return func() {}, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, err
	}
	for _, c := range strings.Split(cpus, ",") {
		i, err := strconv.Atoi(c)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", cpus, err)
		}
		set.Set(i)
	}
	if err := setThreadsAffinity(&set); err != nil {
		return nil, err
	}
	return func() { _ = setThreadsAffinity(&old) }, nil
}

func setThreadsAffinity(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) { // ESRCH: the thread ended
			return fmt.Errorf("pinning thread %d: %w", tid, err)
		}
	}
	return nil
}

func benchmarkEcho(b *testing.B, bin, bind string, pl placement) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := serve(b, ctx, bin, bind, pl)
	server, err := netip.ParseAddrPort(ready.Addrs[0])
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	rates := map[string][]float64{}
	cpu := map[string][]float64{} // this process's CPU per echo: the relay's own cost
	var relayLoss, captureLoss []float64
	var datagrams, reads int64
	round := 0
	for b.Loop() {
		took := map[string]float64{}
		for i := range paths {
			via := paths[(i+round)%len(paths)]
			before := processCPU()
			ms, n, r := echoVia(b, ctx, bin, ready.EndpointID, server, via, dir, pl)
			cpu[via] = append(cpu[via], (processCPU()-before).Seconds()*1e3)
			took[via] = ms
			rates[via] = append(rates[via], benchSize/ms/1e3)
			datagrams, reads = datagrams+n, reads+r
		}
		round++
		relayLoss = append(relayLoss, 1-took["direct"]/took["relay"])
		captureLoss = append(captureLoss, 1-took["direct"]/took["relay+capture"])
	}
	for _, via := range paths {
		b.ReportMetric(median(rates[via]), via+"-MB/s")
		if via != "direct" {
			b.ReportMetric(median(cpu[via]), via+"-cpu-ms")
		}
	}
	b.ReportMetric(100*median(relayLoss), "relay-loss-%")
	b.ReportMetric(100*median(captureLoss), "relay+capture-loss-%")
	if reads > 0 {
		b.ReportMetric(float64(datagrams)/float64(reads), "datagrams/read")
	}
	b.ReportMetric(0, "ns/op") // a round is three client processes: its time means nothing
}

// serve starts the program's echo server, stopped when the benchmark ends, and returns its
// ready line.
func serve(b *testing.B, ctx context.Context, bin, bind string, pl placement) peercontract.Ready {
	b.Helper()
	// The server outlives ctx (the benchmark's), until Cleanup stops it as the contract says.
	cmd := pl.peerCommand(context.Background(), bin, "serve", "--bind", bind)
	p, err := peercontract.StartServe(ctx, cmd, peercontract.ServeOptions{Name: filepath.Base(bin)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Stop(); err != nil {
			b.Error(err)
		}
	})
	return p.Ready
}

// echoVia runs one client process that echoes benchSize once over via; it returns the client's
// echo time in milliseconds, and the datagrams the relay forwarded and the reads they took.
func echoVia(b *testing.B, ctx context.Context, bin, id string, server netip.AddrPort, via, dir string, pl placement) (float64, int64, int64) {
	b.Helper()
	addr := server
	var r *relay.Relay
	var capFile *os.File
	var err error
	if via != "direct" {
		cfg := relay.Config{Target: server}
		if via == "relay+capture" {
			if capFile, err = os.Create(filepath.Join(dir, "wire.pcapng")); err != nil {
				b.Fatal(err)
			}
			cfg.Capture = capFile
		}
		if r, err = relay.Start(cfg); err != nil {
			b.Fatal(err)
		}
		addr = r.Addr()
	}
	args := []string{"dial", "--id", id, "--addr", addr.String(), "--size", strconv.Itoa(benchSize), "--count", "1", "--timeout", "60s"}
	if via == "direct" && server.Addr().Is6() { // clients bind 127.0.0.1 by default, where the relay listens
		args = append(args, "--bind", "[::1]:0")
	}
	cmd := pl.peerCommand(ctx, bin, args...)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("dial via %s: %v: %s", via, err, out)
	}
	res, err := lastResult(out)
	if err != nil || !res.OK || len(res.EchoMS) != 1 {
		b.Fatalf("dial via %s: %v %+v", via, err, res)
	}
	var n, reads int64
	if r != nil {
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		n, reads = int64(len(r.Records())), r.Reads()
	}
	if capFile != nil {
		_ = capFile.Close()
	}
	return res.EchoMS[0], n, reads
}

func lastResult(out []byte) (peercontract.Result, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], `"result"`) {
			return peercontract.ParseResult(lines[i])
		}
	}
	return peercontract.Result{}, fmt.Errorf("no result line in %q", out)
}

// processCPU is the CPU time (user and system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
