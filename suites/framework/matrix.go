package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

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

	runDir   string
	prepMu   sync.Mutex
	prepErrs map[string]error
	started  time.Time
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

	for _, client := range m.Clients {
		for _, server := range m.Servers {
			m.describePair(client, server)
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

func (m *Matrix) describePair(client ClientPeer, server ServerPeer) {
	cname, sname := client.Manifest().Name, server.Manifest().Name
	Describe(cname+" → "+sname, Ordered, ContinueOnFailure, Label("suite:"+m.Suite, "client:"+cname, "server:"+sname), func() {
		var (
			srv       Server
			startErr  error
			serverLog = NewTap(sname, GinkgoWriter)
			clientLog = NewTap(cname, GinkgoWriter)
		)
		BeforeAll(func(ctx SpecContext) {
			if !m.anySupported(client, server) {
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
		}, NodeTimeout(5*time.Minute))

		for _, k := range m.Cases {
			It(k.Name, Label(k.labels()...), func(ctx SpecContext) {
				m.runCell(ctx, k, client, server, srv, startErr, clientLog, serverLog)
			}, SpecTimeout(k.timeout()+30*time.Second))
		}
	})
}

func (m *Matrix) anySupported(client ClientPeer, server ServerPeer) bool {
	for _, k := range m.Cases {
		if k.needs(client.Manifest(), server.Manifest()) == nil {
			return true
		}
	}
	return false
}

func (k Case) needs(client, server Manifest) error {
	if !client.HasRole(RoleClient) {
		return NotDeclared(client.Name, "%s does not declare the client role", client.Name)
	}
	if !server.HasRole(RoleServer) {
		return NotDeclared(server.Name, "%s does not declare the server role", server.Name)
	}
	for _, f := range k.ClientNeeds {
		if !client.Has(f) {
			return NotDeclared(client.Name, "client %s does not declare %s", client.Name, f)
		}
	}
	for _, f := range k.ServerNeeds {
		if !server.Has(f) {
			return NotDeclared(server.Name, "server %s does not declare %s", server.Name, f)
		}
	}
	if k.Needs == nil {
		return nil
	}
	return k.Needs(client, server)
}

// labels are the spec's labels of the case: case:<name> and needs:<feature>.
func (k Case) labels() []string {
	labels := []string{"case:" + k.Name}
	for _, f := range append(slices.Clone(k.ClientNeeds), k.ServerNeeds...) {
		if l := "needs:" + string(f); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

func (k Case) timeout() time.Duration {
	if k.Timeout > 0 {
		return k.Timeout
	}
	return 30 * time.Second
}

func (m *Matrix) runCell(ctx SpecContext, k Case, client ClientPeer, server ServerPeer, srv Server,
	startErr error, clientLog, serverLog *Tap) {
	cname, sname := client.Manifest().Name, server.Manifest().Name
	start := time.Now()
	logDir, err := reports.CellLogDir(m.runDir, cname, sname, k.Name)
	if err != nil {
		Fail(fmt.Sprintf("error: cannot create the cell's log folder: %v", err))
	}
	cell := &Cell{Client: client, Server: srv, ServerPeer: server, ClientLog: clientLog, ServerLog: serverLog, LogDir: logDir}

	cmark, smark := clientLog.Mark(), serverLog.Mark()
	err = k.needs(client.Manifest(), server.Manifest())
	if err == nil {
		err = startErr
	}
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, k.timeout())
		err = runProtected(cctx, k, cell)
		timedOut := cctx.Err() != nil && ctx.Err() == nil
		cancel()
		if cw, ok := srv.(CrashWatcher); ok {
			if crash := cw.Crashed(); crash != nil && err == nil {
				err = crash
			} else if crash != nil {
				err = fmt.Errorf("%w; and the server crashed: %v", err, crash)
			}
		}
		if err != nil && timedOut {
			err = fmt.Errorf("the case did not finish within %s: %w", k.timeout(), err)
		}
	}
	outcome, reason := Classify(err)
	known, isKnown := expectedFailure(m.Expected, cname, sname, k.Name)
	switch {
	case isKnown && outcome == Failed:
		reason = "expected failure (" + known.Reason + "): " + reason
		cell.Notef("listed as an expected failure: %s", known.Reason)
	case isKnown && outcome == Succeeded:
		cell.Notef("listed as an expected failure (%s) but succeeded", known.Reason)
	}
	if outcome != Unsupported {
		serverFile := "server.log"
		if _, isBoard := srv.(Board); isBoard {
			serverFile = "serial.log" // a board's output is its serial console
		}
		_ = clientLog.WriteFile(filepath.Join(logDir, "client.log"), cmark)
		_ = serverLog.WriteFile(filepath.Join(logDir, serverFile), smark)
	}
	_ = cell.writeNotes(outcome, reason)

	rec := reports.Cell{
		Client: cname, Server: sname, Case: k.Name,
		Outcome: outcome, Reason: reason,
		Start: start, DurationMS: ms(time.Since(start)),
		Metrics: cell.Metrics(),
		Logs:    reports.CellLogPath(cname, sname, k.Name),
	}
	if v, ok := rec.Metrics["handshake_ms"]; ok {
		rec.HandshakeMS = &v
		delete(rec.Metrics, "handshake_ms")
	}
	if v, ok := rec.Metrics["throughput_mbps"]; ok {
		rec.ThroughputMbps = &v
		delete(rec.Metrics, "throughput_mbps")
	}
	rec.PeerVersions = map[string]string{cname: client.Version(), sname: server.Version()}
	if isKnown && outcome == Failed {
		rec.ExpectedFailure = known.Reason
	}
	AddReportEntry(cellEntry, rec, ReportEntryVisibilityNever)

	switch {
	case outcome == Unsupported:
		Skip("unsupported: " + reason)
	case isKnown && outcome == Failed:
		// Reported as failed; the run goes on green.
	case isKnown && outcome == Succeeded:
		Fail(fmt.Sprintf("listed as an expected failure (%s) but succeeded: take it off the list", known.Reason))
	case outcome == Failed:
		Fail(reason)
	case outcome == Errored:
		Fail("error (test bed): " + reason)
	}
}

// runProtected turns a panic in a case into a failure of that cell.
func runProtected(ctx context.Context, k Case, cell *Cell) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("case %s panicked: %v", k.Name, r)
		}
	}()
	return k.Run(ctx, cell)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// cellFromSpec reads the cell a spec recorded. A spec that never recorded one (interrupted, or
// timed out by Ginkgo) becomes a cell from its labels, failed with Ginkgo's reason.
func cellFromSpec(r SpecReport) (reports.Cell, bool) {
	for _, e := range r.ReportEntries {
		if e.Name != cellEntry {
			continue
		}
		// In the process that ran the spec the entry holds the value itself; in the report
		// gathered from parallel processes it holds its JSON.
		if c, ok := e.Value.GetRawValue().(reports.Cell); ok {
			return c, true
		}
		var c reports.Cell
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &c); err == nil && c.Case != "" {
			return c, true
		}
	}
	if r.LeafNodeType != types.NodeTypeIt || r.State == types.SpecStateSkipped && r.Failure.IsZero() {
		return reports.Cell{}, false
	}
	var c reports.Cell
	for _, l := range r.Labels() {
		switch {
		case strings.HasPrefix(l, "client:"):
			c.Client = strings.TrimPrefix(l, "client:")
		case strings.HasPrefix(l, "server:"):
			c.Server = strings.TrimPrefix(l, "server:")
		case strings.HasPrefix(l, "case:"):
			c.Case = strings.TrimPrefix(l, "case:")
		}
	}
	if c.Client == "" || c.Server == "" || c.Case == "" {
		return reports.Cell{}, false
	}
	c.Start, c.DurationMS = r.StartTime, ms(r.RunTime)
	c.Logs = reports.CellLogPath(c.Client, c.Server, c.Case)
	switch {
	case r.State.Is(types.SpecStatePassed):
		c.Outcome = Succeeded
	case r.State == types.SpecStateTimedout:
		c.Outcome, c.Reason = Failed, "timed out: "+r.Failure.Message
	case r.State.Is(types.SpecStateInterrupted | types.SpecStateAborted):
		c.Outcome, c.Reason = Errored, "the run was interrupted: "+r.Failure.Message
	default:
		c.Outcome, c.Reason = Errored, r.Failure.Message
	}
	return c, true
}

func (m *Matrix) writeReport(r Report) {
	dir := m.runDir
	if dir == "" {
		fmt.Fprintln(os.Stderr, "irohconf: no run folder (the suite did not start): no report written")
		return
	}
	run := reports.Run{Suite: m.Suite, Start: r.StartTime, End: r.EndTime, Host: reports.HostInfo()}
	for _, p := range m.peers() {
		man := p.Manifest()
		run.Peers = append(run.Peers, reports.Peer{
			Name: man.Name, Kind: man.Kind, Version: p.Version(), Runtime: p.Runtime(),
			Roles: m.rolesIn(man.Name), Unsupported: m.declaredUnsupported(man.Name), Manifest: man,
		})
	}
	for _, k := range m.Cases {
		run.Cases = append(run.Cases, reports.Case{Name: k.Name, Abbr: k.Abbr, Description: k.Description})
	}
	for _, sr := range r.SpecReports {
		if c, ok := cellFromSpec(sr); ok {
			run.Cells = append(run.Cells, c)
		}
	}
	if err := reporters.GenerateJSONReport(r, filepath.Join(dir, "ginkgo-report.json")); err != nil {
		fmt.Fprintf(os.Stderr, "irohconf: writing Ginkgo's JSON report: %v\n", err)
	}
	if err := reports.Write(dir, run); err != nil {
		Fail(fmt.Sprintf("writing the report to %s: %v", dir, err))
	}
	progress(fmt.Sprintf("irohconf %s report: %s", m.Suite, filepath.Join(dir, reports.IndexFile)))
}

// progress prints one line where a person watching the run sees it. Ginkgo's parallel workers
// do not own the terminal, so `make` names it in IROHCONF_PROGRESS (the file behind its own
// stderr); without it, lines go to this process's stderr.
func progress(line string) {
	if p := os.Getenv("IROHCONF_PROGRESS"); p != "" {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
			return
		}
	}
	fmt.Fprintln(os.Stderr, line)
}

// rolesIn are the roles a peer plays in this matrix (not every role its manifest declares).
func (m *Matrix) rolesIn(name string) []string {
	var roles []string
	for _, c := range m.Clients {
		if c.Manifest().Name == name {
			roles = append(roles, reports.RoleClient)
			break
		}
	}
	for _, s := range m.Servers {
		if s.Manifest().Name == name {
			roles = append(roles, reports.RoleServer)
			if s.Manifest().Has(FeatureConsole) {
				roles = append(roles, reports.RoleConsole)
			}
			break
		}
	}
	return roles
}

// declaredUnsupported are the cases a peer's own declarations rule out in every cell it is in.
func (m *Matrix) declaredUnsupported(name string) []string {
	var out []string
	for _, k := range m.Cases {
		in, ruledOut := 0, 0
		for _, c := range m.Clients {
			for _, s := range m.Servers {
				cm, sm := c.Manifest(), s.Manifest()
				if cm.Name != name && sm.Name != name {
					continue
				}
				in++
				if blamed, ok := Blamed(k.needs(cm, sm)); ok && blamed == name {
					ruledOut++
				}
			}
		}
		if in > 0 && ruledOut == in {
			out = append(out, k.Name)
		}
	}
	return out
}
