package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A run with cells under network faults: results.json keeps each cell's profile and seed and the
// run's seed; index.html shows those cells in a matrix of their own, one badge per profile, and
// keeps them out of the main matrix.
func TestFaultDimension(t *testing.T) {
	_, runDir, run := sampleRun(t)
	run.Cases = append(run.Cases, Case{Name: "net-loss", Abbr: "loss", Description: "an echo over 5% loss"},
		Case{Name: "net-mtu-1200", Abbr: "mtu", Description: "an echo over a 1200-byte path"})
	seed := uint64(1<<53 - 1)
	run.FaultSeed = &seed
	for i, kase := range []string{"net-loss", "net-mtu-1200"} {
		dir, err := CellLogDir(runDir, "go", "virtual-board", kase)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cell.log"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run.Cells = append(run.Cells, Cell{Client: "go", Server: "virtual-board", Case: kase, Outcome: Succeeded,
			DurationMS: 1, Logs: CellLogPath("go", "virtual-board", kase),
			Fault: &Fault{Profile: kase[len("net-"):], Seed: uint64(i + 7)}})
	}
	mustWrite(t, runDir, run)

	back, err := Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if back.FaultSeed == nil || *back.FaultSeed != seed {
		t.Errorf("fault_seed %v, want %d", back.FaultSeed, seed)
	}
	faulted := 0
	for _, c := range back.Cells {
		if c.Fault != nil {
			faulted++
			if c.Fault.Profile != c.Case[len("net-"):] || c.Fault.Seed < 7 {
				t.Errorf("%s: fault %+v", c.Case, *c.Fault)
			}
		}
	}
	if faulted != 2 {
		t.Errorf("%d cells with a fault read back, want 2", faulted)
	}

	page := readFile(t, filepath.Join(runDir, IndexFile))
	checkIndexDOM(t, page, runDir, run)
	var inFaults, profiles []string
	for _, n := range elementsWith(t, page, "data-cell") {
		if p := attr(n, "data-profile"); p != "" {
			profiles = append(profiles, p)
		}
		for a := n.Parent; a != nil; a = a.Parent {
			if attr(a, "id") == "faults" {
				inFaults = append(inFaults, attr(n, "data-case"))
			}
			if attr(a, "id") == "matrix" && n.Parent != nil && attr(n, "data-profile") != "" {
				t.Errorf("the cell %s under a fault is in the main matrix", attr(n, "data-case"))
			}
		}
	}
	if len(inFaults) != 2 || len(profiles) != 2 || profiles[0] != "loss" || profiles[1] != "mtu-1200" {
		t.Errorf("fault matrix holds %v with profiles %v, want net-loss and net-mtu-1200 with loss and mtu-1200", inFaults, profiles)
	}

	// A run of fault cells alone says so instead of an empty main matrix.
	only := run
	only.Cells = nil
	for _, c := range run.Cells {
		if c.Fault != nil {
			only.Cells = append(only.Cells, c)
		}
	}
	_, onlyDir, _ := sampleRun(t)
	for _, c := range only.Cells {
		if _, err := CellLogDir(onlyDir, c.Client, c.Server, c.Case); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, onlyDir, only)
	onlyPage := readFile(t, filepath.Join(onlyDir, IndexFile))
	if len(elementsWith(t, onlyPage, "data-pair-client")) == 0 {
		t.Error("the run of fault cells alone shows no fault matrix")
	}
	for _, n := range elementsWith(t, onlyPage, "id") {
		if attr(n, "id") == "matrix" {
			t.Error("a run of fault cells alone shows an empty main matrix")
		}
	}
	if !bytes.Contains(onlyPage, []byte(`id="no-main"`)) {
		t.Error("a run of fault cells alone does not say why there is no main matrix")
	}

	// Runs with one seed merge to it; runs with different seeds to none.
	other := seed - 1
	if s := mergeFaultSeed([]Run{{FaultSeed: &seed}, {FaultSeed: &seed}}); s == nil || *s != seed {
		t.Errorf("merged seed %v, want %d", s, seed)
	}
	if s := mergeFaultSeed([]Run{{FaultSeed: &seed}, {FaultSeed: &other}}); s != nil {
		t.Errorf("merged seed of different seeds %d, want none", *s)
	}
}
