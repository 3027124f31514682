package framework

import (
	"testing"

	"github.com/irohconf/irohconf/reports"
)

// A board learns its version when it boots, in the process that runs its pair: the report
// takes it from the cells, whichever process writes it.
func TestPeerVersionComesFromTheCells(t *testing.T) {
	board := &fakePeer{manifest: fakeManifest("board", []Role{RoleServer})}
	unbooted := &unknownVersion{board}
	cells := []reports.Cell{
		{Client: "cl", Server: "board", Case: "a", PeerVersions: map[string]string{"cl": "fake 1", "board": "fw 0.2.0"}},
		{Client: "cl", Server: "board", Case: "b", PeerVersions: map[string]string{"cl": "fake 1"}}, // the board did not boot
		{Client: "cl", Server: "board", Case: "c", PeerVersions: map[string]string{"cl": "fake 1", "board": "fw 0.1.0"}},
	}
	for _, tc := range []struct {
		name  string
		cells []reports.Cell
		want  string
	}{
		{"booted in another process", cells[:1], "fw 0.2.0"},
		{"reflashed during the run", cells, "fw 0.1.0, fw 0.2.0"},
		{"never booted", cells[1:2], ""},
	} {
		if got := peerVersion(unbooted, tc.cells); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := peerVersion(board, cells[1:2]); got != "fake 1" {
		t.Errorf("a peer no cell names a version of: %q, want its own %q", got, "fake 1")
	}
}

// unknownVersion is a board in a process that never booted it.
type unknownVersion struct{ *fakePeer }

func (unknownVersion) Version() string { return "" }
