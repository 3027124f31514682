// Package console reads a board's serial output into timestamped lines, writes them to the
// cell's serial log, and waits for lines with Expect, the way pytest-embedded's dut.expect does.
//
// The reader runs from the moment a port is attached, so a reset issued afterwards is seen
// from its first byte. Bytes that are not text (a ROM at another baud rate, line noise) are
// kept, shown escaped, noted and never fatal. A crash in the log (panic, abort, Guru
// Meditation, brownout, watchdog reset) fails the wait at once with a *CrashError.
package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/irohconf/irohconf/internal/linehistory"
)

// Defaults for Config.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxLineBytes = 4096
	// DefaultKeepLines bounds the history a console keeps; older lines stay in the log file.
	DefaultKeepLines = 100_000
)

// How much log a CrashError quotes, and how long it waits for the lines after the crash line
// (a backtrace follows at once, so this is short).
const (
	crashLinesBefore = 5
	crashLinesAfter  = 5
	crashAfterWait   = 500 * time.Millisecond
	timeoutTailLines = 10
	maxBeforeLines   = 500
)

// Config configures a Console.
type Config struct {
	// Log receives every line with a timestamp, and the console's notes. It may be nil.
	Log io.Writer
	// DefaultTimeout bounds an Expect whose context has no deadline.
	DefaultTimeout time.Duration
	// MaxLineBytes cuts lines that never end (a board printing without newlines, noise).
	MaxLineBytes int
	// KeepLines bounds the history kept in memory.
	KeepLines int
	// Now is the clock; tests leave it nil.
	Now func() time.Time
	// Annotate, when set, is asked about every line; the notes it returns go into the log
	// right after the line (a crash's backtrace decoded to function names, hil/backtrace).
	Annotate func(text string) []string
}

// ErrClosed is returned by waits on a closed console.
var ErrClosed = errors.New("console closed")

// Console is the line history of one board's serial output, with a cursor for Expect.
type Console struct {
	cfg Config

	logMu  sync.Mutex
	logErr error

	// lines is the history; a line's Seq is its position in it.
	lines *linehistory.History[Line]

	mu     sync.Mutex
	cursor int // Seq of the first line Expect has not looked at
	closed bool
	// lastData is when bytes last arrived, for Settle.
	lastData time.Time

	// The attached reader.
	source   io.ReadCloser
	detached chan struct{} // closed when the reading goroutine has ended
	readErr  error         // why the last reader ended, when nobody asked it to
	stopping bool
}

// New makes a console; Attach gives it something to read.
func New(cfg Config) *Console {
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = DefaultTimeout
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.KeepLines <= 0 {
		cfg.KeepLines = DefaultKeepLines
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Console{cfg: cfg, lines: linehistory.New[Line](cfg.KeepLines)}
}

// Attach starts reading src (an open serial port) in the background. The console owns src
// until Detach or Close, which close it. One source at a time.
func (c *Console) Attach(src io.ReadCloser) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.source != nil {
		return errors.New("console: a source is already attached")
	}
	c.source = src
	c.lastData = c.cfg.Now() // Settle counts quiet from here
	c.readErr = nil
	c.stopping = false
	c.detached = make(chan struct{})
	c.lines.Resume()
	go c.read(src, c.detached)
	return nil
}

// Detach stops reading, closes the source and waits for the reader to end. Lines already read
// stay. It is used before the port is handed to a flasher or reopened after a USB reset.
func (c *Console) Detach() error {
	c.mu.Lock()
	src, done := c.source, c.detached
	if src == nil {
		c.mu.Unlock()
		return nil
	}
	c.stopping = true
	c.mu.Unlock()

	err := src.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		err = errors.Join(err, errors.New("console: the reader did not stop within 5s after its port was closed"))
	}
	return err
}

// ReaderDone is closed when the attached reader has ended (the port went away or was
// detached); with nothing attached it is already closed.
func (c *Console) ReaderDone() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source == nil || c.detached == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.detached
}

// Close detaches and ends every wait with ErrClosed.
func (c *Console) Close() error {
	err := c.Detach()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.lines.End(ErrClosed, true)
	return err
}

func (c *Console) read(src io.Reader, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 1024)
	var partial []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			c.mu.Lock()
			c.lastData = c.cfg.Now()
			c.mu.Unlock()
			partial = c.feed(partial, buf[:n])
		}
		if err != nil {
			c.mu.Lock()
			stopping := c.stopping
			c.mu.Unlock()
			if len(partial) > 0 {
				c.appendLine(partial, false)
			}
			if stopping {
				c.Notef("console: stopped reading")
			} else {
				c.Notef("console: reading ended: %v", err)
			}
			c.mu.Lock()
			if c.detached == done { // not replaced by a later Attach
				if !stopping {
					c.readErr = err
					c.lines.End(errReadEnded, false)
				}
				c.source = nil
			}
			c.mu.Unlock()
			return
		}
	}
}

// feed splits received bytes into lines and returns the unfinished rest.
func (c *Console) feed(partial, data []byte) []byte {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		end := i >= 0
		if !end {
			i = len(data)
		}
		partial = append(partial, data[:i]...)
		data = data[min(i+1, len(data)):]
		for len(partial) > c.cfg.MaxLineBytes {
			c.appendLine(partial[:c.cfg.MaxLineBytes], true)
			partial = append(partial[:0], partial[c.cfg.MaxLineBytes:]...)
		}
		if end {
			c.appendLine(bytes.TrimRight(partial, "\r"), false)
			partial = partial[:0]
		}
	}
	return partial
}

func (c *Console) appendLine(b []byte, cut bool) {
	text := c.appendLineLocked(b, cut)
	if c.cfg.Annotate != nil {
		for _, n := range c.cfg.Annotate(text) {
			c.Notef("%s", n)
		}
	}
}

func (c *Console) appendLineLocked(b []byte, cut bool) string {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	l := newLine(c.lines.Mark(), now, b, cut)
	// Into the log before any waiter wakes, so the log keeps the order things happened in.
	c.writeLog(now, "|", l.Raw)
	if l.Garbage != "" {
		c.writeLog(now, "#", "console: line above: "+l.Garbage)
	}
	if l.Crash != "" {
		c.writeLog(now, "#", "console: line above shows a crash ("+string(l.Crash)+")")
	}
	c.lines.Append(l)
	return l.Text
}

// AppendLine adds a line that did not come over the port (a crash the virtual board wrote to
// its stderr as it died), so that it is logged, matched and reported like a line read from it.
func (c *Console) AppendLine(text string) { c.appendLine([]byte(text), false) }

// errReadEnded ends the waits while the port delivers nothing (until the next Attach).
var errReadEnded = errors.New("console: reading ended")

// Notef writes a note of the driver (a reset, a flash, a reopen) into the serial log, so the
// log tells what happened to the board between its lines.
func (c *Console) Notef(format string, args ...any) {
	c.writeLog(c.cfg.Now(), "#", fmt.Sprintf(format, args...))
}

func (c *Console) writeLog(at time.Time, mark, text string) {
	if c.cfg.Log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if c.logErr != nil {
		return
	}
	_, err := fmt.Fprintf(c.cfg.Log, "%s %s %s\n", at.UTC().Format("2006-01-02T15:04:05.000000Z"), mark, text)
	// A broken log writer must not stop the board's lines from being read and matched.
	c.logErr = err
}

// LogError is the first error the log writer returned, if any.
func (c *Console) LogError() error {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.logErr
}

// Mark is the Seq the next line will get; Lines(Mark()) later returns what came after.
func (c *Console) Mark() int { return c.lines.Mark() }

// Lines returns the kept lines with Seq >= from.
func (c *Console) Lines(from int) []Line { return c.lines.Since(from) }

// Crashes returns the crash lines with Seq >= from.
func (c *Console) Crashes(from int) []Line {
	var out []Line
	for _, l := range c.Lines(from) {
		if l.Crash != "" {
			out = append(out, l)
		}
	}
	return out
}

// Settle waits until no byte has arrived for quiet, or until limit has passed, whichever
// comes first. Before a reset it lets output that was already on its way (buffered in the
// tty while nobody read) arrive, so Discard skips it rather than a wait mistaking it for the
// new boot.
func (c *Console) Settle(ctx context.Context, quiet, limit time.Duration) {
	end := c.cfg.Now().Add(limit)
	for {
		c.mu.Lock()
		last := c.lastData
		c.mu.Unlock()
		now := c.cfg.Now()
		wait := last.Add(quiet).Sub(now)
		if wait <= 0 || !now.Before(end) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(wait, end.Sub(now))):
		}
	}
}

// Discard moves the cursor past every line read so far, so the next Expect only sees new
// lines (used right before a reset). It returns the first crash among the skipped lines that
// no Expect had looked at, or nil.
func (c *Console) Discard() *CrashError {
	c.mu.Lock()
	defer c.mu.Unlock()
	skipped := c.lines.Since(c.cursor)
	c.cursor = c.lines.Mark()
	for _, l := range skipped {
		if l.Crash != "" {
			return c.crashAt(l.Seq)
		}
	}
	return nil
}

// Match is a line that matched.
type Match struct {
	Line       Line
	Submatches []string // the pattern's submatches on Line.Text; [0] is the whole match
	Before     []Line   // the lines skipped between the previous match and this one
}

// BeforeText joins the Text of the lines before the match.
func (m *Match) BeforeText() string {
	texts := make([]string, len(m.Before))
	for i, l := range m.Before {
		texts[i] = l.Text
	}
	return strings.Join(texts, "\n")
}

// Expect waits for a line whose Text matches pattern, from the cursor on, and moves the cursor
// past it. It fails with *CrashError when a crash line comes first, *TimeoutError when ctx
// ends (or DefaultTimeout passes, when ctx has no deadline), *EndedError when the port stops
// delivering, ErrClosed after Close.
func (c *Console) Expect(ctx context.Context, pattern *regexp.Regexp) (*Match, error) {
	_, m, err := c.ExpectAny(ctx, pattern)
	return m, err
}

// ExpectAny waits for the first line matching any of the patterns and returns which one.
func (c *Console) ExpectAny(ctx context.Context, patterns ...*regexp.Regexp) (int, *Match, error) {
	if len(patterns) == 0 {
		return -1, nil, errors.New("console: Expect needs a pattern")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.DefaultTimeout)
		defer cancel()
	}
	started := c.cfg.Now()
	c.mu.Lock()
	from := max(c.cursor, c.lines.Base())
	c.mu.Unlock()
	which, sm := -1, []string(nil)
	l, seq, err := c.lines.Wait(ctx, from, func(l Line) bool {
		if l.Crash != "" {
			which = -1
			return true
		}
		for i, p := range patterns {
			if m := p.FindStringSubmatch(l.Text); m != nil {
				which, sm = i, m
				return true
			}
		}
		return false
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(err, ErrClosed):
		return -1, nil, ErrClosed
	case errors.Is(err, errReadEnded):
		c.cursor = seq
		return -1, nil, &EndedError{Err: c.readErr, Tail: c.lines.Tail(timeoutTailLines)}
	case err != nil:
		c.cursor = seq
		return -1, nil, &TimeoutError{Patterns: patternTexts(patterns), Waited: c.cfg.Now().Sub(started),
			Tail: c.lines.Tail(timeoutTailLines), Err: err}
	case which < 0:
		c.cursor = seq + 1
		return -1, nil, c.crashWithContextLocked(ctx, seq)
	}
	before := c.lines.Range(max(from, seq-maxBeforeLines), seq)
	c.cursor = seq + 1
	return which, &Match{Line: l, Submatches: sm, Before: before}, nil
}

// crashWithContextLocked waits briefly for the lines after a crash (the backtrace) and builds
// the error; the quoted lines are consumed with the crash line.
func (c *Console) crashWithContextLocked(ctx context.Context, seq int) error {
	ctx, cancel := context.WithTimeout(ctx, crashAfterWait)
	defer cancel()
	c.mu.Unlock()
	c.lines.WaitMark(ctx, seq+1+crashLinesAfter)
	c.mu.Lock()
	crash := c.crashAt(seq)
	c.cursor = max(c.cursor, seq+1+len(crash.After))
	return crash
}

// crashAt quotes the crash line at seq with the lines around it.
func (c *Console) crashAt(seq int) *CrashError {
	if seq < c.lines.Base() {
		return &CrashError{Kind: "unknown", Line: Line{Seq: seq, Raw: "(dropped from history)"}}
	}
	around := c.lines.Range(seq-crashLinesBefore, seq+1+crashLinesAfter)
	i := seq - max(seq-crashLinesBefore, c.lines.Base())
	return &CrashError{
		Kind:   around[i].Crash,
		Line:   around[i],
		Before: around[:i],
		After:  around[i+1:],
	}
}

func patternTexts(ps []*regexp.Regexp) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// TimeoutError is returned when no line matched in time.
type TimeoutError struct {
	Patterns []string
	Waited   time.Duration
	Tail     []Line // the last lines received, for the report
	Err      error  // the context's cause (context.DeadlineExceeded for a timeout)
}

func (e *TimeoutError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "no console line matched %s within %v", quoteAll(e.Patterns), e.Waited.Round(time.Millisecond))
	if e.Err != nil && !errors.Is(e.Err, context.DeadlineExceeded) {
		fmt.Fprintf(&sb, " (%v)", e.Err)
	}
	writeTail(&sb, e.Tail)
	return sb.String()
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// EndedError is returned when the port stopped delivering (the device went away, the virtual
// board exited) while a line was awaited.
type EndedError struct {
	Err  error
	Tail []Line
}

func (e *EndedError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "console ended: %v", e.Err)
	writeTail(&sb, e.Tail)
	return sb.String()
}

func (e *EndedError) Unwrap() error { return e.Err }

func writeTail(sb *strings.Builder, tail []Line) {
	if len(tail) == 0 {
		sb.WriteString("; nothing was received")
		return
	}
	sb.WriteString("; last lines received:")
	for _, l := range tail {
		sb.WriteString("\n  " + l.Raw)
	}
}

func quoteAll(ps []string) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(q, " or ")
}
