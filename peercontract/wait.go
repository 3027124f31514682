package peercontract

import (
	"context"
	"regexp"
	"strings"
)

// Output is a peer's output as it arrives, read from a position on: what the waits below need
// of a line history.
type Output interface {
	// WaitLine waits for the first line at position from or later that re matches, and returns
	// its text and the position after it. It fails when ctx ends or the output ended.
	WaitLine(ctx context.Context, from int, re *regexp.Regexp) (text string, next int, err error)
}

// WaitReady waits for serve's ready line from position from on and returns it with the position
// after it.
func WaitReady(ctx context.Context, out Output, from int) (Ready, int, error) {
	line, next, err := out.WaitLine(ctx, from, ReadyLine)
	if err != nil {
		return Ready{}, from, err
	}
	r, err := ParseReady(line)
	return r, next, err
}

// WaitConnection waits for serve's line about a finished connection from remoteID (empty: any;
// ids compare without regard to case) from position from on.
func WaitConnection(ctx context.Context, out Output, from int, remoteID string) (Connection, error) {
	for {
		line, next, err := out.WaitLine(ctx, from, ConnectionLine)
		if err != nil {
			return Connection{}, err
		}
		from = next
		c, err := ParseConnection(line)
		if err != nil {
			return c, err
		}
		if remoteID == "" || strings.EqualFold(c.RemoteID, remoteID) {
			return c, nil
		}
	}
}

// Connections are the connection lines among lines (what a server printed so far); lines that
// do not parse are left out.
func Connections(lines []string) []Connection {
	var cs []Connection
	for _, l := range lines {
		if !ConnectionLine.MatchString(l) {
			continue
		}
		if c, err := ParseConnection(l); err == nil {
			cs = append(cs, c)
		}
	}
	return cs
}
