package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/irohconf/irohconf/reports"
)

// cellRecord is a cell's entry in the report.
func cellRecord(k Case, client ClientPeer, server ServerPeer, cell *Cell, v verdict, start time.Time) reports.Cell {
	cname, sname := client.Manifest().Name, server.Manifest().Name
	rec := reports.Cell{
		Client: cname, Server: sname, Case: k.Name,
		Outcome: v.Outcome, Reason: v.Reason,
		Start: start, DurationMS: ms(time.Since(start)),
		Metrics:         cell.Metrics(),
		Logs:            reports.CellLogPath(cname, sname, k.Name),
		ExpectedFailure: v.Expected,
	}
	if v, ok := rec.Metrics["handshake_ms"]; ok {
		rec.HandshakeMS = &v
		delete(rec.Metrics, "handshake_ms")
	}
	if v, ok := rec.Metrics["throughput_mbps"]; ok {
		rec.ThroughputMbps = &v
		delete(rec.Metrics, "throughput_mbps")
	}
	rec.PeerVersions = map[string]string{}
	for name, v := range map[string]string{cname: client.Version(), sname: server.Version()} {
		if v != "" { // a board this process did not boot
			rec.PeerVersions[name] = v
		}
	}
	rec.Evidence = cell.evidence(rec.Logs)
	rec.Fault = faultRecord(k, cell.path)
	return rec
}

func (m *Matrix) writeReport(r Report) {
	dir := m.runDir
	if dir == "" {
		fmt.Fprintln(os.Stderr, "irohconf: no run folder (the suite did not start): no report written")
		return
	}
	run := reports.Run{Suite: m.Suite, Start: r.StartTime, End: r.EndTime, Host: reports.HostInfo(), Shard: m.reportShard(), FaultSeed: m.reportFaultSeed()}
	for _, sr := range r.SpecReports {
		if c, ok := cellFromSpec(sr); ok {
			run.Cells = append(run.Cells, c)
		}
	}
	for _, p := range m.peers() {
		man := p.Manifest()
		run.Peers = append(run.Peers, reports.Peer{
			Name: man.Name, Kind: man.Kind, Version: peerVersion(p, run.Cells), Runtime: p.Runtime(),
			Roles: m.rolesIn(man.Name), Unsupported: m.declaredUnsupported(man.Name), Manifest: man,
		})
	}
	for _, k := range m.Cases {
		run.Cases = append(run.Cases, reports.Case{Name: k.Name, Abbr: k.Abbr, Description: k.Description})
	}
	if len(run.Cells) == 0 && !r.SuiteSucceeded {
		progress(fmt.Sprintf("irohconf %s: no cell ran (%s): no report written", m.Suite, strings.Join(r.SpecialSuiteFailureReasons, "; ")))
		return
	}
	if err := reporters.GenerateJSONReport(r, filepath.Join(dir, "ginkgo-report.json")); err != nil {
		fmt.Fprintf(os.Stderr, "irohconf: writing Ginkgo's JSON report: %v\n", err)
	}
	if err := reports.Write(dir, run); err != nil {
		Fail(fmt.Sprintf("writing the report to %s: %v", dir, err))
	}
	progress(fmt.Sprintf("irohconf %s report: %s", m.Suite, filepath.Join(dir, reports.IndexFile)))
}

// peerVersion is the version the run's cells recorded for a peer (each in the process that ran
// it; several, if it changed during the run), else what the peer says in this process. A board
// learns its version when it boots, and the process writing the report may never have booted it.
func peerVersion(p Peer, cells []reports.Cell) string {
	name := p.Manifest().Name
	var seen []string
	for _, c := range cells {
		if v := c.PeerVersions[name]; v != "" && !slices.Contains(seen, v) {
			seen = append(seen, v)
		}
	}
	if len(seen) == 0 {
		return p.Version()
	}
	slices.Sort(seen)
	return strings.Join(seen, ", ")
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
				if !m.runsPair(c, s) {
					continue
				}
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

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
