package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
)

// A port that is missing or busy is one line and exit 2, so `make hil` stops before any cell.
func TestBoardCheck(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ttyUSB7")
	invalid(t, run(t, "board", "check", "--port", missing), missing+": no such port")

	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	name := tty.Name()
	tty.Close() // only other processes may hold it: the check names this one as a holder too
	got := ok(t, run(t, "board", "check", "--port", name))
	if got["port"] != name || got["kind"] != "serial" {
		t.Errorf("free port: %v", got)
	}

	holder := exec.Command("sleep", "30")
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	holder.Stdin = f
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	invalid(t, run(t, "board", "check", "--port", name), "port is busy: held open by pid")

	invalid(t, run(t, "board", "check"), "no board")
	invalid(t, run(t, "board", "check", "--board", "no-such-profile"), "no-such-profile")
}
