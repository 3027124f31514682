package reset

import (
	"context"
	"fmt"
	"time"
)

// Lines are the modem control lines of a port.
type Lines interface {
	SetDTR(bool) error
	SetRTS(bool) error
}

// BothSetter is implemented by ports that can set DTR and RTS in one operation (TIOCMSET).
// Without it a U step sets DTR then RTS, as esptool does on Windows.
type BothSetter interface {
	SetDTRAndRTS(dtr, rts bool) error
}

// StepError reports which step of a sequence failed.
type StepError struct {
	Index int // 1-based
	Step  Step
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("reset step %d (%s): %v", e.Index, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run applies the sequence to the lines. Waits honour ctx; a cancelled ctx stops the sequence
// and leaves the lines where they are.
func Run(ctx context.Context, lines Lines, seq Sequence) error {
	for i, st := range seq {
		var err error
		switch st.Op {
		case SetDTR:
			err = lines.SetDTR(st.DTR)
		case SetRTS:
			err = lines.SetRTS(st.RTS)
		case SetBoth:
			if both, ok := lines.(BothSetter); ok {
				err = both.SetDTRAndRTS(st.DTR, st.RTS)
			} else if err = lines.SetDTR(st.DTR); err == nil {
				err = lines.SetRTS(st.RTS)
			}
		case Wait:
			err = sleep(ctx, st.Wait)
		default:
			err = fmt.Errorf("unknown operation %q", byte(st.Op))
		}
		if err != nil {
			return &StepError{Index: i + 1, Step: st, Err: err}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
