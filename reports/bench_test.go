package reports

import (
	"fmt"
	"testing"
	"time"
)

// bigRun is a large matrix: 6 clients × 8 servers × 20 cases = 960 cells, every outcome.
func bigRun(b *testing.B) Run {
	start := time.Date(2026, 11, 27, 4, 15, 0, 0, time.UTC)
	run := Run{Suite: "interop", Start: start, End: start.Add(time.Hour), Host: HostInfo()}
	for i := range 8 {
		roles := []string{RoleServer}
		if i < 6 {
			roles = append(roles, RoleClient)
		}
		run.Peers = append(run.Peers, Peer{Name: fmt.Sprintf("peer-%d", i), Kind: KindUpstream, Version: "1.0.0", Runtime: RuntimeDocker, Roles: roles})
	}
	for i := range 20 {
		run.Cases = append(run.Cases, Case{Name: fmt.Sprintf("case-%d", i), Abbr: fmt.Sprintf("C%d", i), Description: "a case"})
	}
	for c := range 6 {
		for s := range 8 {
			for k := range 20 {
				client, server, kase := run.Peers[c].Name, run.Peers[s].Name, run.Cases[k].Name
				run.Cells = append(run.Cells, Cell{Client: client, Server: server, Case: kase,
					Outcome: Outcomes[(c+s+k)%4], Reason: "reason <with> markup & a long tail of text to escape",
					Start: start, DurationMS: 150, Logs: CellLogPath(client, server, kase)})
			}
		}
	}
	return run
}

// BenchmarkWrite measures writing the four files of a 960-cell run (validation included).
func BenchmarkWrite(b *testing.B) {
	run := bigRun(b)
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(dir, run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(run.Cells)), "cells")
}
