package faults

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// packets is a fixed sequence of datagrams in both directions: long-header ones first (the
// handshake), then short-header ones of varying sizes, 1 ms apart.
func packets() (dirs []Direction, pkts [][]byte, times []time.Time) {
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 2000 {
		size := 40 + (i*37)%1400
		if i%5 == 0 {
			size = 1300
		}
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(i + j)
		}
		p[0] = 0x40 // short header
		if i < 8 {
			p[0] = 0xc0 // long header
		}
		dirs = append(dirs, Direction(i%3%2))
		pkts = append(pkts, p)
		times = append(times, t0.Add(time.Duration(i)*time.Millisecond))
	}
	return dirs, pkts, times
}

func decideAll(p Profile, seed uint64) []Decision {
	in := NewInjector(p, seed)
	dirs, pkts, times := packets()
	out := make([]Decision, len(pkts))
	for i := range pkts {
		out[i] = in.Decide(dirs[i], pkts[i], times[i])
	}
	return out
}

func TestParse(t *testing.T) {
	for _, name := range Names() {
		p, err := Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != name {
			t.Errorf("Parse(%q).Name = %q", name, p.Name)
		}
		if (name == "none") != p.IsNone() {
			t.Errorf("%s: IsNone = %v", name, p.IsNone())
		}
		t.Logf("%-15s %s", name, p)
	}
	if _, err := Parse("losss"); err == nil {
		t.Error("Parse accepted an unknown profile")
	}
	if p, err := Parse(""); err != nil || !p.IsNone() || p.Name != "none" {
		t.Errorf(`Parse("") = %+v, %v; want none`, p, err)
	}
	// A caller tuning its copy does not change the table.
	p, _ := Parse("blackhole")
	p.Blackhole.For = time.Hour
	if q, _ := Parse("blackhole"); q.Blackhole.For != 3*time.Second {
		t.Errorf("tuning a parsed profile changed the named one: %s", q.Blackhole.For)
	}
}

// The same seed and the same packets give the same decisions; another seed gives others.
func TestDeterministic(t *testing.T) {
	for _, name := range Names() {
		p, _ := Parse(name)
		a, b := decideAll(p, 42), decideAll(p, 42)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with seed 42 decided differently", name)
		}
		random := p.Loss != [2]float64{} || p.HandshakeLoss > 0 || p.Burst != nil || p.Reorder > 0 || p.Duplicate > 0 || p.Corrupt > 0 || p.Jitter > 0
		if c := decideAll(p, 43); random && reflect.DeepEqual(a, c) {
			t.Errorf("%s: seeds 42 and 43 decided the same", name)
		}
	}
}

// One direction's decisions do not depend on the other direction's datagrams.
func TestDirectionsIndependent(t *testing.T) {
	p, _ := Parse("loss")
	dirs, pkts, times := packets()
	both := NewInjector(p, 7)
	alone := NewInjector(p, 7)
	var got, want []Decision
	for i := range pkts {
		d := both.Decide(dirs[i], pkts[i], times[i])
		if dirs[i] == ClientToServer {
			got = append(got, d)
			want = append(want, alone.Decide(dirs[i], pkts[i], times[i]))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("client->server decisions changed with the server->client datagrams between them")
	}
}

func count(ds []Decision, dirs []Direction, dir Direction, reason string) (n, total int) {
	for i, d := range ds {
		if dirs[i] != dir {
			continue
		}
		total++
		if d.Reason == reason {
			n++
		}
	}
	return n, total
}

// Each profile does what it says, at about its rate.
func TestProfiles(t *testing.T) {
	dirs, pkts, times := packets()
	rate := func(t *testing.T, ds []Decision, dir Direction, reason string, want float64) {
		t.Helper()
		n, total := count(ds, dirs, dir, reason)
		if got := float64(n) / float64(total); got < want*0.5 || got > want*1.6 {
			t.Errorf("%s %s: %d of %d (%.3f), want about %.3f", dir, reason, n, total, got, want)
		}
	}
	parse := func(name string) Profile { p, _ := Parse(name); return p }

	t.Run("none", func(t *testing.T) {
		for i, d := range decideAll(parse("none"), 1) {
			if d.Action() != Forwarded || d.Reason != "" {
				t.Fatalf("datagram %d: %s", i, d)
			}
		}
	})
	t.Run("loss", func(t *testing.T) {
		ds := decideAll(parse("loss"), 1)
		rate(t, ds, ClientToServer, "loss", 0.05)
		rate(t, ds, ServerToClient, "loss", 0.05)
	})
	t.Run("asymmetric", func(t *testing.T) {
		ds := decideAll(parse("asymmetric"), 1)
		rate(t, ds, ServerToClient, "loss", 0.10)
		if n, _ := count(ds, dirs, ClientToServer, "loss"); n != 0 {
			t.Errorf("%d client->server datagrams lost", n)
		}
	})
	t.Run("handshake-loss", func(t *testing.T) {
		p := parse("handshake-loss")
		p.HandshakeLossBudget = 0 // the rate, without the budget
		in := NewInjector(p, 1)
		long, lost := 0, 0
		for i := range 4000 {
			pkt := []byte{0x40, 1, 2}
			if i%2 == 0 {
				pkt[0] = 0xc0
				long++
			}
			d := in.Decide(Direction(i%2), pkt, time.Now())
			if d.Drop && pkt[0] == 0x40 {
				t.Fatalf("a short-header datagram was dropped: %s", d)
			}
			if d.Drop {
				lost++
			}
		}
		if got := float64(lost) / float64(long); got < 0.25 || got > 0.35 {
			t.Errorf("lost %d of %d long-header datagrams (%.2f), want about 0.30", lost, long, got)
		}
	})
	t.Run("handshake-loss budget", func(t *testing.T) {
		// Whatever the seed, the named profile drops at most its budget, both directions
		// together, and only long-header datagrams: the case's bound depends on it.
		p := parse("handshake-loss")
		if p.HandshakeLossBudget != 3 {
			t.Fatalf("budget %d, want 3", p.HandshakeLossBudget)
		}
		spent := 0
		for seed := range uint64(200) {
			in := NewInjector(p, seed)
			lost := 0
			for i := range 60 {
				if d := in.Decide(Direction(i%2), []byte{0xc0, 1, 2}, time.Now()); d.Drop {
					lost++
				}
			}
			if lost > p.HandshakeLossBudget {
				t.Fatalf("seed %d: %d long-header datagrams dropped, budget %d", seed, lost, p.HandshakeLossBudget)
			}
			if lost == p.HandshakeLossBudget {
				spent++
			}
		}
		if spent < 190 { // 60 datagrams at 30%: the budget is nearly always spent
			t.Errorf("the budget was spent for %d of 200 seeds", spent)
		}
	})
	t.Run("burst-loss", func(t *testing.T) {
		ds := decideAll(parse("burst-loss"), 1)
		// Bursts: a loss is followed by another loss far more often than the loss rate.
		var losses, follows int
		var prev [2]bool
		for i, d := range ds {
			lost := d.Reason == "burst-loss"
			if lost {
				losses++
				if prev[dirs[i]] {
					follows++
				}
			}
			prev[dirs[i]] = lost
		}
		if losses == 0 || float64(follows)/float64(losses) < 0.5 {
			t.Errorf("%d losses, %d right after another: no bursts", losses, follows)
		}
		// Over sparse traffic a burst ends with its time, not with a count: one datagram every
		// 100 ms (an ACK per probe) loses at most one in a row.
		in := NewInjector(parse("burst-loss"), 1)
		at := time.Now()
		run := 0
		for i := range 20000 {
			at = at.Add(100 * time.Millisecond)
			if d := in.Decide(Direction(i%2), []byte{0x40, 1}, at); d.Drop {
				run++
				if run > 2 { // each direction has its own state; 2 in a row is one per direction
					t.Fatalf("datagram %d: %d lost in a row, 100 ms apart: the burst outlived its %s", i, run, in.Profile().Burst.MaxDuration)
				}
			} else {
				run = 0
			}
		}
		// The handshake is left alone, however the bursts fall.
		for seed := range uint64(50) {
			in := NewInjector(parse("burst-loss"), seed)
			for i := range 400 {
				pkt := []byte{0x40, 1}
				if i%3 == 0 {
					pkt[0] = 0xc0
				}
				if d := in.Decide(Direction(i%2), pkt, time.Now()); d.Drop && pkt[0] == 0xc0 {
					t.Fatalf("seed %d: a long-header datagram was lost in a burst", seed)
				}
			}
		}
	})
	t.Run("reorder", func(t *testing.T) {
		ds := decideAll(parse("reorder"), 1)
		rate(t, ds, ClientToServer, "reorder", 0.05)
		for _, d := range ds {
			if d.Reason == "reorder" && d.Delay != 10*time.Millisecond {
				t.Fatalf("held back %s", d.Delay)
			}
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		ds := decideAll(parse("duplicate"), 1)
		rate(t, ds, ServerToClient, "duplicate", 0.05)
	})
	t.Run("corrupt", func(t *testing.T) {
		ds := decideAll(parse("corrupt"), 1)
		rate(t, ds, ClientToServer, "corrupt", 0.05)
		for i, d := range ds {
			if d.Reason != "corrupt" {
				continue
			}
			if len(d.Flips) < 1 || len(d.Flips) > 3 {
				t.Fatalf("%d flips", len(d.Flips))
			}
			for _, f := range d.Flips {
				if f.Offset >= len(pkts[i]) || f.Mask == 0 || f.Mask&(f.Mask-1) != 0 {
					t.Fatalf("flip %+v in a %d-byte datagram", f, len(pkts[i]))
				}
			}
		}
	})
	t.Run("delay", func(t *testing.T) {
		ds := decideAll(parse("delay"), 1)
		var last [2]time.Time
		for i, d := range ds {
			if d.Delay < 90*time.Millisecond || d.Delay > 110*time.Millisecond+time.Millisecond {
				t.Fatalf("datagram %d delayed %s, want 100ms ± 10ms", i, d.Delay)
			}
			at := times[i].Add(d.Delay)
			if at.Before(last[dirs[i]]) {
				t.Fatalf("datagram %d leaves before an earlier one", i)
			}
			last[dirs[i]] = at
		}
	})
	t.Run("blackhole", func(t *testing.T) {
		ds := decideAll(parse("blackhole"), 1)
		var bytes int
		first, last := -1, -1
		for i, d := range ds {
			if d.Reason == "blackhole" {
				if first < 0 {
					first = i
					if bytes < MidTransfer {
						t.Errorf("blackhole began after %d bytes, before %d", bytes, MidTransfer)
					}
				}
				last = i
			} else if first >= 0 && last == i-1 && i < len(ds)-1 && times[i].Sub(times[first]) < 3*time.Second {
				t.Errorf("datagram %d passed inside the blackhole", i)
			}
			bytes += len(pkts[i])
		}
		if first < 0 {
			t.Fatal("no blackhole")
		}
		// 2000 datagrams 1 ms apart: the hole lasts to the end.
		if last != len(ds)-1 {
			t.Errorf("blackhole ended at datagram %d within 3 s", last)
		}
	})
	t.Run("rebind", func(t *testing.T) {
		for name, want := range map[string]netip.Addr{"rebind-port": {}, "rebind-addr": netip.MustParseAddr("127.0.0.2")} {
			ds := decideAll(parse(name), 1)
			n := 0
			for i, d := range ds {
				if d.Rebind {
					n++
					if dirs[i] != ClientToServer || d.RebindAddr != want || d.Action() != Rewritten {
						t.Errorf("%s: %s on %s", name, d, dirs[i])
					}
				}
			}
			if n != 1 {
				t.Errorf("%s: %d rebindings, want 1", name, n)
			}
		}
	})
	t.Run("mtu-1200", func(t *testing.T) {
		for i, d := range decideAll(parse("mtu-1200"), 1) {
			if d.Drop != (len(pkts[i]) > 1200) {
				t.Fatalf("%d-byte datagram: %s", len(pkts[i]), d)
			}
		}
	})
}

// The relay writes Decision.String into its capture; ParseDecision reads it back.
func TestDecisionString(t *testing.T) {
	for _, name := range Names() {
		p, _ := Parse(name)
		for i, d := range decideAll(p, 5) {
			s := d.String()
			back, err := ParseDecision(s)
			if err != nil {
				t.Fatalf("%s: datagram %d: %v", name, i, err)
			}
			if !reflect.DeepEqual(back, d) {
				t.Fatalf("%s: %q reads back as %+v, want %+v", name, s, back, d)
			}
		}
	}
	for _, bad := range []string{"", "vanished", "dropped (loss", "delayed soon (delay)", "forwarded (corrupt, byte x ^0x1)", "dropped (loss, sideways)"} {
		if d, err := ParseDecision(bad); err == nil {
			t.Errorf("ParseDecision(%q) = %+v, want an error", bad, d)
		}
	}
}
