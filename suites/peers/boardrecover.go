package peers

import (
	"context"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/profile"
)

// recoverTimeout is added to the profile's boot timeout for getting a crashed board back.
const recoverTimeout = 10 * time.Second

// recoverFromCrash gets a board that crashed ready again, as an ESP32 restarts itself after a
// panic or an abort, so that one crash fails the cell that caused it and not every later cell
// of the pair: a serial board is waited for (and reset if it does not come back), the virtual
// board, whose process has ended, is started again with the same key on the same address.
func (s *boardServer) recoverFromCrash() error {
	p := s.peer.profile
	ctx, cancel := context.WithTimeout(context.Background(), p.BootTimeout+recoverTimeout)
	defer cancel()
	s.b.Console().Notef("the board crashed: getting it ready again for the next cell")
	if p.Kind != profile.Virtual {
		s.b.Console().Discard()
		info, err := s.b.WaitReady(ctx)
		if err != nil && p.ResetMethod != profile.ResetNone {
			info, err = s.b.Reset(ctx)
		}
		if err != nil {
			return err
		}
		s.noteBoot(info)
		return nil
	}
	restart := *p
	vb := *p.VirtualBoard
	if last := s.boot(); last != nil && last.Addr.IsValid() {
		vb.Bind = last.Addr.String() // the same ticket address, as a board's after its reboot
	}
	restart.VirtualBoard = &vb
	if err := s.b.Close(); err != nil {
		s.tap.Printf("# the crashed virtual board: %v", err)
	}
	b, err := board.Open(ctx, &restart, s.tap)
	if err != nil {
		return fmt.Errorf("restarting the virtual board: %w", err)
	}
	// A new process is a power-on: its own boot log, no reset (an in-process reset would rebind
	// the address the old application may still hold).
	info, err := b.WaitReady(ctx)
	if err != nil {
		return fmt.Errorf("restarting the virtual board: %w (and closing it: %v)", err, b.Close())
	}
	s.mu.Lock()
	s.b = b
	s.crashSeen = b.Console().Mark()
	s.mu.Unlock()
	s.noteBoot(info)
	return nil
}
