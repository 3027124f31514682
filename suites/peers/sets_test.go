package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
