package port

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

func TestCheck(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ttyUSB9")
	err := Check(missing, 115200)
	if !errors.Is(err, ErrPortMissing) || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing port: %v", err)
	}

	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	if err := Check(tty.Name(), 115200); err != nil {
		t.Errorf("a free pty: %v", err)
	}

	// Another process holds the port open, as a serial monitor would.
	holder := exec.Command("sleep", "30")
	holder.Stdin = tty
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	err = Check(tty.Name(), 115200)
	if !errors.Is(err, ErrPortBusy) || !strings.Contains(err.Error(), "sleep") || strings.Contains(err.Error(), "\n") {
		t.Errorf("busy port: %v", err)
	}
	if h := Holders(tty.Name()); len(h) != 1 {
		t.Errorf("holders %v, want the one sleep", h)
	}
}
