package relay_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/wire/capture"
	"github.com/irohconf/irohconf/wire/faults"
	"github.com/irohconf/irohconf/wire/wiretest"
)

// Every profile under a seeded Go-to-Go echo of 2 x 256 KiB: the echo comes back intact (or,
// where the profile makes the handshake impossible, the dial fails), the records show the
// profile at work, and replaying the captured datagrams through a fresh injector with the same
// seed gives the same decisions.
func TestProfilesUnderEcho(t *testing.T) {
	// With seed 1 the first draw of the client->server stream is below 0.3, so handshake-loss
	// drops the client's first Initial whatever else happens; the other profiles act on
	// hundreds of datagrams.
	const seed = 1
	for _, name := range faults.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, name)
			opts := wiretest.Options{Profile: p, Seed: seed, Echo: echo.Options{Size: 256 << 10, Count: 2}, Timeout: 30 * time.Second}
			run := wiretest.Echo(t, opts)
			t.Log(run.Describe())
			want := map[string]string{ // the reason the profile's records must show
				"loss": "loss", "handshake-loss": "handshake-loss", "burst-loss": "burst-loss",
				"reorder": "reorder", "duplicate": "duplicate", "corrupt": "corrupt", "delay": "delay",
				"blackhole": "blackhole", "rebind-port": "rebind", "rebind-addr": "rebind",
				"mtu-1200": "mtu", "asymmetric": "loss",
			}[name]
			reasons := map[string]int{}
			for _, rec := range run.Records {
				reasons[rec.Decision.Reason]++
			}
			t.Logf("reasons: %v", reasons)
			if want != "" && reasons[want] == 0 {
				t.Errorf("no record with reason %q: %v", want, reasons)
			}
			if name == "none" && len(reasons) != 1 {
				t.Errorf("profile none: %v", reasons)
			}
			// Every profile lets the echo through: the Go peer starts at QUIC's 1200 bytes, so
			// over mtu-1200 only its path MTU probes are dropped.
			if run.DialErr != nil || run.EchoErr != nil {
				t.Errorf("%s", run.Describe())
			}
			if name == "asymmetric" {
				for _, rec := range run.Records {
					if rec.Decision.Drop && rec.Dir == faults.ClientToServer {
						t.Errorf("asymmetric dropped %s", rec)
					}
				}
			}
			if strings.HasPrefix(name, "rebind") {
				if run.Client.Close.Kind == "" || !run.Client.Close.Normal() {
					t.Errorf("after rebinding the connection ended with %+v", run.Client.Close)
				}
			}
			replay(t, run, p, seed)
		})
	}
}

// replay feeds the captured datagrams, in order and with their times, to a fresh injector and
// compares its decisions with the relay's records.
func replay(t *testing.T, run wiretest.Run, p faults.Profile, seed uint64) {
	t.Helper()
	meta, pkts, err := capture.ReadAll(mustOpen(t, run.Capture()))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Profile != p.Name || meta.Seed != seed {
		t.Errorf("capture meta %+v", meta)
	}
	if len(pkts) != len(run.Records) {
		t.Fatalf("%d datagrams captured, %d records", len(pkts), len(run.Records))
	}
	in := faults.NewInjector(p, seed)
	for i, pkt := range pkts {
		rec := run.Records[i]
		if rec.Decision.Reason == "old-binding" {
			continue // decided by the relay, not the profile
		}
		dir := faults.ServerToClient
		if pkt.Dst == meta.Server {
			dir = faults.ClientToServer
		}
		if dir != rec.Dir {
			t.Fatalf("frame %d goes %s, record %s", i+1, dir, rec)
		}
		if d := in.Decide(dir, pkt.Data, pkt.Time); !reflect.DeepEqual(d, rec.Decision) {
			t.Fatalf("frame %d: replay decided %s, the relay %s", i+1, d, rec.Decision)
		}
		if pkt.Comment != "" && pkt.Comment != rec.Decision.String() {
			t.Errorf("frame %d: comment %q, record %s", i+1, pkt.Comment, rec.Decision)
		}
	}
}
