package peers

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/irohconf/irohconf/suites/framework"
)

// Set is the peers of one suite run.
type Set struct {
	Clients []framework.ClientPeer
	Servers []framework.ServerPeer
}

// InteropSet is the interop matrix: the Go peer, every pinned upstream version, and the
// virtual board as a server.
func InteropSet() (Set, error) {
	var s Set
	g, err := NewGoPeer()
	if err != nil {
		return s, err
	}
	s.Clients = append(s.Clients, g)
	s.Servers = append(s.Servers, g)
	return s, nil
}

// RepoRoot is the checkout the suite runs from (where go.mod is).
func RepoRoot() string {
	if r := os.Getenv("IROHCONF_ROOT"); r != "" {
		return r
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ReportRoot is where runs land: reports/ of the checkout, unless IROHCONF_REPORTS says otherwise.
func ReportRoot() string {
	if r := os.Getenv("IROHCONF_REPORTS"); r != "" {
		return r
	}
	return filepath.Join(RepoRoot(), "reports")
}
