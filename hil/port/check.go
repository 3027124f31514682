package port

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.bug.st/serial"
)

// Why a board's port cannot be used; Check's errors match them with errors.Is.
var (
	ErrPortMissing = errors.New("no such port")
	ErrPortBusy    = errors.New("port is busy")
)

// Check tells whether the port at path can be opened for a run: it exists, no other process
// holds it open (a serial monitor, espflash, another run), and it opens. The error is one line
// that says which and, for a busy port, who holds it. It opens the port for a moment (DTR/RTS
// released, as Open does).
func Check(path string, baud int) error {
	if !IsRemote(path) {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s: %w (is the board plugged in? %s)", path, ErrPortMissing, presentHint())
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if holders := Holders(path); len(holders) > 0 {
			return fmt.Errorf("%s: %w: held open by %s", path, ErrPortBusy, strings.Join(holders, ", "))
		}
	}
	p, err := Open(path, baud)
	if err != nil {
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
			return fmt.Errorf("%s: %w (another program has it open exclusively)", path, ErrPortBusy)
		}
		return fmt.Errorf("%s: cannot open: %w", path, err)
	}
	return p.Close()
}

// presentHint lists the USB serial ports present, for an error about a missing one.
func presentHint() string {
	ports, err := ListUSB()
	if err != nil || len(ports) == 0 {
		return "no USB serial port is present"
	}
	var names []string
	for _, p := range ports {
		names = append(names, p.Path+" ("+p.VID+":"+p.PID+")")
	}
	return "USB serial ports present: " + strings.Join(names, ", ")
}

// Holders names the other processes that have the device at path open ("pid 1234 (picocom)"),
// from /proc/*/fd as fuser finds them; processes this user cannot see are not listed. Empty on
// systems without /proc.
func Holders(path string) []string {
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil
	}
	wantInfo, err := os.Stat(want)
	if err != nil {
		return nil
	}
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []string
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(target, "/dev/") {
				continue
			}
			if target != want {
				if info, err := os.Stat(target); err != nil || !os.SameFile(info, wantInfo) {
					continue
				}
			}
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			out = append(out, fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(string(comm))))
			break
		}
	}
	return out
}
