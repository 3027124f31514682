package framework

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/irohconf/irohconf/internal/linehistory"
)

// Tap collects the output of one peer (a process, a container, a board's console, an in-process
// endpoint) as timestamped lines. A cell takes a Mark when it starts and writes the lines since
// then into its own log folder, so one long-lived server yields one log per cell.
type Tap struct {
	name  string
	lines *linehistory.History[Line]

	mu      sync.Mutex // orders splitting and mirroring with the history
	split   linehistory.Splitter
	mirror  io.Writer
	stamped bool // lines carry their own time (a board's serial log)
}

// Line is one line of peer output.
type Line struct {
	Time time.Time
	Text string
}

// NewTap returns an empty tap. mirror, when not nil, gets every line as it arrives (the
// test's own log).
func NewTap(name string, mirror io.Writer) *Tap {
	return &Tap{name: name, lines: linehistory.New[Line](0), mirror: mirror}
}

// LinesAreStamped says the writer already puts a time on every line, so log files do not get
// a second one.
func (t *Tap) LinesAreStamped() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stamped = true
}

// Name is the peer the tap belongs to.
func (t *Tap) Name() string { return t.name }

// Write takes raw output; it splits lines itself, so it can be handed to exec.Cmd or a log
// consumer directly.
func (t *Tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.split.Write(p, t.appendLocked)
	return len(p), nil
}

// Printf adds one line (for events the suite itself observes).
func (t *Tap) Printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.appendLocked(fmt.Sprintf(format, args...))
}

func (t *Tap) appendLocked(text string) {
	if t.mirror != nil {
		fmt.Fprintf(t.mirror, "[%s] %s\n", t.name, text)
	}
	t.lines.Append(Line{Time: time.Now(), Text: text})
}

// Mark is a position in the tap.
type Mark int

// Mark returns the current end of the tap.
func (t *Tap) Mark() Mark { return Mark(t.lines.Mark()) }

// Since returns the lines after m.
func (t *Tap) Since(m Mark) []Line { return t.lines.Since(int(m)) }

// WaitFor waits until a line after m matches re, and returns it with its submatches and the
// mark after it. It gives up when ctx ends, naming what it waited for.
func (t *Tap) WaitFor(ctx context.Context, m Mark, re *regexp.Regexp) (Line, []string, Mark, error) {
	l, pos, err := t.lines.Wait(ctx, int(m), func(l Line) bool { return re.MatchString(l.Text) })
	if err != nil {
		return Line{}, nil, Mark(pos), fmt.Errorf("%s: no line matching %q: %w", t.name, re, err)
	}
	return l, re.FindStringSubmatch(l.Text), Mark(pos + 1), nil
}

// WaitLine is WaitFor as the peer contract's waits read an output (peercontract.Output).
func (t *Tap) WaitLine(ctx context.Context, from int, re *regexp.Regexp) (string, int, error) {
	l, _, next, err := t.WaitFor(ctx, Mark(from), re)
	return l.Text, int(next), err
}

// WriteFile writes the lines since m to path, each with its time.
func (t *Tap) WriteFile(path string, m Mark) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	t.mu.Lock()
	stamped := t.stamped
	t.mu.Unlock()
	for _, l := range t.Since(m) {
		if stamped {
			fmt.Fprintf(w, "%s\n", l.Text)
			continue
		}
		fmt.Fprintf(w, "%s %s\n", l.Time.UTC().Format("15:04:05.000000"), l.Text)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
