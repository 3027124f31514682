package peers

import (
	"fmt"
	"github.com/irohconf/irohconf/internal/repo"
	"os"
	"path/filepath"
	"strings"

	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/suites/framework"
)

// Set is the peers of one suite run.
type Set struct {
	Clients []framework.ClientPeer
	Servers []framework.ServerPeer
	// Pairs, when set, are the pairs the matrix has (framework.Matrix.Pairs).
	Pairs func(client framework.ClientPeer, server framework.ServerPeer) bool
}

// dials tells whether a board peer is also a client: its firmware takes the dial command.
func (p *BoardPeer) dials() bool { return p.manifest.HasRole(framework.RoleClient) }

// withBoard: the pairs with a board on at least one side (the hil matrix), but no board
// dialing itself.
func withBoard(client framework.ClientPeer, server framework.ServerPeer) bool {
	_, c := client.(*BoardPeer)
	_, s := server.(*BoardPeer)
	return (c || s) && notItself(client, server)
}

// notItself: a board does not dial itself (one key: iroh refuses to connect to its own id).
func notItself(client framework.ClientPeer, server framework.ServerPeer) bool {
	b, ok := client.(*BoardPeer)
	return !ok || framework.Peer(b) != framework.Peer(server)
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

	ups, err := NewUpstreamPeers()
	if err != nil {
		return s, err
	}
	for _, u := range ups {
		s.Clients = append(s.Clients, u)
		s.Servers = append(s.Servers, u)
	}

	vp, err := LoadBoardProfile("virtual")
	if err != nil {
		return s, err
	}
	vb, err := NewBoardPeer(vp)
	if err != nil {
		return s, err
	}
	s.Servers = append(s.Servers, vb)
	if vb.dials() {
		s.Clients = append(s.Clients, vb)
		s.Pairs = notItself
	}
	return s, nil
}

// EnvFlash asks the hil suite to flash each board before its first boot: "profile" writes the
// profile's flash.elf (else EnvFirmwareELF's image), any other value is the path of an ELF image.
const EnvFlash = "IROHCONF_FLASH"

// EnvFirmwareELF is the image `make firmware` built last (the Makefile sets it): what
// IROHCONF_FLASH=profile writes to a board whose profile names no flash.elf.
const EnvFirmwareELF = "IROHCONF_FIRMWARE_ELF"

// EnvELF names the image a board runs without flashing it, to decode a crash's backtrace.
const EnvELF = "IROHCONF_ELF"

// flashImage is the image EnvFlash's value asks to write to a board.
func flashImage(prof *profile.Profile, flash string) (string, error) {
	if flash != "profile" {
		return flash, nil
	}
	if elf := prof.FlashELF(); elf != "" {
		return elf, nil
	}
	if elf := os.Getenv(EnvFirmwareELF); elf != "" {
		return elf, nil
	}
	return "", fmt.Errorf("board %s: nothing to flash: its profile names no flash.elf and no firmware image is built (make firmware), or give FLASH=path/to/image.elf", prof.Name)
}

// HilSet is the hardware-in-the-loop matrix: the boards (profile names or paths, separated by
// commas, or a bare port that gets a default profile) as servers, the Go peer and every upstream
// version as clients; a board whose firmware dials is also a client, of the Go peer, every
// upstream version and the boards. Only pairs with a board on one side run. flash, when not
// empty, is EnvFlash's value.
func HilSet(boardProfiles, portPath, flash string) (Set, error) {
	var s Set
	var profiles []*profile.Profile
	switch {
	case boardProfiles != "":
		for _, name := range strings.Split(boardProfiles, ",") {
			prof, err := LoadBoardProfile(strings.TrimSpace(name))
			if err != nil {
				return s, err
			}
			profiles = append(profiles, prof)
		}
	case portPath != "":
		prof, err := profile.ForPort(portPath)
		if err != nil {
			return s, err
		}
		profiles = append(profiles, prof)
	default:
		return s, fmt.Errorf("no board: set BOARD=<profile> or PORT=<serial port>")
	}
	for _, prof := range profiles {
		b, err := NewBoardPeer(prof)
		if err != nil {
			return s, err
		}
		if flash != "" {
			elf, err := flashImage(prof, flash)
			if err != nil {
				return s, err
			}
			if err := b.FlashBeforeBoot(elf); err != nil {
				return s, err
			}
		}
		if elf := os.Getenv(EnvELF); elf != "" {
			b.DecodeWith(elf)
		}
		s.Servers = append(s.Servers, b)
	}
	var boardClients []framework.ClientPeer
	for _, sv := range s.Servers {
		if b := sv.(*BoardPeer); b.dials() {
			boardClients = append(boardClients, b)
		}
	}
	g, err := NewGoPeer()
	if err != nil {
		return s, err
	}
	s.Clients = append(s.Clients, g)
	ups, err := NewUpstreamPeers()
	if err != nil {
		return s, err
	}
	for _, u := range ups {
		s.Clients = append(s.Clients, u)
	}
	if len(boardClients) > 0 {
		s.Servers = append(s.Servers, g)
		for _, u := range ups {
			s.Servers = append(s.Servers, u)
		}
		s.Clients = append(s.Clients, boardClients...)
		s.Pairs = withBoard
	}
	return s, nil
}

// RepoRoot is the checkout the suite runs from (internal/repo); "." when it cannot be found, so
// that paths under it fail with an error naming the file.
func RepoRoot() string {
	root, err := repo.Root()
	if err != nil {
		return "."
	}
	return root
}

// ReportRoot is where runs land: reports/ of the checkout, unless IROHCONF_REPORTS says otherwise.
func ReportRoot() string {
	if r := os.Getenv("IROHCONF_REPORTS"); r != "" {
		return r
	}
	return filepath.Join(RepoRoot(), "reports")
}

// ExpectedFailuresFile is the list of cells known to fail (suites/expected-failures.yaml).
func ExpectedFailuresFile() string {
	return filepath.Join(RepoRoot(), "suites", "expected-failures.yaml")
}

// NewMatrix is a suite's matrix over a set of peers: the cases, the report folder and the list of
// expected failures.
func NewMatrix(suite string, set Set, cases []framework.Case) (*framework.Matrix, error) {
	expected, err := framework.LoadExpectedFailures(ExpectedFailuresFile())
	if err != nil {
		return nil, err
	}
	m := &framework.Matrix{
		Suite:      suite,
		Clients:    set.Clients,
		Servers:    set.Servers,
		Cases:      cases,
		ReportRoot: ReportRoot(),
		Expected:   expected,
		Pairs:      set.Pairs,
	}
	return m, m.Check()
}
