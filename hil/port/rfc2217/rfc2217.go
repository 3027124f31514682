// Package rfc2217 is a client of RFC 2217, the Telnet Com Port Control Option: a serial port on
// another host (ser2net, a labgrid exporter, esp_rfc2217_server, a terminal server), reached
// over TCP, with its baud rate, DTR and RTS (the lines that reset an ESP32) and purges driven
// from here. No maintained Go library speaks it, so this is the subset a board driver needs:
// BINARY and SUPPRESS-GO-AHEAD for an 8-bit clean stream, and the COM-PORT-OPTION commands
// SIGNATURE, SET-BAUDRATE, SET-DATASIZE/PARITY/STOPSIZE (8N1), SET-CONTROL (DTR, RTS, no flow
// control) and PURGE-DATA. Every command waits for the server's answer, and an answer that
// does not confirm the value asked for is an error: a reset that did not happen must not look
// like one that did.
package rfc2217

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Telnet (RFC 854, 855) bytes and the options used.
const (
	iac  = 255
	dont = 254
	do   = 253
	wont = 252
	will = 251
	sb   = 250
	se   = 240

	optBinary  = 0
	optSGA     = 3
	optComPort = 44
)

// COM-PORT-OPTION commands, client to server; the server answers with the command + 100.
const (
	cmdSignature    = 0
	cmdSetBaudRate  = 1
	cmdSetDataSize  = 2
	cmdSetParity    = 3
	cmdSetStopSize  = 4
	cmdSetControl   = 5
	cmdPurgeData    = 12
	serverOffset    = 100
	controlNoFlow   = 1
	controlDTRState = 7
	controlDTROn    = 8
	controlDTROff   = 9
	controlRTSOn    = 11
	controlRTSOff   = 12
	parityNone      = 1
	stopSizeOne     = 1
	purgeBoth       = 3
	defaultDataSize = 8
)

// DefaultTimeout bounds the connection's negotiation and each command's answer.
const DefaultTimeout = 5 * time.Second

// ErrNotSupported: the server refused the COM-PORT-OPTION (a plain telnet or raw TCP port).
var ErrNotSupported = errors.New("the server does not speak RFC 2217 (it refused COM-PORT-OPTION)")

// ErrClosed is returned by I/O on a closed connection.
var ErrClosed = errors.New("rfc2217: connection closed")

// Conn is an open RFC 2217 port. Read and Write carry the serial data; the other methods wait
// for the server's answer. Read may run alongside the others; control commands are sent one at
// a time.
type Conn struct {
	addr    string
	conn    net.Conn
	timeout time.Duration

	writeMu sync.Mutex // one telnet frame at a time
	cmdMu   sync.Mutex // one command waiting for its answer at a time

	mu      sync.Mutex
	cond    *sync.Cond
	data    bytes.Buffer // serial data read, not yet returned by Read
	readErr error        // why the reading ended
	comPort int          // 0 unknown, 1 accepted, -1 refused
	answers map[byte][]byte
}

// Dial connects to addr (host:port), negotiates the options, and sets baud, 8N1 and no flow
// control. DTR and RTS are left as the server has them; Open in hil/port releases them.
func Dial(ctx context.Context, addr string, baud int) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rfc2217 %s: %w", addr, err)
	}
	c := &Conn{addr: addr, conn: nc, timeout: DefaultTimeout, answers: map[byte][]byte{}}
	c.cond = sync.NewCond(&c.mu)
	go c.readLoop()
	if err := c.negotiate(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.setup(ctx, baud); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) negotiate(ctx context.Context) error {
	if err := c.send(iac, will, optBinary, iac, do, optBinary, iac, will, optSGA, iac, do, optSGA,
		iac, will, optComPort); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, c.wake)
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.comPort == 0 && c.readErr == nil && ctx.Err() == nil {
		c.cond.Wait()
	}
	switch {
	case c.comPort > 0:
		return nil
	case c.comPort < 0:
		return fmt.Errorf("rfc2217 %s: %w", c.addr, ErrNotSupported)
	case c.readErr != nil:
		return fmt.Errorf("rfc2217 %s: negotiating: %w", c.addr, c.readErr)
	}
	return fmt.Errorf("rfc2217 %s: no answer to COM-PORT-OPTION within %s (%w): not an RFC 2217 port?", c.addr, c.timeout, context.Cause(ctx))
}

func (c *Conn) setup(ctx context.Context, baud int) error {
	if err := c.SetBaudRate(ctx, baud); err != nil {
		return err
	}
	for _, step := range []struct {
		what      string
		cmd, want byte
	}{
		{"data size 8", cmdSetDataSize, defaultDataSize},
		{"parity none", cmdSetParity, parityNone},
		{"one stop bit", cmdSetStopSize, stopSizeOne},
		{"no flow control", cmdSetControl, controlNoFlow},
	} {
		if err := c.command(ctx, step.what, step.cmd, []byte{step.want}, exactly([]byte{step.want})); err != nil {
			return err
		}
	}
	return nil
}

// wake wakes every waiter, under the lock so that none misses it between its check and its Wait.
func (c *Conn) wake() {
	c.mu.Lock()
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Addr is the server's address.
func (c *Conn) Addr() string { return c.addr }

// SetBaudRate sets the port's speed; the server must confirm it.
func (c *Conn) SetBaudRate(ctx context.Context, baud int) error {
	if baud <= 0 || baud > 1<<31-1 {
		return fmt.Errorf("rfc2217 %s: baud rate %d out of range", c.addr, baud)
	}
	v := binary.BigEndian.AppendUint32(nil, uint32(baud))
	return c.command(ctx, fmt.Sprintf("baud rate %d", baud), cmdSetBaudRate, v, exactly(v))
}

// SetDTR drives DTR (true asserts it).
func (c *Conn) SetDTR(ctx context.Context, on bool) error {
	v, what := byte(controlDTROff), "DTR off"
	if on {
		v, what = controlDTROn, "DTR on"
	}
	return c.command(ctx, what, cmdSetControl, []byte{v}, exactly([]byte{v}))
}

// SetRTS drives RTS (true asserts it).
func (c *Conn) SetRTS(ctx context.Context, on bool) error {
	v, what := byte(controlRTSOff), "RTS off"
	if on {
		v, what = controlRTSOn, "RTS on"
	}
	return c.command(ctx, what, cmdSetControl, []byte{v}, exactly([]byte{v}))
}

// ModemLines tells whether the server drives real modem lines: it asks for DTR's state, which
// a server answers with "on" or "off" only when it can read the line. ser2net exporting a
// pseudo-terminal echoes the request instead (and never answers a change of DTR or RTS), so
// such a port has no lines, as a local pty has none. A server that does not answer has none
// either.
func (c *Conn) ModemLines(ctx context.Context) (bool, error) {
	var state byte
	err := c.command(ctx, "DTR state", cmdSetControl, []byte{controlDTRState}, func(b []byte) error {
		if len(b) == 1 {
			state = b[0]
		}
		return nil
	})
	if err != nil {
		var noAnswer *noAnswerError
		if errors.As(err, &noAnswer) {
			return false, nil
		}
		return false, err
	}
	return state == controlDTROn || state == controlDTROff, nil
}

// noAnswerError: the server did not answer a command in time.
type noAnswerError struct{ msg string }

func (e *noAnswerError) Error() string { return e.msg }

// Purge drops what the server holds in its buffers, both directions (before a reset, so
// stale output is not taken for the new boot's).
func (c *Conn) Purge(ctx context.Context) error {
	return c.command(ctx, "purge", cmdPurgeData, []byte{purgeBoth}, exactly([]byte{purgeBoth}))
}

// Signature asks the server to name itself (ser2net answers with its configured signature).
func (c *Conn) Signature(ctx context.Context) (string, error) {
	var sig string
	err := c.command(ctx, "signature", cmdSignature, nil, func(b []byte) error { sig = string(b); return nil })
	return sig, err
}

func exactly(want []byte) func([]byte) error {
	return func(got []byte) error {
		if !bytes.Equal(got, want) {
			return fmt.Errorf("the server answered %v, not %v", got, want)
		}
		return nil
	}
}

// command sends IAC SB COM-PORT-OPTION cmd value IAC SE and waits for the server's answer
// (cmd+100), which check judges.
func (c *Conn) command(ctx context.Context, what string, cmd byte, value []byte, check func([]byte) error) error {
	c.cmdMu.Lock()
	defer c.cmdMu.Unlock()
	answer := cmd + serverOffset
	c.mu.Lock()
	delete(c.answers, answer)
	c.mu.Unlock()

	frame := []byte{iac, sb, optComPort, cmd}
	frame = append(frame, escape(value)...)
	frame = append(frame, iac, se)
	if err := c.send(frame...); err != nil {
		return fmt.Errorf("rfc2217 %s: %s: %w", c.addr, what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, c.wake)
	defer stop()
	c.mu.Lock()
	for c.answers[answer] == nil && c.readErr == nil && ctx.Err() == nil {
		c.cond.Wait()
	}
	got, readErr := c.answers[answer], c.readErr
	delete(c.answers, answer)
	c.mu.Unlock()
	switch {
	case got != nil:
		if err := check(got); err != nil {
			return fmt.Errorf("rfc2217 %s: %s: %w", c.addr, what, err)
		}
		return nil
	case readErr != nil:
		return fmt.Errorf("rfc2217 %s: %s: %w", c.addr, what, readErr)
	}
	return &noAnswerError{fmt.Sprintf("rfc2217 %s: %s: no answer within %s (%v)", c.addr, what, c.timeout, context.Cause(ctx))}
}

// escape doubles IAC bytes, as data and subnegotiation values must carry them.
func escape(b []byte) []byte {
	if bytes.IndexByte(b, iac) < 0 {
		return b
	}
	return bytes.ReplaceAll(b, []byte{iac}, []byte{iac, iac})
}

func (c *Conn) send(b ...byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.conn.Write(b)
	return err
}

// Read returns serial data the server forwarded; it blocks until there is some or the
// connection ends.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.data.Len() == 0 && c.readErr == nil {
		c.cond.Wait()
	}
	if c.data.Len() > 0 {
		return c.data.Read(p)
	}
	return 0, c.readErr
}

// Write sends serial data (IAC bytes escaped).
func (c *Conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write(escape(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the connection; a pending Read returns ErrClosed.
func (c *Conn) Close() error {
	err := c.conn.Close()
	c.mu.Lock()
	if c.readErr == nil {
		c.readErr = ErrClosed
	}
	c.mu.Unlock()
	c.cond.Broadcast()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// readLoop parses the server's stream: data into c.data, option negotiation answered, command
// answers into c.answers.
func (c *Conn) readLoop() {
	var p parser
	buf := make([]byte, 4096)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			data, events := p.feed(buf[:n])
			c.mu.Lock()
			c.data.Write(data)
			var replies []byte
			for _, e := range events {
				replies = append(replies, c.handle(e)...)
			}
			c.mu.Unlock()
			c.cond.Broadcast()
			if len(replies) > 0 {
				_ = c.send(replies...)
			}
		}
		if err != nil {
			c.mu.Lock()
			if c.readErr == nil {
				if errors.Is(err, net.ErrClosed) {
					err = ErrClosed
				}
				c.readErr = err
			}
			c.mu.Unlock()
			c.cond.Broadcast()
			return
		}
	}
}

// handle reacts to one telnet event (c.mu held) and returns what to send back. Options are
// accepted or refused once; an answer to our own request is not answered again, so the
// negotiation cannot loop (RFC 1143's rule in its simplest form).
func (c *Conn) handle(e event) []byte {
	switch e.verb {
	case do, will:
		switch e.opt {
		case optComPort:
			if c.comPort == 0 {
				c.comPort = 1
			}
			return nil
		case optBinary, optSGA:
			return nil // we asked for both directions of both already
		}
		if e.verb == do {
			return []byte{iac, wont, e.opt}
		}
		return []byte{iac, dont, e.opt}
	case dont, wont:
		if e.opt == optComPort {
			c.comPort = -1
		}
	case sb:
		if e.opt == optComPort && len(e.sub) > 0 && e.sub[0] >= serverOffset {
			c.answers[e.sub[0]] = append([]byte{}, e.sub[1:]...)
		}
	}
	return nil
}

// event is one telnet command the parser found.
type event struct {
	verb byte // do, dont, will, wont or sb
	opt  byte
	sub  []byte // a subnegotiation's bytes after the option, IAC IAC undone
}

func (e event) String() string {
	names := map[byte]string{do: "DO", dont: "DONT", will: "WILL", wont: "WONT", sb: "SB"}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d", names[e.verb], e.opt)
	if e.verb == sb {
		fmt.Fprintf(&b, " %v", e.sub)
	}
	return b.String()
}

// parser splits a telnet stream into data and events; it keeps its state across feeds, so a
// command split over two reads is parsed whole.
type parser struct {
	state int
	verb  byte
	opt   byte
	sub   []byte
}

const (
	stData = iota
	stIAC
	stOption // after IAC DO/DONT/WILL/WONT/SB
	stSub    // inside SB ... IAC SE
	stSubIAC
)

func (p *parser) feed(in []byte) (data []byte, events []event) {
	for _, b := range in {
		switch p.state {
		case stData:
			if b == iac {
				p.state = stIAC
			} else {
				data = append(data, b)
			}
		case stIAC:
			switch b {
			case iac:
				data = append(data, iac)
				p.state = stData
			case do, dont, will, wont, sb:
				p.verb, p.state = b, stOption
			default:
				p.state = stData // NOP, GA, BREAK and the like carry nothing for us
			}
		case stOption:
			p.opt = b
			if p.verb == sb {
				p.sub, p.state = nil, stSub
			} else {
				events = append(events, event{verb: p.verb, opt: b})
				p.state = stData
			}
		case stSub:
			if b == iac {
				p.state = stSubIAC
			} else {
				p.sub = append(p.sub, b)
			}
		case stSubIAC:
			switch b {
			case iac:
				p.sub, p.state = append(p.sub, iac), stSub
			case se:
				events = append(events, event{verb: sb, opt: p.opt, sub: p.sub})
				p.state = stData
			default:
				// IAC <other> inside a subnegotiation is malformed; end it here.
				events = append(events, event{verb: sb, opt: p.opt, sub: p.sub})
				p.state = stData
			}
		}
	}
	return data, events
}
