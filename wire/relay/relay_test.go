package relay_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/irohconf/irohconf/wire/capture"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/relay"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testTimeout = 10 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// udpServer answers every datagram with "re:" + the datagram, and remembers who sent what.
type udpServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []received
	wg   sync.WaitGroup
}

type received struct {
	from netip.AddrPort
	data []byte
}

func newUDPServer(t *testing.T) *udpServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	s := &udpServer{conn: conn}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got = append(s.got, received{from, append([]byte(nil), buf[:n]...)})
			s.mu.Unlock()
			_, _ = conn.WriteToUDPAddrPort(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		s.wg.Wait()
	})
	return s
}

func (s *udpServer) addr() netip.AddrPort {
	return s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (s *udpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func startRelay(t *testing.T, cfg relay.Config) *relay.Relay {
	t.Helper()
	r, err := relay.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func udpClient(t *testing.T, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// exchange sends msg and waits for the reply, or for none within wait.
func exchange(t *testing.T, c *net.UDPConn, msg string, wait time.Duration) (string, bool) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

func TestForwardsBothWays(t *testing.T) {
	srv := newUDPServer(t)
	var capBuf bytes.Buffer
	r := startRelay(t, relay.Config{Target: srv.addr(), Capture: &capBuf})
	if r.Addr().Addr() != loopback || r.Addr().Port() == 0 {
		t.Fatalf("relay address %s, want 127.0.0.1 and a port", r.Addr())
	}
	a, b := udpClient(t, r.Addr()), udpClient(t, r.Addr())
	for i := range 3 {
		for name, c := range map[string]*net.UDPConn{"a": a, "b": b} {
			msg := fmt.Sprintf("%s%d", name, i)
			reply, ok := exchange(t, c, msg, testTimeout)
			if !ok || reply != "re:"+msg {
				t.Fatalf("client %s: reply %q (%v), want %q", name, reply, ok, "re:"+msg)
			}
		}
	}
	// Each client address has its own upstream socket, and the server sees that, not the client.
	from := map[string]netip.AddrPort{}
	for _, g := range srv.received() {
		name := string(g.data[:1])
		if prev, ok := from[name]; ok && prev != g.from {
			t.Errorf("client %s reached the server from %s and %s", name, prev, g.from)
		}
		from[name] = g.from
	}
	if from["a"] == from["b"] {
		t.Errorf("both clients reached the server from %s", from["a"])
	}
	for name, c := range map[string]*net.UDPConn{"a": a, "b": b} {
		if ap := c.LocalAddr().(*net.UDPAddr).AddrPort(); ap == from[name] {
			t.Errorf("the server saw client %s's own address %s: not relayed", name, ap)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	recs := r.Records()
	if len(recs) != 12 {
		t.Fatalf("%d records, want 12:\n%s", len(recs), recordLines(recs))
	}
	meta, pkts, err := capture.ReadAll(&capBuf)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Server != srv.addr() || meta.Relay != r.Addr() || meta.Profile != "" {
		t.Errorf("capture meta %+v", meta)
	}
	if len(pkts) != len(recs) {
		t.Fatalf("%d captured datagrams, %d records", len(pkts), len(recs))
	}
	for i, rec := range recs {
		p := pkts[i]
		if rec.N != i+1 || rec.Decision.Action() != faults.Forwarded || p.Comment != "" {
			t.Errorf("record %d: %s, comment %q", i+1, rec, p.Comment)
		}
		if p.Src != rec.Src || p.Dst != rec.Dst || len(p.Data) != rec.Size || !p.Time.Equal(rec.Time) {
			t.Errorf("frame %d %s -> %s %dB at %s, record %s", i+1, p.Src, p.Dst, len(p.Data), p.Time, rec)
		}
		// As the server sees the path: the client side is the relay's upstream socket.
		switch rec.Dir {
		case faults.ClientToServer:
			if rec.Dst != srv.addr() || rec.Src != from[string(p.Data[:1])] {
				t.Errorf("record %s: want ... -> %s from the upstream socket", rec, srv.addr())
			}
		case faults.ServerToClient:
			if rec.Src != srv.addr() || !strings.HasPrefix(string(p.Data), "re:") {
				t.Errorf("record %s: want a reply from %s", rec, srv.addr())
			}
		}
	}
}

func recordLines(recs []relay.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintln(&b, r)
	}
	return b.String()
}

func TestStartRefuses(t *testing.T) {
	for name, cfg := range map[string]relay.Config{
		"no target":   {},
		"no port":     {Target: netip.AddrPortFrom(loopback, 0)},
		"rebind away": {Target: netip.MustParseAddrPort("192.0.2.1:4433"), Profile: mustParse(t, "rebind-addr")},
		"busy listen": {Target: netip.MustParseAddrPort("127.0.0.1:4433"), Listen: netip.MustParseAddrPort("192.0.2.1:1")},
	} {
		if r, err := relay.Start(cfg); err == nil {
			_ = r.Close()
			t.Errorf("%s: Start accepted %+v", name, cfg)
		}
	}
}

func mustParse(t *testing.T, name string) faults.Profile {
	t.Helper()
	p, err := faults.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The relay carries out each kind of decision on the real sockets.
func TestCarriesOutDecisions(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		srv := newUDPServer(t)
		r := startRelay(t, relay.Config{Target: srv.addr(), Profile: faults.Profile{MaxDatagram: 10}})
		c := udpClient(t, r.Addr())
		if reply, ok := exchange(t, c, "short", testTimeout); !ok || reply != "re:short" {
			t.Fatalf("short datagram: %q %v", reply, ok)
		}
		if reply, ok := exchange(t, c, "far too long", 300*time.Millisecond); ok {
			t.Fatalf("an 12-byte datagram passed a 10-byte limit: %q", reply)
		}
		recs := r.Records()
		if last := recs[len(recs)-1]; last.Decision.Reason != "mtu" || !last.Decision.Drop {
			t.Errorf("last record %s", last)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		srv := newUDPServer(t)
		r := startRelay(t, relay.Config{Target: srv.addr(), Profile: faults.Profile{Duplicate: 1}})
		c := udpClient(t, r.Addr())
		exchange(t, c, "twice", testTimeout)
		waitFor(t, func() bool { return len(srv.received()) == 2 })
		// The server answered both copies, and each answer was duplicated: four replies.
		replies := 1
		buf := make([]byte, 100)
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		for replies < 4 {
			if _, err := c.Read(buf); err != nil {
				t.Fatalf("%d replies, then %v", replies, err)
			}
			replies++
		}
		for _, rec := range r.Records() {
			if rec.Decision.Action() != faults.Duplicated {
				t.Errorf("record %s", rec)
			}
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		srv := newUDPServer(t)
		r := startRelay(t, relay.Config{Target: srv.addr(), Profile: faults.Profile{Corrupt: 1}, Seed: 3})
		c := udpClient(t, r.Addr())
		msg := strings.Repeat("x", 64)
		exchange(t, c, msg, testTimeout)
		waitFor(t, func() bool { return len(srv.received()) == 1 })
		got := srv.received()[0].data
		d := r.Records()[0].Decision
		want := []byte(msg)
		for _, f := range d.Flips {
			want[f.Offset] ^= f.Mask
		}
		if !bytes.Equal(got, want) || bytes.Equal(got, []byte(msg)) {
			t.Errorf("server got %q after %s", got, d)
		}
	})
	t.Run("delay", func(t *testing.T) {
		srv := newUDPServer(t)
		r := startRelay(t, relay.Config{Target: srv.addr(), Profile: faults.Profile{Delay: 100 * time.Millisecond}})
		c := udpClient(t, r.Addr())
		start := time.Now()
		if reply, ok := exchange(t, c, "slow", testTimeout); !ok || reply != "re:slow" {
			t.Fatalf("reply %q %v", reply, ok)
		}
		if rtt := time.Since(start); rtt < 200*time.Millisecond {
			t.Errorf("round trip %s through 100 ms each way", rtt)
		}
	})
	t.Run("rebind", func(t *testing.T) {
		for _, name := range []string{"rebind-port", "rebind-addr"} {
			t.Run(name, func(t *testing.T) {
				srv := newUDPServer(t)
				p := mustParse(t, name)
				p.Rebind.AfterBytes = 10
				r := startRelay(t, relay.Config{Target: srv.addr(), Profile: p})
				c := udpClient(t, r.Addr())
				for i := range 4 {
					msg := fmt.Sprintf("hello %d", i)
					if reply, ok := exchange(t, c, msg, testTimeout); !ok || reply != "re:"+msg {
						t.Fatalf("reply %q %v", reply, ok)
					}
				}
				got := srv.received()
				before, after := got[0].from, got[len(got)-1].from
				if before == after || before.Port() == after.Port() {
					t.Errorf("the server saw %s, then %s: want a new port", before, after)
				}
				if want := p.Rebind.Addr; want.IsValid() && after.Addr() != want {
					t.Errorf("after rebinding the client comes from %s, want %s", after, want)
				}
				rewritten := 0
				for _, rec := range r.Records() {
					if rec.Decision.Action() == faults.Rewritten {
						rewritten++
						if rec.Src != after {
							t.Errorf("rewritten record %s, want source %s", rec, after)
						}
					}
				}
				if rewritten != 1 {
					t.Errorf("%d rewritten records:\n%s", rewritten, recordLines(r.Records()))
				}
				// What the server still sends to the old binding is lost, as behind a NAT.
				if _, err := srv.conn.WriteToUDPAddrPort([]byte("late"), before); err != nil {
					t.Fatal(err)
				}
				waitFor(t, func() bool {
					recs := r.Records()
					return recs[len(recs)-1].Decision.Reason == "old-binding"
				})
			})
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close while datagrams flow and delayed ones wait: every goroutine ends (goleak), the capture
// is complete and readable, and each captured datagram is the one sent (the capture keeps
// references into the readers' memory: a chunk reused too early would show here).
func TestCloseUnderLoad(t *testing.T) {
	for _, memory := range []int{0, 4 << 10} { // the default, and writing as they come
		t.Run(fmt.Sprintf("memory %d", memory), func(t *testing.T) { closeUnderLoad(t, memory) })
	}
}

func closeUnderLoad(t *testing.T, memory int) {
	srv := newUDPServer(t)
	path := filepath.Join(t.TempDir(), "wire.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := relay.Start(relay.Config{Target: srv.addr(), Capture: f, CaptureMemory: memory, Profile: mustParse(t, "delay"), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := udpClient(t, r.Addr())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pkt, seq := make([]byte, 1200), uint64(0)
		for {
			select {
			case <-stop:
				return
			default:
				seq++
				for i := 0; i < len(pkt); i += 8 {
					binary.BigEndian.PutUint64(pkt[i:], seq)
				}
				_, _ = c.Write(pkt)
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s", d)
	}
	close(stop)
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, pkts, err := capture.ReadAll(mustOpen(t, path))
	if err != nil {
		t.Fatal(err)
	}
	recs := r.Records()
	if len(pkts) != len(recs) || len(recs) == 0 {
		t.Fatalf("%d captured, %d records", len(pkts), len(recs))
	}
	var last [2]uint64 // per direction
	for i, p := range pkts {
		if !p.Time.Equal(recs[i].Time) || len(p.Data) != recs[i].Size || p.Comment != recs[i].Decision.String() {
			t.Fatalf("frame %d: %s %dB %q, record %s", i+1, p.Time, len(p.Data), p.Comment, recs[i])
		}
		data := p.Data
		if recs[i].Dir == faults.ServerToClient { // the test server answers "re:" and the datagram
			data = bytes.TrimPrefix(data, []byte("re:"))
		}
		seq := binary.BigEndian.Uint64(data)
		for off := 0; off < len(data); off += 8 {
			if got := binary.BigEndian.Uint64(data[off:]); got != seq {
				t.Fatalf("frame %d (%s): word at %d is %d, the datagram's first is %d: not the bytes sent", i+1, recs[i].Dir, off, got, seq)
			}
		}
		if seq <= last[recs[i].Dir] {
			t.Fatalf("frame %d (%s): datagram %d after %d", i+1, recs[i].Dir, seq, last[recs[i].Dir])
		}
		last[recs[i].Dir] = seq
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Past MaxClients, further client addresses are dropped and recorded, and Close reports it.
func TestMaxClients(t *testing.T) {
	srv := newUDPServer(t)
	var capBuf bytes.Buffer
	r, err := relay.Start(relay.Config{Target: srv.addr(), Capture: &capBuf, MaxClients: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := udpClient(t, r.Addr()), udpClient(t, r.Addr())
	if reply, ok := exchange(t, a, "first", testTimeout); !ok || reply != "re:first" {
		t.Fatalf("first client: %q %v", reply, ok)
	}
	if reply, ok := exchange(t, b, "second", 300*time.Millisecond); ok {
		t.Fatalf("a second client passed a one-client relay: %q", reply)
	}
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), "more than 1 client") {
		t.Errorf("Close: %v", err)
	}
	recs := r.Records()
	last := recs[len(recs)-1]
	if last.Decision.Reason != "no-upstream" || !last.Decision.Drop {
		t.Errorf("last record %s", last)
	}
	if _, pkts, err := capture.ReadAll(&capBuf); err != nil || len(pkts) != len(recs) {
		t.Errorf("capture: %d packets, %v", len(pkts), err)
	}
}

// A relay that holds its port keeps it bound after Close, so that no later relay can get it and
// receive what a client that remembers the address still sends; nothing sent there is forwarded.
// Without HoldPort the port is free again.
func TestHoldPort(t *testing.T) {
	srv := newUDPServer(t)
	for _, hold := range []bool{true, false} {
		r, err := relay.Start(relay.Config{Target: srv.addr(), HoldPort: hold})
		if err != nil {
			t.Fatal(err)
		}
		c := udpClient(t, r.Addr())
		if _, ok := exchange(t, c, "before", 5*time.Second); !ok {
			t.Fatalf("hold %v: nothing forwarded before Close", hold)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(r.Addr()))
		if hold {
			if err == nil {
				_ = again.Close()
				t.Fatal("a held port could be bound again")
			}
			if _, ok := exchange(t, c, "after", 300*time.Millisecond); ok {
				t.Error("a closed relay that holds its port still forwards")
			}
			continue
		}
		if err != nil {
			t.Fatalf("without HoldPort the port stays taken: %v", err)
		}
		_ = again.Close()
	}
}
