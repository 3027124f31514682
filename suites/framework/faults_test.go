package framework

import (
	"slices"
	"testing"
)

// The fault dimension: net:<profile> labels, the quick slice (every server meets every profile
// once, the clients rotating), seeds derived from one run seed.
func TestFaultLabelsAndQuickSlice(t *testing.T) {
	profiles := []string{"loss", "delay", "mtu-1200", "blackhole", "rebind-port"}
	m := &Matrix{Suite: "t"}
	for _, c := range []string{"c1", "c2", "c3"} {
		m.Clients = append(m.Clients, newFakeClient(c))
	}
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		m.Servers = append(m.Servers, newFakeServer(s))
	}
	m.Cases = append(m.Cases, Case{Name: "plain"})
	for _, p := range profiles {
		k := Case{Name: "net-" + p, Profile: p}
		switch p {
		case "delay": // c3 cannot run it against s1: the slice must pick another client
			k.Needs = func(client, server Manifest) error {
				if client.Name == "c3" && server.Name == "s1" {
					return NotDeclared("c3", "no")
				}
				return nil
			}
		case "blackhole": // nobody can run it against s2: no cell of the slice there
			k.Needs = func(client, server Manifest) error {
				if server.Name == "s2" {
					return NotDeclared("s2", "no")
				}
				return nil
			}
		}
		m.Cases = append(m.Cases, k)
	}
	if err := m.checkFaults(); err != nil {
		t.Fatal(err)
	}
	if l := m.Cases[0].labels(); slices.ContainsFunc(l, func(s string) bool { return len(s) > 4 && s[:4] == "net:" }) {
		t.Errorf("a case without a profile is labelled %v", l)
	}
	clientsMet := map[string]map[string]bool{}
	for _, s := range m.Servers {
		sname := s.Manifest().Name
		for _, k := range m.Cases[1:] {
			if !slices.Contains(k.labels(), "net:"+k.Profile) {
				t.Errorf("%s: labels %v lack net:%s", k.Name, k.labels(), k.Profile)
			}
			var picked []string
			for _, c := range m.Clients {
				if slices.Contains(m.cellLabels(c.Manifest().Name, sname, k), QuickFaultsLabel) {
					picked = append(picked, c.Manifest().Name)
				}
			}
			if k.Name == "net-blackhole" && sname == "s2" {
				if len(picked) != 0 {
					t.Errorf("server s2, net-blackhole, which no client can run: quick slice picks %v", picked)
				}
				continue
			}
			if len(picked) != 1 {
				t.Fatalf("server %s, %s: quick slice picks clients %v, want one", sname, k.Name, picked)
			}
			if sname == "s1" && k.Name == "net-delay" && picked[0] == "c3" {
				t.Errorf("server s1, net-delay: the quick slice picks c3, which the case rules out")
			}
			if clientsMet[sname] == nil {
				clientsMet[sname] = map[string]bool{}
			}
			clientsMet[sname][picked[0]] = true
		}
		if len(clientsMet[sname]) != len(m.Clients) {
			t.Errorf("server %s meets only clients %v in the quick slice", sname, clientsMet[sname])
		}
		if l := m.cellLabels("c1", sname, m.Cases[0]); len(l) != 0 {
			t.Errorf("a case without a profile gets cell labels %v", l)
		}
	}

	m.Cases = append(m.Cases, Case{Name: "net-nonsense", Profile: "nonsense"})
	if err := m.checkFaults(); err == nil {
		t.Error("a case with an unknown profile passed the check")
	}
}

func TestFaultSeeds(t *testing.T) {
	t.Setenv(FaultSeedEnv, "")
	m := &Matrix{runDir: "/reports/runs/2026-12-01T17-00-00Z"}
	run, err := m.RunFaultSeed()
	if err != nil {
		t.Fatal(err)
	}
	if run >= 1<<53 {
		t.Errorf("run seed %d is not exact in a JSON double", run)
	}
	other := &Matrix{runDir: "/elsewhere/runs/2026-12-01T17-00-00Z"}
	if s, _ := other.RunFaultSeed(); s != run {
		t.Errorf("two processes of one run (same folder name) derive %d and %d", run, s)
	}
	if a, b := CellFaultSeed(run, "c", "s", "net-loss"), CellFaultSeed(run, "c", "s", "net-loss"); a != b {
		t.Errorf("one cell, two seeds: %d %d", a, b)
	}
	if a, b := CellFaultSeed(run, "c", "s", "net-loss"), CellFaultSeed(run, "c", "s2", "net-loss"); a == b {
		t.Errorf("two cells share seed %d", a)
	}

	t.Setenv(FaultSeedEnv, "12345")
	fixed := &Matrix{runDir: "/any"}
	if s, err := fixed.RunFaultSeed(); err != nil || s != 12345 {
		t.Errorf("%s=12345 gives %d, %v", FaultSeedEnv, s, err)
	}
	path, err := fixed.cellWirePath(Case{Name: "net-loss", Profile: "loss"}, Manifest{Name: "c"}, Manifest{Name: "s"})
	if err != nil || path.Profile.Name != "loss" || path.Seed != CellFaultSeed(12345, "c", "s", "net-loss") {
		t.Errorf("cell path %+v, %v", path, err)
	}
	k := Case{Name: "net-loss", Profile: "loss"}
	if rec := faultRecord(k, &path); rec == nil || rec.Profile != "loss" || rec.Seed != path.Seed {
		t.Errorf("report record %+v", rec)
	}
	if rec := faultRecord(Case{Name: "plain"}, &WirePath{}); rec != nil {
		t.Errorf("a path that forwards all is reported as fault %+v", rec)
	}
	if rec := faultRecord(k, nil); rec == nil || rec.Profile != "loss" || rec.Seed != 0 {
		t.Errorf("a cell under a profile that never started its relay is reported as %+v", rec)
	}

	t.Setenv(FaultSeedEnv, "not a number")
	if err := (&Matrix{}).checkFaults(); err == nil {
		t.Errorf("a bad %s passed the check", FaultSeedEnv)
	}
}
