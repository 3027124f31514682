package peers

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/irohconf/irohconf/containers"
)

// Every shipped manifest parses, and the matrix sets build from them.
func TestManifestsAndSets(t *testing.T) {
	for _, kind := range []string{"go", "upstream", "virtual-board", "board", "iroh-esp32-example"} {
		if _, err := Manifest(kind); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	set, err := InteropSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Clients) != 4 || len(set.Servers) != 4 {
		t.Fatalf("interop matrix has %d clients and %d servers, want 4 (the virtual board dials) and 4", len(set.Clients), len(set.Servers))
	}
	// Every driver provides what its manifest declares, and declares what it provides.
	if _, err := NewMatrix("interop", set, nil); err != nil {
		t.Fatalf("the interop matrix does not build: %v", err)
	}
	if _, err := HilSet("", "", ""); err == nil {
		t.Fatal("a hil set without a board was accepted")
	}
	if _, err := HilSet("virtual", "", "profile"); err == nil {
		t.Fatal("a virtual board was accepted for flashing")
	}
	if _, err := HilSet("virtual", "", ""); err != nil {
		t.Fatalf("the virtual hil set: %v", err)
	}
}

// The upstream manifest declares exactly the pinned versions (containers.Pinned, which a test
// in containers checks against the folders make upstream builds).
func TestUpstreamManifestVersionsArePinned(t *testing.T) {
	m, err := Manifest("upstream")
	if err != nil {
		t.Fatal(err)
	}
	var pinned []string
	for _, v := range containers.Pinned {
		pinned = append(pinned, string(v))
	}
	declared := slices.Clone(m.Versions)
	slices.Sort(declared)
	slices.Sort(pinned)
	if !slices.Equal(declared, pinned) {
		t.Fatalf("suites/peers/manifests/upstream.yaml declares versions %v, containers.Pinned is %v", m.Versions, containers.Pinned)
	}
}

// The boards' manifests name the iroh release the firmware is built on, as firmware/Cargo.lock
// pins it: the expected failures match boards by it.
func TestBoardManifestsNameTheFirmwaresIroh(t *testing.T) {
	lock, err := os.ReadFile(filepath.Join(RepoRoot(), "firmware", "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^name = "iroh"\nversion = "([^"]+)"`).FindSubmatch(lock)
	if m == nil {
		t.Fatal("firmware/Cargo.lock has no iroh package")
	}
	for _, kind := range []string{"board", "virtual-board"} {
		man, err := Manifest(kind)
		if err != nil {
			t.Fatal(err)
		}
		if man.IrohVersion != string(m[1]) || man.Firmware != "irohconf-fw" {
			t.Errorf("%s declares %s on iroh %q; firmware/Cargo.lock has iroh %s", kind, man.Firmware, man.IrohVersion, m[1])
		}
	}
	prof, err := LoadBoardProfile("virtual-example-firmware")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := NewBoardPeer(prof)
	if err != nil {
		t.Fatal(err)
	}
	if got := vb.Manifest(); got.Firmware != "iroh-esp32-example" || got.IrohVersion != string(m[1]) {
		t.Errorf("the virtual board playing the examples: %s on iroh %q", got.Firmware, got.IrohVersion)
	}
}
