package linehistory

import "bytes"

// Splitter cuts a byte stream into lines at '\n', without a trailing '\r'; an unfinished line
// waits for the next Write. It is not safe for concurrent use.
type Splitter struct{ partial []byte }

// Write feeds bytes and calls line for every line they finish.
func (s *Splitter) Write(p []byte, line func(string)) {
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		s.partial = append(s.partial, p[:i]...)
		line(string(bytes.TrimSuffix(s.partial, []byte("\r"))))
		s.partial = s.partial[:0]
		p = p[i+1:]
	}
	s.partial = append(s.partial, p...)
}

// Flush ends an unfinished line, if any.
func (s *Splitter) Flush(line func(string)) {
	if len(s.partial) > 0 {
		line(string(s.partial))
		s.partial = s.partial[:0]
	}
}

// Pending says whether an unfinished line waits.
func (s *Splitter) Pending() bool { return len(s.partial) > 0 }

// Reset drops an unfinished line.
func (s *Splitter) Reset() { s.partial = s.partial[:0] }
