package relay

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/irohconf/irohconf/iroh/udpgro"
	"github.com/irohconf/irohconf/wire/capture"
	"github.com/irohconf/irohconf/wire/faults"
)

// Config describes a relay.
type Config struct {
	// Listen is where clients send; the zero value means 127.0.0.1 on a free port.
	Listen netip.AddrPort
	// Target is the server.
	Target netip.AddrPort
	// CapturePath, when set, is the file the relay creates for the pcapng capture of both
	// directions (wire.pcapng next to a cell's other files) and closes on Close.
	CapturePath string
	// Capture, when set instead, receives the capture; the relay flushes it on Close but does
	// not close it.
	Capture io.Writer
	// CaptureMemory is how many bytes of datagrams the capture holds in memory before it writes
	// them as they come; zero means DefaultCaptureMemory.
	CaptureMemory int
	// Profile is the fault profile (the zero value forwards everything); Seed drives its random
	// decisions.
	Profile faults.Profile
	Seed    uint64
	// MaxClients bounds the client addresses served at once (each costs a socket and a
	// goroutine); zero means DefaultMaxClients. Datagrams of further clients are dropped.
	MaxClients int
	// HoldPort keeps the listening port bound after Close, reading nothing, until the process
	// exits. A client that outlives the relay may remember its address (an iroh endpoint keeps
	// every address it learned of an endpoint id, and tries them when it dials that id again);
	// were the port free, a later relay (of another cell, in any process) could get it and
	// forward that client's datagrams to a server it never dialed.
	HoldPort bool
}

// DefaultCaptureMemory is what a capture holds in memory unless told otherwise: more than a
// test's transfers, so that the pcapng is built and written after the traffic, at Close.
const DefaultCaptureMemory = 64 << 20

// DefaultMaxClients is how many client addresses a relay serves unless told otherwise.
const DefaultMaxClients = 64

// closeWait bounds how long Close waits for the relay's goroutines to end; captureWait for the
// capture to be written (most of it is written at Close: up to 64 MiB held in memory).
const (
	closeWait   = 5 * time.Second
	captureWait = 2 * time.Minute
)

// Record is what the relay did with one datagram. Records are numbered from 1 in arrival order,
// like the frames of the capture: record N is frame N.
type Record struct {
	N    int
	Time time.Time
	Dir  faults.Direction
	// Client is the client's address as the relay sees it (the source of its datagrams).
	Client netip.AddrPort
	// Src and Dst are the datagram's addresses as the server sees the path, as in the capture.
	Src, Dst netip.AddrPort
	Size     int
	Decision faults.Decision
}

// String is one line for a frame log.
func (r Record) String() string {
	return fmt.Sprintf("%d %s %s %s -> %s %dB %s", r.N, r.Time.Format("15:04:05.000000"), r.Dir, r.Src, r.Dst, r.Size, r.Decision)
}

// Relay forwards datagrams between clients and one server. Close it when done.
type Relay struct {
	cfg    Config
	listen *net.UDPConn
	addr   netip.AddrPort
	inj    *faults.Injector
	sched  *scheduler
	cap    *captureQueue // nil without a capture
	file   *os.File      // the CapturePath file

	readers sync.WaitGroup
	reads   atomic.Int64 // socket reads; with GRO, fewer than datagrams

	mu       sync.Mutex
	closed   bool
	target   netip.AddrPort // where datagrams go: cfg.Target until a Retarget
	sessions map[netip.AddrPort]*session
	records  [][]Record // in chunks of recordChunk: a bulk transfer makes tens of thousands
	nrecords int
	errs     []error // what went wrong inside; Close returns them
	refused  map[netip.AddrPort]bool

	closeOnce sync.Once
	closeErr  error
}

// session is one client address and the upstream sockets that speak for it towards the server.
type session struct {
	client   netip.AddrPort
	toClient *sender     // the relay's listening socket, towards the client
	up       *upstream   // current
	stale    []*upstream // replaced by a rebinding; what arrives on them is lost
}

type upstream struct {
	conn  *net.UDPConn
	local netip.AddrPort
	out   *sender
}

// Start binds the relay and starts forwarding.
func Start(cfg Config) (*Relay, error) {
	if !cfg.Target.IsValid() || cfg.Target.Port() == 0 {
		return nil, fmt.Errorf("relay: target %q is not an address with a port", cfg.Target)
	}
	if !cfg.Listen.IsValid() {
		cfg.Listen = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if rb := cfg.Profile.Rebind; rb != nil && rb.Addr.IsValid() {
		if !rb.Addr.IsLoopback() || !cfg.Target.Addr().IsLoopback() {
			return nil, fmt.Errorf("relay: profile %s moves the client to %s, which needs a loopback target and a loopback address (target %s)", cfg.Profile.Name, rb.Addr, cfg.Target)
		}
		if rb.Addr.Is4() != cfg.Target.Addr().Is4() {
			return nil, fmt.Errorf("relay: profile %s moves the client to %s, another address family than the target %s", cfg.Profile.Name, rb.Addr, cfg.Target)
		}
	}
	if cfg.CapturePath != "" && cfg.Capture != nil {
		return nil, errors.New("relay: both a capture path and a capture writer")
	}
	listen, err := net.ListenUDP(network(cfg.Listen.Addr()), net.UDPAddrFromAddrPort(cfg.Listen))
	if err != nil {
		return nil, fmt.Errorf("relay: listening on %s: %w", cfg.Listen, err)
	}
	_ = udpgro.Enable(listen) // without GRO, reads return one datagram each: correct, slower
	r := &Relay{
		cfg:      cfg,
		listen:   listen,
		addr:     unmap(listen.LocalAddr().(*net.UDPAddr).AddrPort()),
		inj:      faults.NewInjector(cfg.Profile, cfg.Seed),
		target:   cfg.Target,
		sessions: map[netip.AddrPort]*session{},
		refused:  map[netip.AddrPort]bool{},
	}
	if cfg.CapturePath != "" {
		if r.file, err = os.Create(cfg.CapturePath); err != nil {
			_ = listen.Close()
			return nil, fmt.Errorf("relay: the capture: %w", err)
		}
		cfg.Capture = r.file
	}
	if cfg.Capture != nil {
		meta := capture.Meta{Server: cfg.Target, Relay: r.addr, Profile: cfg.Profile.Name, Seed: cfg.Seed}
		if r.cap, err = newCaptureQueue(cfg.Capture, meta, cmp.Or(cfg.CaptureMemory, DefaultCaptureMemory)); err != nil {
			_ = listen.Close()
			if r.file != nil {
				_ = r.file.Close()
			}
			return nil, err
		}
	}
	r.sched = newScheduler()
	r.readers.Add(1)
	go r.readClients()
	return r, nil
}

// Addr is the address clients send to.
func (r *Relay) Addr() netip.AddrPort { return r.addr }

// Target is the server's address (the latest, after a Retarget).
func (r *Relay) Target() netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.target
}

// Records returns what the relay did so far, one record per datagram.
func (r *Relay) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, 0, r.nrecords)
	for _, c := range r.records {
		out = append(out, c...)
	}
	return out
}

const recordChunk = 4096

// Reads is how many socket reads brought the datagrams in: fewer than the datagrams when the
// kernel coalesced them (UDP GRO), which is what keeps the relay cheap.
func (r *Relay) Reads() int64 { return r.reads.Load() }

// Close stops forwarding, releases every socket and goroutine, and flushes the capture.
// Datagrams still held back by a delay are not delivered. It returns what went wrong while the
// relay ran (a capture that could not be written, a rebinding that failed), if anything.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		var errs []error
		if r.cfg.HoldPort {
			errs = append(errs, holdPort(r.listen))
		} else {
			errs = append(errs, r.listen.Close())
		}
		for _, s := range r.sessions {
			errs = append(errs, s.up.conn.Close())
			for _, u := range s.stale {
				errs = append(errs, u.conn.Close())
			}
		}
		r.mu.Unlock()
		if !waitTimeout(&r.readers, closeWait) {
			errs = append(errs, fmt.Errorf("relay: readers still running %s after their sockets closed", closeWait))
		}
		errs = append(errs, r.sched.close(closeWait))
		if r.cap != nil {
			errs = append(errs, r.cap.close(captureWait))
		}
		if r.file != nil {
			errs = append(errs, r.file.Close())
		}
		r.mu.Lock()
		errs = append(errs, r.errs...)
		r.mu.Unlock()
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// heldPorts are the listening sockets of closed relays that keep their ports (Config.HoldPort):
// bound, unread (the kernel drops what overflows their buffers), until the process exits.
var heldPorts struct {
	sync.Mutex
	conns []*net.UDPConn
}

// holdPort ends the reads of conn without closing it and keeps it bound.
func holdPort(conn *net.UDPConn) error {
	heldPorts.Lock()
	heldPorts.conns = append(heldPorts.conns, conn)
	heldPorts.Unlock()
	return conn.SetReadDeadline(time.Unix(1, 0)) // the reader's next read fails, and it ends
}

// readClients forwards what clients send to the server.
func (r *Relay) readClients() {
	defer r.readers.Done()
	r.readLoop(r.listen, func(from netip.AddrPort, b *batch) { r.fromClient(from, b) })
}

// readServer forwards what the server sends on u to the session's client.
func (r *Relay) readServer(s *session, u *upstream) {
	defer r.readers.Done()
	r.readLoop(u.conn, func(_ netip.AddrPort, b *batch) { r.fromServer(s, u, b) })
}

// readLoop reads from conn until it closes: one datagram at a time, or, where the kernel
// coalesces them (UDP GRO), several datagrams of one flow at once.
func (r *Relay) readLoop(conn *net.UDPConn, handle func(netip.AddrPort, *batch)) {
	b := newBatch()
	defer b.done()
	oob := make([]byte, 64)
	for {
		b.next()
		n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(b.buf, oob)
		if err != nil {
			if r.transient(err) {
				continue
			}
			return
		}
		b.split(n, udpgro.Segment(oob[:oobn]))
		b.consumed(n)
		r.reads.Add(1)
		handle(unmap(from), b)
	}
}

// transient reports whether a read error leaves the socket usable: an ICMP port unreachable
// (the server is not up yet, or gone) surfaces as ECONNREFUSED on the next read. Other errors end
// the reader; they are recorded unless the relay is closing.
func (r *Relay) transient(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed && !errors.Is(err, net.ErrClosed) {
		r.errs = append(r.errs, fmt.Errorf("relay: reading: %w", err))
	}
	return false
}

func (r *Relay) fromClient(client netip.AddrPort, b *batch) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	// Taken under the lock, so that the capture's times never go backwards; wall clock only,
	// as the capture keeps it.
	now := time.Now().Round(0)
	b.at = now
	s, err := r.sessionFor(client)
	if err != nil {
		for _, pkt := range b.segs {
			// No upstream socket: the capture shows the client's port from an unspecified
			// address of the server's family.
			src := netip.AddrPortFrom(netip.IPv6Unspecified(), client.Port())
			if r.cfg.Target.Addr().Is4() {
				src = netip.AddrPortFrom(netip.IPv4Unspecified(), client.Port())
			}
			r.record(b, now, faults.ClientToServer, client, src, r.cfg.Target, pkt, faults.Decision{Drop: true, Reason: "no-upstream"})
		}
		if !r.refused[client] { // once per client: a flood must not grow the list
			r.refused[client] = true
			r.errs = append(r.errs, err)
		}
		r.mu.Unlock()
		return
	}
	for i, pkt := range b.segs {
		d := r.inj.Decide(faults.ClientToServer, pkt, now)
		if d.Rebind {
			if err := r.rebind(s, d.RebindAddr); err != nil {
				r.errs = append(r.errs, err)
				d.Rebind, d.Reason = false, "rebind failed"
			}
		}
		b.decisions[i], b.outs[i] = d, s.up.out
		r.record(b, now, faults.ClientToServer, client, s.up.local, r.cfg.Target, pkt, d)
	}
	r.mu.Unlock()
	r.forward(b)
}

func (r *Relay) fromServer(s *session, u *upstream, b *batch) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	now := time.Now().Round(0)
	b.at = now
	if u != s.up {
		for _, pkt := range b.segs {
			r.record(b, now, faults.ServerToClient, s.client, r.cfg.Target, u.local, pkt, faults.Decision{Drop: true, Reason: "old-binding"})
		}
		r.mu.Unlock()
		return
	}
	for i, pkt := range b.segs {
		d := r.inj.Decide(faults.ServerToClient, pkt, now)
		b.decisions[i], b.outs[i] = d, s.toClient
		r.record(b, now, faults.ServerToClient, s.client, r.cfg.Target, u.local, pkt, d)
	}
	r.mu.Unlock()
	r.forward(b)
}

// forward sends a batch on as its decisions say. Send errors are not the relay's concern: a
// datagram network may lose any datagram.
func (r *Relay) forward(b *batch) {
	plain := true
	for i, d := range b.decisions[:len(b.segs)] {
		if d.Action() != faults.Forwarded || b.outs[i] != b.outs[0] {
			plain = false
			break
		}
	}
	if plain { // the common case: the whole batch as it came, in one write
		b.outs[0].send(b.buf[:b.n], b.seg)
		return
	}
	w := gsoWriter{buf: b.scratch[:0]}
	for i, pkt := range b.segs {
		d := b.decisions[i]
		if d.Drop {
			continue
		}
		if d.Delay > 0 {
			r.later(b.at.Add(d.Delay), d, pkt, b.outs[i])
			continue
		}
		if w.out != b.outs[i] {
			w.flush()
			w.out = b.outs[i]
		}
		start := len(w.buf)
		w.add(pkt)
		for _, f := range d.Flips {
			w.buf[start+f.Offset] ^= f.Mask
		}
		if d.Duplicate {
			w.add(w.buf[start:])
		}
	}
	w.flush()
	b.scratch = w.buf[:0]
}

// later sends a copy of pkt (corrupted and duplicated as d says) at t.
func (r *Relay) later(t time.Time, d faults.Decision, pkt []byte, out *sender) {
	pkt = append([]byte(nil), pkt...)
	for _, f := range d.Flips {
		pkt[f.Offset] ^= f.Mask
	}
	r.sched.at(t, func() {
		out.send(pkt, len(pkt))
		if d.Duplicate {
			out.send(pkt, len(pkt))
		}
	})
}

// record appends a record and hands the datagram, which lies in b's arena chunk, to the
// capture, in the same order, so that frame numbers are record numbers. r.mu is held.
func (r *Relay) record(b *batch, now time.Time, dir faults.Direction, client, src, dst netip.AddrPort, pkt []byte, d faults.Decision) {
	if len(r.records) == 0 || len(r.records[len(r.records)-1]) == recordChunk {
		r.records = append(r.records, make([]Record, 0, recordChunk))
	}
	r.nrecords++
	last := &r.records[len(r.records)-1]
	*last = append(*last, Record{N: r.nrecords, Time: now, Dir: dir, Client: client, Src: src, Dst: dst, Size: len(pkt), Decision: d})
	if r.cap != nil {
		// The chunk's records never move (each chunk is allocated at full capacity), so the
		// capture may keep a pointer.
		r.cap.add(b.rb, &(*last)[len(*last)-1], pkt)
	}
}

// sessionFor returns the client's session, opening one on its first datagram. r.mu is held.
func (r *Relay) sessionFor(client netip.AddrPort) (*session, error) {
	if s := r.sessions[client]; s != nil {
		return s, nil
	}
	if len(r.sessions) >= r.cfg.MaxClients {
		return nil, fmt.Errorf("relay: more than %d client addresses; dropping the datagrams of %s", r.cfg.MaxClients, client)
	}
	u, err := r.dialUpstream(netip.AddrPort{})
	if err != nil {
		return nil, err
	}
	s := &session{client: client, up: u, toClient: newSender(r.listen, client)}
	r.sessions[client] = s
	r.readers.Add(1)
	go r.readServer(s, u)
	return s, nil
}

// rebind gives the session a new upstream socket at addr (or the current address when addr is
// invalid) on a new port. r.mu is held.
func (r *Relay) rebind(s *session, addr netip.Addr) error {
	if !addr.IsValid() {
		addr = s.up.local.Addr()
	}
	u, err := r.dialUpstream(netip.AddrPortFrom(addr, 0))
	if err != nil {
		return fmt.Errorf("relay: rebinding %s: %w", s.client, err)
	}
	s.stale = append(s.stale, s.up)
	s.up = u
	r.readers.Add(1)
	go r.readServer(s, u)
	return nil
}

// dialUpstream opens a socket connected to the target, bound to local (any address when
// invalid): the kernel then delivers only the server's datagrams to it.
func (r *Relay) dialUpstream(local netip.AddrPort) (*upstream, error) {
	var laddr *net.UDPAddr
	if local.IsValid() {
		laddr = net.UDPAddrFromAddrPort(local)
	}
	conn, err := net.DialUDP(network(r.target.Addr()), laddr, net.UDPAddrFromAddrPort(r.target))
	if err != nil {
		return nil, fmt.Errorf("relay: a socket towards %s: %w", r.target, err)
	}
	_ = udpgro.Enable(conn)
	return &upstream{conn: conn, local: unmap(conn.LocalAddr().(*net.UDPAddr).AddrPort()), out: newSender(conn, netip.AddrPort{})}, nil
}

func network(a netip.Addr) string {
	if a.Unmap().Is4() {
		return "udp4"
	}
	return "udp6"
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// waitTimeout waits for wg at most limit and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, limit time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}
