// Package syncio holds the writers that several goroutines share: a peer's log written by its
// stdout and stderr readers and by the code driving it, a key log written by every connection.
package syncio

import (
	"bytes"
	"io"
	"sync"
)

// Writer serializes writes to its target. The target can be changed while in use (Set); with
// none, writes are discarded.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Set changes the target; nil discards what follows.
func (s *Writer) Set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

// Buffer is a bytes.Buffer that may be written and read from several goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
