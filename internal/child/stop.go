// Package child stops the programs the suite runs as child processes the way the peer contract
// asks them to stop: SIGTERM, a clean exit, and a kill when that does not come in time.
package child

import (
	"fmt"
	"os"
	"syscall"
	"time"
)

// Exit is how a child process ended, as the goroutine that waits for it records it.
type Exit struct {
	Done <-chan struct{} // closed once the process was waited for
	Err  func() error    // the wait's error; read only after Done
}

// Stop sends p SIGTERM and waits at most within for it to exit; then it calls kill (or kills p
// when kill is nil) and waits for the exit, again at most within. It returns an error, naming the program name, when
// the process had already exited other than cleanly, did not exit 0 on SIGTERM, or had to be
// killed.
func Stop(name string, p *os.Process, exit Exit, within time.Duration, kill func()) error {
	select {
	case <-exit.Done:
		if err := exit.Err(); err != nil {
			return fmt.Errorf("%s had already exited: %w", name, err)
		}
		return nil
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-exit.Done:
		if err := exit.Err(); err != nil {
			return fmt.Errorf("%s did not exit cleanly on SIGTERM: %w", name, err)
		}
		return nil
	case <-timer.C:
	}
	if kill != nil {
		kill()
	} else {
		_ = p.Kill()
	}
	timer.Reset(within)
	select {
	case <-exit.Done:
		return fmt.Errorf("%s ignored SIGTERM for %v and was killed", name, within)
	case <-timer.C: // killed, yet its waiter has not returned (something still holds its output)
		return fmt.Errorf("%s ignored SIGTERM for %v, was killed, and was not reaped %v later", name, within, within)
	}
}
