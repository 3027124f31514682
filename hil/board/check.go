package board

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
)

// CheckTimeout bounds Check's search for a board named by USB serial number or VID:PID.
const CheckTimeout = 3 * time.Second

// Check tells, before a run, whether the board the profile describes can be reached: a serial
// board's port is found, exists and is free (port.Check); the virtual board's binary is built.
// It returns the port's path (empty for a virtual board) and one line of error.
func Check(ctx context.Context, p *profile.Profile) (string, error) {
	if p.Kind == profile.Virtual {
		bin, err := VirtualBoardBinary(p)
		if err != nil {
			return "", fmt.Errorf("board %s: %w", p.Name, err)
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("board %s: the virtual board is not built (make virtual-board): %w", p.Name, err)
		}
		return "", nil
	}
	if port.IsRemote(p.Port.Path) {
		// A board on another host (rfc2217://host:port): connecting now could take the port from
		// a process already running a pair (ser2net's kickolduser); opening it for a pair says
		// whether it answers.
		return p.Port.Path, nil
	}
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	b := &Board{Profile: p}
	path, err := port.Find(ctx, b.selector())
	if err != nil {
		return "", fmt.Errorf("board %s: %w", p.Name, err)
	}
	if err := port.Check(path, p.Baud); err != nil {
		return path, fmt.Errorf("board %s: %w", p.Name, err)
	}
	return path, nil
}
