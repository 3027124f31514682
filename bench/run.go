package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/irohconf/irohconf/containers"
	"github.com/irohconf/irohconf/reports"
)

// Run is one run of the matrix: bench.json.
type Run struct {
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Host     map[string]string `json:"host"`
	Load     string            `json:"load_before"`          // /proc/loadavg when the run began
	LoadEnd  string            `json:"load_after,omitempty"` // and when it ended
	Plan     Plan              `json:"plan"`
	Clients  []string          `json:"clients"`
	Servers  []string          `json:"servers"`
	Limits   []Limit           `json:"limits"`
	Results  []Result          `json:"results"`
	Schedule []Schedule        `json:"schedule,omitempty"`
	Problems []string          `json:"problems,omitempty"` // peers that could not start, and why
}

// Schedule is how one measure's rounds ran: the record that every round sampled every pair, in
// an order of its own.
type Schedule struct {
	Measure string  `json:"measure"`
	Rounds  []Round `json:"rounds"`
}

// Round is one round of a measure.
type Round struct {
	Start   float64  `json:"start_s"` // seconds since the run began
	Seconds float64  `json:"seconds"`
	Order   []string `json:"order"` // the pairs ("client -> server") and limits, as sampled
}

// Config says where the programs are and what to run.
type Config struct {
	Root        string // the checkout
	IrohconfBin string // build/bin/irohconf
	AEADExample string // the firmware crypto crate's aead_throughput example
	Versions    []containers.Version
	Plan        Plan
	Log         io.Writer // the peers' output
	Progress    io.Writer // one line per round and per result
}

// Execute starts every client and server once, then takes each measure in rounds: every round
// samples every pair (and, for throughputs, every limit) once, in an order that changes from
// round to round, so a pair and the pair it is compared with are sampled minutes apart at most,
// under the same load.
func Execute(ctx context.Context, cfg Config) (*Run, error) {
	run := &Run{Started: time.Now().UTC(), Host: reports.HostInfo(), Plan: cfg.Plan, Load: loadAverage()}
	fmt.Fprintf(cfg.Progress, "bench: load average before the run: %s (the numbers are noisy when other work shares the cores)\n", run.Load)

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

	// Clients and servers: each started once and up for the whole run.
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
	var pairs []pair
	var servers []server
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
		servers = append(servers, s)
		for _, c := range clients {
			pairs = append(pairs, pair{client: c.c, server: s, clientDecl: c.d, serverDecl: k.d, isBoard: k.board, servesUpload: k.servesUpload})
		}
	}

	limits := limitUnits(cfg.AEADExample)
	run.Limits = make([]Limit, len(limits))
	for i, l := range limits {
		run.Limits[i] = Limit{Name: l.name, Title: l.title, Bytes: DatagramSize, Rounds: map[string][]float64{}}
	}
	for _, ph := range phases(cfg.Plan) {
		if ctx.Err() != nil {
			break
		}
		results, sched := runPhase(ctx, ph, pairs, limits, run, cfg)
		run.Results = append(run.Results, results...)
		run.Schedule = append(run.Schedule, sched)
	}
	for i := range run.Limits {
		l := &run.Limits[i]
		if len(l.Samples) > 0 {
			l.MBps = median(l.Samples)
		}
		if l.Error != "" {
			fmt.Fprintf(cfg.Progress, "limit %-20s error: %s\n", l.Name, l.Error)
		} else {
			fmt.Fprintf(cfg.Progress, "limit %-20s median %s MB/s (%d samples)\n", l.Name, num(l.MBps), len(l.Samples))
		}
	}
	for _, s := range servers {
		if err := s.Stop(); err != nil {
			run.Problems = append(run.Problems, fmt.Sprintf("server %s: stopping: %v", s.Name(), err))
		}
	}
	deriveRatios(run)
	run.Seconds = time.Since(run.Started).Seconds()
	run.LoadEnd = loadAverage()
	if ctx.Err() != nil {
		return run, ctx.Err()
	}
	return run, nil
}

// runPhase takes one measure in rounds. A pair whose sample fails is not sampled again (its
// result is an error); a limit that fails, likewise.
func runPhase(ctx context.Context, ph phase, pairs []pair, limits []limitUnit, run *Run, cfg Config) ([]Result, Schedule) {
	type acc struct {
		p       pair
		rounds  map[string][]float64
		samples map[string][]float64
		err     error
	}
	var out []Result
	var accs []*acc
	type unit struct {
		name string
		take func(round int)
	}
	var units []unit
	for _, p := range pairs {
		if err := ph.unsupported(p); err != nil {
			for _, m := range ph.measures {
				r := finish(p, m, nil, nil, err)
				fmt.Fprintln(cfg.Progress, r.line())
				out = append(out, r)
			}
			continue
		}
		a := &acc{p: p, rounds: map[string][]float64{}, samples: map[string][]float64{}}
		accs = append(accs, a)
		units = append(units, unit{p.name(), func(round int) {
			if a.err != nil {
				return
			}
			got, err := ph.take(ctx, p)
			if err != nil {
				a.err = fmt.Errorf("round %d: %w", round+1, err)
				return
			}
			for _, t := range got {
				a.rounds[t.measure] = append(a.rounds[t.measure], t.value)
				a.samples[t.measure] = append(a.samples[t.measure], t.samples...)
			}
		}})
	}
	if ph.limits {
		for i, l := range limits {
			lim := &run.Limits[i]
			units = append(units, unit{"limit " + l.name, func(int) {
				if lim.Error != "" {
					return
				}
				mbps, secs, err := l.take(ctx, cfg.Plan.LimitFor)
				if err != nil {
					lim.Error = err.Error()
					return
				}
				lim.Samples = append(lim.Samples, mbps)
				lim.Rounds[ph.measures[0]] = append(lim.Rounds[ph.measures[0]], mbps)
				lim.Seconds += secs
			}})
		}
	}

	sched := Schedule{Measure: ph.measures[0]}
	for r, order := range roundOrders(len(units), ph.rounds) {
		if ctx.Err() != nil {
			break
		}
		began := time.Now()
		round := Round{Start: began.Sub(run.Started).Seconds()}
		for _, i := range order {
			if ctx.Err() != nil {
				break
			}
			round.Order = append(round.Order, units[i].name)
			units[i].take(r)
		}
		round.Seconds = time.Since(began).Seconds()
		sched.Rounds = append(sched.Rounds, round)
		fmt.Fprintf(cfg.Progress, "%-16s round %d/%d: %d samples in %.1f s\n", ph.measures[0], r+1, ph.rounds, len(round.Order), round.Seconds)
	}
	for _, a := range accs {
		err := a.err
		if err == nil && len(a.rounds[ph.measures[0]]) < ph.rounds {
			err = fmt.Errorf("the run was interrupted after %d of %d rounds", len(a.rounds[ph.measures[0]]), ph.rounds)
		}
		for _, m := range ph.measures {
			r := finish(a.p, m, a.samples[m], a.rounds[m], err)
			fmt.Fprintln(cfg.Progress, r.line())
			out = append(out, r)
		}
	}
	return out, sched
}

// finish is the result of a pair's measure from its samples (and per-round values).
func finish(p pair, measure string, samples, rounds []float64, err error) Result {
	info, _ := MeasureByName(measure)
	r := Result{Client: p.client.Name(), Server: p.server.Name(), Measure: measure, Unit: info.Unit, Samples: samples, Rounds: rounds, Outcome: "ok"}
	switch e := err.(type) {
	case nil:
		if len(samples) == 0 {
			r.Outcome, r.Reason = "error", "no samples"
		} else {
			med, p90 := median(samples), percentile(samples, 90)
			r.Median, r.P90 = &med, &p90
		}
	case unsupported:
		r.Outcome, r.Reason = "unsupported", e.Error()
	default:
		r.Outcome, r.Reason = "error", e.Error()
	}
	if r.Samples == nil {
		r.Samples = []float64{}
	}
	return r
}

// loadAverage is the 1, 5 and 15 minute load averages of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
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
