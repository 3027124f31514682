package framework

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Tap collects the output of one peer (a process, a container, a board's console, an in-process
// endpoint) as timestamped lines. A cell takes a Mark when it starts and writes the lines since
// then into its own log folder, so one long-lived server yields one log per cell.
type Tap struct {
	name string

	mu      sync.Mutex
	lines   []Line
	changed chan struct{} // closed and replaced on every append
	partial []byte
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
	return &Tap{name: name, changed: make(chan struct{}), mirror: mirror}
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
	data := append(t.partial, p...)
	for {
		i := strings.IndexByte(string(data), '\n')
		if i < 0 {
			break
		}
		t.appendLocked(strings.TrimRight(string(data[:i]), "\r"))
		data = data[i+1:]
	}
	t.partial = append([]byte(nil), data...)
	return len(p), nil
}

// Printf adds one line (for events the suite itself observes).
func (t *Tap) Printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.appendLocked(fmt.Sprintf(format, args...))
}

func (t *Tap) appendLocked(text string) {
	l := Line{Time: time.Now(), Text: text}
	t.lines = append(t.lines, l)
	if t.mirror != nil {
		fmt.Fprintf(t.mirror, "[%s] %s\n", t.name, text)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// Mark is a position in the tap.
type Mark int

// Mark returns the current end of the tap.
func (t *Tap) Mark() Mark {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Mark(len(t.lines))
}

// Since returns the lines after m.
func (t *Tap) Since(m Mark) []Line {
	t.mu.Lock()
	defer t.mu.Unlock()
	if int(m) > len(t.lines) {
		return nil
	}
	return append([]Line(nil), t.lines[m:]...)
}

// WaitFor waits until a line after m matches re, and returns it with its submatches. It gives
// up when ctx ends, naming what it waited for.
func (t *Tap) WaitFor(ctx context.Context, m Mark, re *regexp.Regexp) (Line, []string, Mark, error) {
	next := int(m)
	for {
		t.mu.Lock()
		for ; next < len(t.lines); next++ {
			if sm := re.FindStringSubmatch(t.lines[next].Text); sm != nil {
				l := t.lines[next]
				t.mu.Unlock()
				return l, sm, Mark(next + 1), nil
			}
		}
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Line{}, nil, Mark(next), fmt.Errorf("%s: no line matching %q: %w", t.name, re, context.Cause(ctx))
		}
	}
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
