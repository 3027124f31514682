package flash

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	r := Request{Port: "/dev/ttyACM0", Baud: 921600, ELF: "fw.elf", Args: []string{"--chip", "esp32s3"}}
	if got := strings.Join(r.Command(), " "); got != "flash --port /dev/ttyACM0 --baud 921600 --chip esp32s3 fw.elf" {
		t.Errorf("command %q", got)
	}
	r.Baud, r.Args = 0, nil
	if got := strings.Join(r.Command(), " "); got != "flash --port /dev/ttyACM0 fw.elf" {
		t.Errorf("command %q", got)
	}
}

func TestRunErrors(t *testing.T) {
	elf := filepath.Join(t.TempDir(), "fw.elf")
	os.WriteFile(elf, []byte("\x7fELF"), 0o644)
	ctx := context.Background()

	if err := Run(ctx, Request{Port: "/dev/x", ELF: filepath.Join(t.TempDir(), "missing.elf")}); err == nil || !strings.Contains(err.Error(), "missing.elf") {
		t.Errorf("missing image: %v", err)
	}
	if err := Run(ctx, Request{Port: "/dev/x"}); err == nil || !strings.Contains(err.Error(), "no firmware image") {
		t.Errorf("no image: %v", err)
	}
	if err := Run(ctx, Request{ELF: elf}); err == nil || !strings.Contains(err.Error(), "no port") {
		t.Errorf("no port: %v", err)
	}

	t.Setenv("ESPFLASH", "")
	t.Setenv("PATH", t.TempDir())
	if err := Run(ctx, Request{Port: "/dev/x", ELF: elf}); !errors.Is(err, ErrEspflashMissing) {
		t.Errorf("without espflash: %v", err)
	}
	t.Setenv("ESPFLASH", "/nonexistent/espflash")
	if err := Run(ctx, Request{Port: "/dev/x", ELF: elf}); err == nil || !strings.Contains(err.Error(), "ESPFLASH=/nonexistent/espflash") {
		t.Errorf("bad ESPFLASH: %v", err)
	}
}
