package board

import (
	"context"
	"errors"
	"fmt"

	"github.com/irohconf/irohconf/hil/boardlines"
	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/hil/reset"
)

// A resetter is one way of restarting a board: the profile's reset method.
type resetter interface {
	method() profile.ResetMethod
	// modemLines says whether it drives DTR/RTS, which a pseudo-terminal or a network bridge
	// does not have.
	modemLines() bool
	// reset restarts the board; info.FirstLine moves to where the new boot starts when the
	// method can tell.
	reset(ctx context.Context, b *Board, info *BootInfo) error
}

// resetter is the profile's reset method.
func (b *Board) resetter() resetter {
	switch m := b.Profile.ResetMethod; m {
	case profile.ResetConsole:
		return consoleReset{}
	case profile.ResetClassic, profile.ResetCustom:
		return lineReset{name: m, seq: b.Profile.ResetSequence}
	case profile.ResetUSBJTAG:
		return lineReset{name: m, seq: b.Profile.ResetSequence, reenumerates: true}
	default:
		return noReset{}
	}
}

// consoleReset sends the firmware's reset command and waits for its acknowledgement.
type consoleReset struct{}

func (consoleReset) method() profile.ResetMethod { return profile.ResetConsole }
func (consoleReset) modemLines() bool            { return false }

func (consoleReset) reset(ctx context.Context, b *Board, info *BootInfo) error {
	b.console.Notef("reset: console command")
	if err := b.send("reset"); err != nil {
		return err
	}
	// The firmware acknowledges the command; whatever came before is the old boot's.
	m, err := b.Expect(ctx, boardlines.Restarting)
	if err != nil {
		return fmt.Errorf("board %s: waiting for %q after the reset command: %w", b.Profile.Name, "Restarting...", err)
	}
	info.FirstLine = m.Line.Seq
	return nil
}

// lineReset runs a DTR/RTS sequence (classic, usb-jtag or a custom one). A board on its
// USB-Serial-JTAG drops off the bus and comes back, so its port is found and opened again; so
// is one whose port stopped answering during the sequence.
type lineReset struct {
	name         profile.ResetMethod
	seq          reset.Sequence
	reenumerates bool
}

func (r lineReset) method() profile.ResetMethod { return r.name }
func (lineReset) modemLines() bool              { return true }

func (r lineReset) reset(ctx context.Context, b *Board, _ *BootInfo) error {
	b.console.Notef("reset: %s (%s)", r.name, r.seq)
	err := b.runSequence(ctx, r.seq)
	hung := errors.Is(err, errSequenceHung)
	if hung {
		b.console.Notef("reset: %v", err)
	} else if err != nil {
		return fmt.Errorf("reset %s: %w", r.name, err)
	}
	if r.reenumerates || hung {
		return b.reopenIfGone(ctx, hung)
	}
	return nil
}

// noReset: nobody resets the board (a person presses EN, or it is already up).
type noReset struct{}

func (noReset) method() profile.ResetMethod { return profile.ResetNone }
func (noReset) modemLines() bool            { return false }
func (noReset) reset(context.Context, *Board, *BootInfo) error {
	return ErrCannotReset
}

// inferReset gives a profile that names no reset the one espflash would use on the port found
// for it (profile.ResetForUSB); a port that is no USB device gets the classic reset.
func inferReset(p *profile.Profile, path string, c interface{ Notef(string, ...any) }) error {
	if p.ResetMethod != "" {
		return nil
	}
	vid, pid, _, err := port.USBIdentity(path)
	if err != nil {
		return fmt.Errorf("board %s: infer the reset: %w", p.Name, err)
	}
	note, err := p.InferReset(vid, pid)
	if err != nil {
		return err
	}
	c.Notef("%s (%s)", note, path)
	return nil
}
