package framework

import (
	"errors"
	"fmt"

	"github.com/irohconf/irohconf/reports"
)

// Outcome is how a cell ended; the report defines the four.
type Outcome = reports.Outcome

const (
	Succeeded   = reports.Succeeded
	Failed      = reports.Failed
	Unsupported = reports.Unsupported // declared by a peer, never inferred from a failure
	Errored     = reports.Error       // the test bed broke: no Docker engine, a board that does not answer
)

// unsupportedError marks a cell a peer declared it cannot run; peer is the peer whose
// declaration rules the cell out.
type unsupportedError struct{ peer, reason string }

func (e *unsupportedError) Error() string { return "unsupported: " + e.reason }

// NotDeclared returns the error that makes a cell unsupported, blaming peer (by manifest name).
func NotDeclared(peer, format string, args ...any) error {
	return &unsupportedError{peer: peer, reason: fmt.Sprintf(format, args...)}
}

// Blamed is the peer an unsupported error blames, if err is one.
func Blamed(err error) (string, bool) {
	var un *unsupportedError
	if !errors.As(err, &un) {
		return "", false
	}
	return un.peer, true
}

// testbedError marks a failure of the test bed rather than of a peer.
type testbedError struct{ err error }

func (e *testbedError) Error() string { return "test bed: " + e.err.Error() }
func (e *testbedError) Unwrap() error { return e.err }

// Testbed wraps an error of the test bed (a peer that could not be started, a board that does
// not answer), so the cell ends as error, not failed.
func Testbed(err error) error {
	if err == nil {
		return nil
	}
	var tb *testbedError
	if errors.As(err, &tb) {
		return err
	}
	return &testbedError{err: err}
}

// Classify maps what a case returned to the cell's outcome and reason.
func Classify(err error) (Outcome, string) {
	var un *unsupportedError
	var tb *testbedError
	switch {
	case err == nil:
		return Succeeded, ""
	case errors.As(err, &un):
		return Unsupported, un.reason
	case errors.As(err, &tb):
		return Errored, tb.err.Error()
	default:
		return Failed, err.Error()
	}
}
