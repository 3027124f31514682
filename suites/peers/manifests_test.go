package peers

import "testing"

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
	if len(set.Clients) != 3 || len(set.Servers) != 4 {
		t.Fatalf("interop matrix has %d clients and %d servers, want 3 and 4", len(set.Clients), len(set.Servers))
	}
	// Every driver provides what its manifest declares, and declares what it provides.
	if _, err := NewMatrix("interop", set, nil); err != nil {
		t.Fatalf("the interop matrix does not build: %v", err)
	}
	if _, err := HilSet("", ""); err == nil {
		t.Fatal("a hil set without a board was accepted")
	}
}
