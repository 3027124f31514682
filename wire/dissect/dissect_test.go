package dissect_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/wiretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// dissectRun dissects a run's capture with both key logs and writes wire.json and wire.txt.
func dissectRun(t *testing.T, run wiretest.Run) *dissect.Wire {
	t.Helper()
	w, err := dissect.Files(ctx(t), run.Capture(), run.KeyLogs()...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestHandshakeAndEcho(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{Echo: echo.Options{Size: 64 << 10, Count: 3, Streams: 3}})
	if run.DialErr != nil || run.EchoErr != nil {
		t.Fatal(run.Describe())
	}
	w := dissectRun(t, run)
	if w.Frames != len(run.Records) || w.Undecrypted != 0 || len(w.Connections) != 1 {
		t.Fatalf("%d frames (relay: %d), %d undecrypted %v, %d connections", w.Frames, len(run.Records), w.Undecrypted, w.UndecryptedFrames, len(w.Connections))
	}
	if w.RelayActions["client->server"]["forwarded"]+w.RelayActions["server->client"]["forwarded"] != w.Frames {
		t.Errorf("relay actions %v", w.RelayActions)
	}
	c := w.Handshaken()
	h := c.Handshake
	srvID := run.Server.ID().String()
	checks := []struct {
		what      string
		got, want any
	}{
		{"offered ALPNs", strings.Join(h.OfferedALPNs, ","), echo.ALPN},
		{"negotiated ALPN", h.ALPN, echo.ALPN},
		{"cipher suite", h.CipherSuite, run.Client.TLS.CipherSuiteName()},
		{"group", h.Group, run.Client.TLS.GroupName()},
		{"server signature", h.ServerSignature, "Ed25519"},
		{"client signature", h.ClientSignature, "Ed25519"},
		{"offered client cert types", h.OfferedClientCertTypes, []int{2}},
		{"offered server cert types", h.OfferedServerCertTypes, []int{2}},
		{"client cert type", h.ClientCertType, 2},
		{"server cert type", h.ServerCertType, 2},
		{"server key", h.ServerKey, srvID},
		{"key shares", strings.Join(h.KeyShares, ","), "X25519"},
		{"hello retry", h.HelloRetryRequest, false},
		{"both finished", h.ServerFinished && h.ClientFinished && h.DoneFrame > 0, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if h.CipherSuite != "TLS_AES_128_GCM_SHA256" || h.Group != "X25519" {
		t.Logf("the Go peer negotiated %s with %s", h.CipherSuite, h.Group)
	}
	if len(h.ClientKey) != 64 || h.ClientKey == h.ServerKey {
		t.Errorf("client key %q", h.ClientKey)
	}
	// Transport parameters as the Go peer configures them (iroh/endpoint).
	for _, side := range []dissect.Side{dissect.Client, dissect.Server} {
		tp := c.TransportParameters[side]
		if tp == nil {
			t.Fatalf("no %s transport parameters", side)
		}
		if v(tp.MaxIdleTimeout) != uint64(endpoint.MaxIdleTimeout.Milliseconds()) {
			t.Errorf("%s max_idle_timeout %d, want %d", side, v(tp.MaxIdleTimeout), endpoint.MaxIdleTimeout.Milliseconds())
		}
		if tp.InitialMaxStreamsBidi == nil || tp.InitialMaxData == nil || tp.InitialMaxStreamDataBidiLocal == nil {
			t.Errorf("%s parameters miss stream limits or windows: %+v", side, tp)
		}
		if tp.MaxDatagramFrameSize != nil {
			t.Errorf("%s offers datagrams (%d); the Go peer does not enable them", side, *tp.MaxDatagramFrameSize)
		}
	}
	// The client closes with application code 0.
	cl := c.CloseBy(dissect.Client)
	if cl == nil || cl.FrameType != 0x1d || cl.Code != 0 || cl.Reason != echo.CloseReason || cl.Packet != "1-RTT" || !cl.Delivered() {
		t.Errorf("client close %+v", cl)
	}
	if c.CloseBy(dissect.Server) != nil {
		t.Errorf("the server closed too: %+v", c.Closes)
	}
	// Three concurrent echoes: three client streams that overlap, 64 KiB each way.
	if len(c.Streams) != 3 || c.MaxConcurrentStreams < 2 {
		t.Errorf("%d streams, %d at once", len(c.Streams), c.MaxConcurrentStreams)
	}
	for _, s := range c.Streams {
		if s.Initiator != dissect.Client || !s.Bidi || s.Bytes[dissect.Client] != 64<<10 || s.Bytes[dissect.Server] != 64<<10 || !s.Fin[dissect.Client] || !s.Fin[dissect.Server] {
			t.Errorf("stream %+v", s)
		}
	}
	av := c.AddressValidation
	if av.ValidatedFrame == 0 || av.ExceededFrame != 0 || av.ServerBytes > 3*av.ClientBytes || av.ClientBytes == 0 {
		t.Errorf("address validation %+v", av)
	}
	if d := c.Datagrams[dissect.Client]; d.Count == 0 || d.Max > 1452 || d.Min < 1 || d.Dropped != 0 {
		t.Errorf("client datagrams %+v", d)
	}
	if c.ZeroRTT.Packets != 0 {
		t.Errorf("0-RTT %+v", c.ZeroRTT)
	}
	// The frame log has one line per frame after its header.
	log := readLines(t, filepath.Join(run.Dir, dissect.FrameLogFile))
	if got := len(log) - 3; got != w.Frames || !strings.Contains(log[3], "Initial#0") || !strings.Contains(log[3], "CRYPTO(ClientHello)") {
		t.Errorf("frame log: %d lines for %d frames; first: %q", got, w.Frames, log[3])
	}
	// The client's close, on the line of its frame (datagrams already in flight may follow).
	if cl == nil {
		t.Fatal("no close from the client")
	}
	if line := log[2+cl.Frame]; !strings.Contains(line, `CONNECTION_CLOSE(0x1d 0x0 "bye!")`) || !strings.Contains(line, " c>s ") {
		t.Errorf("frame log line of the close (frame %d): %q", cl.Frame, line)
	}
	// The capture now carries the key logs: it decrypts without them, as Wireshark opens it.
	res, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.Capture()})
	if err != nil || res.Wire.Undecrypted != 0 || res.Wire.Handshaken().Handshake.ALPN != echo.ALPN {
		t.Errorf("the capture with embedded key logs: %v, %+v", err, res)
	}
	back, err := dissect.Load(filepath.Join(run.Dir, dissect.JSONFile))
	if err != nil || back.Handshaken().Handshake.ALPN != echo.ALPN {
		t.Errorf("wire.json reads back as %+v, %v", back, err)
	}
}

func v(p *uint64) uint64 {
	if p == nil {
		return 1<<64 - 1
	}
	return *p
}

func readLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// A refused ALPN: the server's CONNECTION_CLOSE in an Initial packet, crypto error 0x178
// (0x100 + no_application_protocol).
func TestRefusalWrongALPN(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{ALPN: "no-such-protocol/0", Timeout: 10 * time.Second})
	if run.DialErr == nil {
		t.Fatal("the dial with an unserved ALPN passed")
	}
	w := dissectRun(t, run)
	c := w.Handshaken()
	if c == nil {
		t.Fatal("no connection on the wire")
	}
	cl := c.CloseBy(dissect.Server)
	if cl == nil {
		t.Fatalf("no close from the server: %+v", c.Closes)
	}
	if cl.FrameType != 0x1c || cl.Code != 0x178 || cl.TLSAlert != 120 || cl.Packet != "Initial" {
		t.Errorf("server close %+v, want 0x1c 0x178 (alert 120) in an Initial", cl)
	}
	if c.Handshake.ALPN != "" || c.Handshake.ServerHelloFrame != 0 {
		t.Errorf("a refused handshake negotiated %+v", c.Handshake)
	}
	if got := strings.Join(c.Handshake.OfferedALPNs, ","); got != "no-such-protocol/0" {
		t.Errorf("offered ALPNs %q", got)
	}
}

// Without key logs only the Initial packets decrypt: the handshake's later messages are
// missing and the packets are counted as not decrypted.
func TestWithoutKeyLogs(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{})
	res, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.Capture()})
	if err != nil {
		t.Fatal(err)
	}
	w := res.Wire
	if w.Undecrypted == 0 || len(w.UndecryptedFrames) == 0 {
		t.Errorf("%d packets not decrypted without key logs", w.Undecrypted)
	}
	if c := w.Handshaken(); c == nil || c.Handshake.ALPN != "" || c.Handshake.CipherSuite == "" {
		t.Errorf("without key logs: %+v (want the ServerHello only)", c)
	}
}

func TestBadInput(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{})
	if _, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.Capture(), KeyLogs: []string{filepath.Join(run.Dir, "missing.txt")}}); err == nil {
		t.Error("a missing key log was accepted")
	}
	if _, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.KeyLogs()[0]}); err == nil {
		t.Error("a key log was accepted as a capture")
	}
	if _, err := dissect.Dissect(ctx(t), dissect.Input{Capture: filepath.Join(run.Dir, "none.pcapng")}); err == nil {
		t.Error("a missing capture was accepted")
	}
}

func TestNoTshark(t *testing.T) {
	run := wiretest.Echo(t, wiretest.Options{})
	t.Setenv("PATH", t.TempDir())
	_, err := dissect.Dissect(ctx(t), dissect.Input{Capture: run.Capture()})
	if !errors.Is(err, dissect.ErrNoTshark) || !strings.Contains(err.Error(), "apt-get install tshark") {
		t.Errorf("without tshark: %v", err)
	}
}

// Each fault profile leaves its marks on the wire next to the relay's.
func TestFaultProfilesOnTheWire(t *testing.T) {
	for _, name := range []string{"loss", "handshake-loss", "rebind-port", "rebind-addr", "corrupt", "duplicate", "mtu-1200"} {
		t.Run(name, func(t *testing.T) {
			p, _ := faults.Parse(name)
			opts := wiretest.Options{Profile: p, Seed: 1, Echo: echo.Options{Size: 256 << 10, Count: 2}}
			if name == "mtu-1200" {
				opts.Timeout = 2 * time.Second
			}
			run := wiretest.Echo(t, opts)
			w := dissectRun(t, run)
			if w.Profile != name || w.Seed != 1 {
				t.Errorf("profile %q seed %d", w.Profile, w.Seed)
			}
			// tshark 4.0 sometimes cannot decrypt quic-go's server packets once it migrated to
			// the client's new address (the first of them a PATH_CHALLENGE), though the client
			// decrypts and acknowledges them: reported, not failed.
			if w.Undecrypted != 0 && !strings.HasPrefix(name, "rebind") {
				t.Errorf("%d packets not decrypted (frames %v)", w.Undecrypted, w.UndecryptedFrames)
			}
			counts := map[string]int{}
			for _, rec := range run.Records {
				counts[rec.Dir.String()+" "+rec.Decision.Action().String()]++
			}
			for dir, actions := range w.RelayActions {
				for a, n := range actions {
					if counts[dir+" "+a] != n {
						t.Errorf("wire.json: %s %s %d, records %d", dir, a, n, counts[dir+" "+a])
					}
				}
			}
			c := w.Handshaken()
			log := strings.Join(readLines(t, filepath.Join(run.Dir, dissect.FrameLogFile)), "\n")
			switch name {
			case "loss":
				if c.Retransmitted[dissect.Client]+c.Retransmitted[dissect.Server] == 0 {
					t.Error("no retransmitted stream frames under loss")
				}
				if !strings.Contains(log, "<< relay: dropped (loss)") {
					t.Error("the frame log shows no loss")
				}
			case "handshake-loss":
				// Seed 1 drops the client's first Initial: the client sends its ClientHello again.
				if c.RetransmittedCrypto[dissect.Client] == 0 {
					t.Errorf("no CRYPTO retransmission by the client: %v", c.RetransmittedCrypto)
				}
			case "rebind-port", "rebind-addr":
				if len(c.ClientAddrs) != 2 {
					t.Errorf("client addresses %v", c.ClientAddrs)
				}
				if len(c.PathChallenges) == 0 {
					t.Logf("no PATH_CHALLENGE decoded; %d packets not decrypted from frame %v on", w.Undecrypted, w.UndecryptedFrames)
				}
				if name == "rebind-addr" && len(c.ClientAddrs) == 2 && !strings.HasPrefix(c.ClientAddrs[1].Addr, "127.0.0.2:") {
					t.Errorf("after rebind-addr the client is at %s", c.ClientAddrs[1].Addr)
				}
			case "corrupt":
				if !strings.Contains(log, "<< relay: corrupted (corrupt, byte ") {
					t.Error("the frame log shows no corruption")
				}
			case "mtu-1200":
				// The handshake fits 1200 bytes; what is dropped is path MTU probes, larger.
				if d := c.Datagrams[dissect.Client]; d.Dropped == 0 || d.Dropped == d.Count {
					t.Errorf("client datagrams %+v: want the probes over 1200 bytes dropped, the rest through", d)
				}
				if !strings.Contains(log, "<< relay: dropped (mtu)") {
					t.Error("the frame log shows no datagram dropped for its size")
				}
			}
			if cl := c.CloseBy(dissect.Client); cl == nil || cl.Code != 0 || cl.FrameType != 0x1d {
				t.Errorf("client close %+v", cl)
			}
		})
	}
}
