package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/irohconf/irohconf/reports"
)

// Matrix is one suite's matrix: every client against every server, every case.
type Matrix struct {
	Suite   string
	Clients []ClientPeer
	Servers []ServerPeer
	Cases   []Case
	// ReportRoot is the reports folder; a run lands in ReportRoot/runs/<UTC time>/.
	ReportRoot string
	// ServerOptions returns the options for a server peer (nil: defaults).
	ServerOptions func(server ServerPeer) ServerOptions
	// Expected are the cells known to fail (see ExpectedFailure).
	Expected []ExpectedFailure
	// Pairs, when set, says which (client, server) pairs the matrix has (the hil suite: those
	// with a board on one side); nil: every pair.
	Pairs func(client ClientPeer, server ServerPeer) bool
	// WirePath, when set, says what each cell's relay does to its datagrams (nil: forward them
	// all, see WirePath).
	WirePath func(k Case, client, server Manifest) WirePath

	runDir   string
	prepMu   sync.Mutex
	prepErrs map[string]error
	started  time.Time
	shard    *sharding // nil or without a part: the whole matrix
	// faultSeeds is the run's fault seed (faults.go).
	faultSeeds faultSeeds
}

// cellEntry names the report entry that carries a cell's result from the process that ran it
// to the report written at the end of the suite.
const cellEntry = "irohconf-cell"

// Register builds the Ginkgo tree: one ordered container per (client, server) pair, one spec
// per case, labelled suite:, client:, server: and case: so any slice of the matrix runs with
// --label-filter. Call it once, at the top level of a suite's test file.
func (m *Matrix) Register() bool {
	if err := m.Check(); err != nil {
		panic(fmt.Sprintf("irohconf %s matrix: %v", m.Suite, err)) // nothing can run
	}
	var err error
	if m.shard, err = shardingFromEnv(); err != nil {
		panic(fmt.Sprintf("irohconf %s matrix: %v", m.Suite, err))
	}
	SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
		m.started = time.Now()
		dir := os.Getenv("IROHCONF_RUN_DIR")
		if dir == "" {
			var err error
			dir, err = reports.NewRunDir(m.ReportRoot, m.started)
			if err != nil {
				Fail(fmt.Sprintf("cannot create the run folder under %s: %v", m.ReportRoot, err))
			}
		}
		if err := checkWireTools(ctx); err != nil {
			Fail(fmt.Sprintf("error (test bed): every cell's capture is dissected with tshark: %v", err))
		}
		m.prepareAll(ctx)
		return []byte(dir)
	}, func(ctx SpecContext, data []byte) {
		m.runDir = string(data)
		m.prepareAll(ctx) // idempotent: on process 1 this only reads what is already prepared
	}, NodeTimeout(30*time.Minute))

	// Peers that hold something for the whole run (a dialing container) let go of it on every
	// process, whatever happened.
	SynchronizedAfterSuite(func(ctx SpecContext) {
		for _, p := range m.peers() {
			if c, ok := p.(io.Closer); ok {
				if err := c.Close(); err != nil {
					fmt.Fprintf(os.Stderr, "irohconf: closing %s: %v\n", p.Manifest().Name, err)
				}
			}
		}
	}, func(ctx SpecContext) {}, NodeTimeout(2*time.Minute))

	pairs := 0
	for _, client := range m.Clients {
		for _, server := range m.Servers {
			if m.runsPair(client, server) {
				m.describePair(client, server, pairs%2 == 1)
				pairs++
			}
		}
	}

	ReportAfterEach(func(r SpecReport) {
		if cell, ok := cellFromSpec(r); ok {
			line := fmt.Sprintf("cell %-16s → %-16s %-24s %-11s %7.0f ms", cell.Client, cell.Server, cell.Case, cell.Outcome, cell.DurationMS)
			if cell.Reason != "" && cell.Outcome != Succeeded {
				line += "  " + firstLine(cell.Reason)
			}
			progress(line)
		}
	})
	ReportAfterSuite("irohconf report", func(r Report) { m.writeReport(r) })
	return true
}

func (m *Matrix) prepareAll(ctx context.Context) {
	m.prepMu.Lock()
	defer m.prepMu.Unlock()
	if m.prepErrs != nil {
		return
	}
	m.prepErrs = map[string]error{}
	for _, p := range m.peers() {
		if err := p.Prepare(ctx); err != nil {
			m.prepErrs[p.Manifest().Name] = fmt.Errorf("preparing %s: %w", p.Manifest().Name, err)
			fmt.Fprintf(os.Stderr, "irohconf: %v\n", m.prepErrs[p.Manifest().Name])
		}
	}
}

func (m *Matrix) prepErr(name string) error {
	m.prepMu.Lock()
	defer m.prepMu.Unlock()
	return m.prepErrs[name]
}

// peers lists every peer once, clients first.
func (m *Matrix) peers() []Peer {
	var out []Peer
	seen := map[string]bool{}
	add := func(p Peer) {
		if n := p.Manifest().Name; !seen[n] {
			seen[n] = true
			out = append(out, p)
		}
	}
	for _, c := range m.Clients {
		add(c)
	}
	for _, s := range m.Servers {
		add(s)
	}
	return out
}

// A pair's cells run in order on one Ginkgo process, so the matrix takes at least as long as
// its longest pair. Pairs start longest first (pairWeight), for when there are fewer processes
// than pairs; with waitsFirst the pair's waiting cells (Case.Waits) run before the others, and
// every other pair gets it, so that while some pairs wait the others work, instead of all pairs
// competing for the CPU together and then all waiting together.
func (m *Matrix) describePair(client ClientPeer, server ServerPeer, waitsFirst bool) {
	cname, sname := client.Manifest().Name, server.Manifest().Name
	Describe(cname+" → "+sname, Ordered, ContinueOnFailure, Label(m.pairLabels(cname, sname)...),
		SpecPriority(m.pairWeight(client, server)), func() {
			kases := m.casesInShard(client, server)
			if waitsFirst {
				kases = waitingFirst(kases)
			}
			if len(kases) == 0 {
				return // another shard runs this pair
			}
			var (
				srv Server
				// dialer is the client as the cells dial it: a SessionClient's started session.
				dialer    = client
				startErr  error
				serverLog = NewTap(sname, GinkgoWriter)
				clientLog = NewTap(cname, GinkgoWriter)
			)
			BeforeAll(func(ctx SpecContext) {
				if !anySupported(kases, client, server) {
					return // every cell is unsupported: no server needed
				}
				if err := errors.Join(m.prepErr(cname), m.prepErr(sname)); err != nil {
					startErr = Testbed(err)
					return
				}
				var opts ServerOptions
				if m.ServerOptions != nil {
					opts = m.ServerOptions(server)
				}
				if opts.Bind == "" {
					opts.Bind = PairServerBind(client.Manifest(), server.Manifest())
				}
				// The server lives as long as the pair: its key log goes in the pair's folder.
				if opts.KeyLogDir == "" {
					pairDir := filepath.Join(m.runDir, filepath.FromSlash(reports.PairLogPath(cname, sname)))
					if err := os.MkdirAll(pairDir, 0o755); err == nil {
						opts.KeyLogDir = pairDir
					}
				}
				s, err := startServer(ctx, server, opts, serverLog)
				if err != nil {
					startErr = Testbed(fmt.Errorf("starting server %s: %w", sname, err))
					return
				}
				srv = s
				DeferCleanup(func(ctx SpecContext) {
					if err := srv.Stop(ctx); err != nil {
						fmt.Fprintf(GinkgoWriter, "stopping %s: %v\n", sname, err)
					}
				}, NodeTimeout(time.Minute))
				if sc, ok := client.(SessionClient); ok {
					session, err := sc.StartClient(ctx, clientLog)
					if err != nil {
						startErr = Testbed(fmt.Errorf("starting client %s: %w", cname, err))
						return
					}
					dialer = sessionPeer{ClientPeer: client, session: session}
					DeferCleanup(func(ctx SpecContext) {
						if err := session.Stop(ctx); err != nil {
							fmt.Fprintf(GinkgoWriter, "stopping client %s: %v\n", cname, err)
						}
					}, NodeTimeout(time.Minute))
				}
			}, NodeTimeout(5*time.Minute))

			for _, k := range kases {
				It(k.Name, Label(append(k.labels(), m.cellLabels(cname, sname, k)...)...), func(ctx SpecContext) {
					m.runCell(ctx, k, dialer, server, srv, startErr, clientLog, serverLog)
				}, SpecTimeout(k.timeout()+30*time.Second))
			}
		})
}

// pairWeight estimates the pair's seconds: a few per cell it supports, plus what they wait.
func (m *Matrix) pairWeight(client ClientPeer, server ServerPeer) int {
	var d time.Duration
	for _, k := range m.Cases {
		if k.needs(client.Manifest(), server.Manifest()) == nil {
			d += 2*time.Second + k.Waits
		}
	}
	return int(d.Seconds())
}

// waitingFirst orders the cases with the waiting ones (Case.Waits) first, the rest as they were.
func waitingFirst(kases []Case) []Case {
	out := make([]Case, 0, len(kases))
	for _, k := range kases {
		if k.Waits > 0 {
			out = append(out, k)
		}
	}
	for _, k := range kases {
		if k.Waits == 0 {
			out = append(out, k)
		}
	}
	return out
}

// runsPair tells whether the matrix has the pair (Pairs).
func (m *Matrix) runsPair(client ClientPeer, server ServerPeer) bool {
	return m.Pairs == nil || m.Pairs(client, server)
}

// pairLabels label a pair's specs: suite:, client: and server:.
func (m *Matrix) pairLabels(client, server string) []string {
	return []string{"suite:" + m.Suite, "client:" + client, "server:" + server}
}

func anySupported(kases []Case, client ClientPeer, server ServerPeer) bool {
	for _, k := range kases {
		if k.needs(client.Manifest(), server.Manifest()) == nil {
			return true
		}
	}
	return false
}
