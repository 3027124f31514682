package containers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/irohconf/irohconf/internal/linehistory"
	"github.com/irohconf/irohconf/peercontract"
)

// Stream names where a line came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogLine is one line a peer printed.
type LogLine struct {
	Time   time.Time
	Stream Stream
	Text   string
}

// output collects a peer's lines as they arrive (from a process's pipes or a container's log
// stream), copies each to a log with a prefix, and lets callers wait for a line.
type output struct {
	prefix string
	sink   io.Writer
	lines  *linehistory.History[LogLine]

	mu    sync.Mutex // orders splitting and the sink with the history
	split map[Stream]*linehistory.Splitter
	ended bool
}

func newOutput(prefix string, sink io.Writer) *output {
	if sink == nil {
		sink = io.Discard
	}
	return &output{prefix: prefix, sink: sink, lines: linehistory.New[LogLine](0),
		split: map[Stream]*linehistory.Splitter{Stdout: {}, Stderr: {}}}
}

// Accept implements testcontainers.LogConsumer.
func (o *output) Accept(l testcontainers.Log) {
	stream := Stdout
	if l.LogType == testcontainers.StderrLog {
		stream = Stderr
	}
	o.write(stream, l.Content)
}

// writer returns an io.Writer for one stream (a process's pipe).
func (o *output) writer(stream Stream) io.Writer { return streamWriter{o, stream} }

type streamWriter struct {
	o      *output
	stream Stream
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.o.write(w.stream, p)
	return len(p), nil
}

func (o *output) write(stream Stream, p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.split[stream].Write(p, func(text string) { o.addLocked(stream, text) })
}

func (o *output) addLocked(stream Stream, text string) {
	fmt.Fprintf(o.sink, "%s %s: %s\n", o.prefix, stream, text)
	o.lines.Append(LogLine{Time: time.Now(), Stream: stream, Text: text})
}

// end flushes unterminated lines and wakes every waiter for good.
func (o *output) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ended {
		return
	}
	for _, stream := range []Stream{Stdout, Stderr} {
		o.split[stream].Flush(func(text string) { o.addLocked(stream, text) })
	}
	o.ended = true
	o.lines.End(errOutputEnded, true)
}

// completeFrom takes a stream's full text from an authoritative source (a stopped container's
// log) and appends the lines the live stream had not delivered yet: a container's log stream is
// cut when it stops, so its last lines may only be in the engine's log.
func (o *output) completeFrom(stream Stream, full []byte) {
	seen := 0
	for _, l := range o.lines.Since(0) {
		if l.Stream == stream {
			seen++
		}
	}
	o.mu.Lock()
	o.split[stream].Reset()
	o.mu.Unlock()

	lines := bytes.SplitAfter(full, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if seen < len(lines) {
		for _, l := range lines[seen:] {
			o.write(stream, l)
		}
		if tail := lines[len(lines)-1]; !bytes.HasSuffix(tail, []byte("\n")) {
			o.write(stream, []byte("\n"))
		}
	}
}

// snapshot returns the lines so far.
func (o *output) snapshot() []LogLine { return o.lines.Since(0) }

// waitFor returns the first line at index >= from that match accepts, and the index after it.
// It fails when ctx ends or when the output ended without such a line.
func (o *output) waitFor(ctx context.Context, from int, match func(LogLine) bool) (LogLine, int, error) {
	l, pos, err := o.lines.Wait(ctx, from, match)
	if err != nil {
		return l, pos, err
	}
	return l, pos + 1, nil
}

var errOutputEnded = fmt.Errorf("the peer's output ended")

// stdoutOf is an output's stdout as the contract's waits read it.
func stdoutOf(o *output) peercontract.Output { return stdoutLines{o} }

type stdoutLines struct{ o *output }

func (s stdoutLines) WaitLine(ctx context.Context, from int, re *regexp.Regexp) (string, int, error) {
	l, next, err := s.o.waitFor(ctx, from, func(l LogLine) bool { return l.Stream == Stdout && re.MatchString(l.Text) })
	return l.Text, next, err
}
