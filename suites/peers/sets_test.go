package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/suites/framework"
)

// FLASH=1 writes the profile's flash.elf, else the image `make firmware` built; with neither,
// the run does not start.
func TestHilSetFlashImage(t *testing.T) {
	t.Setenv(EnvFirmwareELF, "")
	t.Setenv(EnvELF, "")
	if _, err := HilSet("", "/dev/ttyUSB0", "profile"); err == nil || !strings.Contains(err.Error(), "nothing to flash") {
		t.Errorf("no image anywhere: %v", err)
	}

	t.Setenv(EnvFirmwareELF, "/build/irohconf-fw-esp32")
	set, err := HilSet("", "/dev/ttyUSB0", "profile")
	if err != nil {
		t.Fatal(err)
	}
	if b := set.Servers[0].(*BoardPeer); b.flash == nil || *b.flash != "/build/irohconf-fw-esp32" {
		t.Errorf("FLASH=1 without flash.elf: %v", b.flash)
	}

	dir := t.TempDir()
	prof := filepath.Join(dir, "bench.yaml")
	doc := "name: bench\nkind: serial\nchip: esp32s3\nfirmware: irohconf\nport: {path: /dev/ttyACM0}\nflash: {elf: fw.elf}\n"
	if err := os.WriteFile(prof, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvELF, "/decode/only.elf")
	set, err = HilSet(prof, "", "profile")
	if err != nil {
		t.Fatal(err)
	}
	b := set.Servers[0].(*BoardPeer)
	if b.flash == nil || *b.flash != filepath.Join(dir, "fw.elf") {
		t.Errorf("FLASH=1 with flash.elf: %v", b.flash)
	}
	if b.elf != "/decode/only.elf" {
		t.Errorf("ELF= for decoding: %q", b.elf)
	}
	set, err = HilSet(prof, "", "/other/image.elf")
	if err != nil || *set.Servers[0].(*BoardPeer).flash != "/other/image.elf" {
		t.Errorf("FLASH=path: %v", err)
	}
}

// The board dials (its manifest declares the client role): the hil matrix has it as a client of
// the Go peer, every upstream version and the boards, and only pairs with a board on a side.
func TestHilSetBoardAsClient(t *testing.T) {
	set, err := HilSet("virtual,virtual-example-firmware", "", "")
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []string) string { return strings.Join(ps, ",") }
	var clients, servers []string
	for _, c := range set.Clients {
		clients = append(clients, c.Manifest().Name)
	}
	for _, s := range set.Servers {
		servers = append(servers, s.Manifest().Name)
	}
	if got := names(clients); got != "go,upstream-1.0.0,upstream-1.4.1,virtual-board" {
		t.Errorf("clients %s", got)
	}
	if got := names(servers); got != "virtual-board,virtual-example-firmware,go,upstream-1.0.0,upstream-1.4.1" {
		t.Errorf("servers %s", got)
	}
	board, goPeer := set.Clients[3], set.Clients[0]
	for _, tc := range []struct {
		client int
		server int
		want   bool
	}{{0, 0, true}, {0, 2, false}, {1, 3, false}, {3, 2, true}, {3, 0, false}, {3, 1, true}} {
		if got := set.Pairs(set.Clients[tc.client], set.Servers[tc.server]); got != tc.want {
			t.Errorf("pair %s → %s: %v, want %v", clients[tc.client], servers[tc.server], got, tc.want)
		}
	}
	if _, ok := board.(framework.SessionClient); !ok {
		t.Error("the board client is not a session client")
	}
	if _, ok := goPeer.(framework.SessionClient); ok {
		t.Error("the Go peer is a session client")
	}
	is, err := InteropSet()
	if err != nil {
		t.Fatal(err)
	}
	last := is.Clients[len(is.Clients)-1]
	if last.Manifest().Name != "virtual-board" || is.Pairs(last, is.Servers[3]) || !is.Pairs(last, is.Servers[0]) || !is.Pairs(is.Clients[0], is.Servers[3]) {
		t.Errorf("interop: the virtual board (%s) dials every server but itself", last.Manifest().Name)
	}
}
