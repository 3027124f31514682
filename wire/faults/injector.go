package faults

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Action is what happens to one datagram, the most telling one when a decision does several
// things.
type Action uint8

const (
	Forwarded Action = iota
	Dropped
	Delayed
	Duplicated
	Corrupted
	Rewritten // the client's source address changed with this datagram
)

var actionNames = [...]string{"forwarded", "dropped", "delayed", "duplicated", "corrupted", "rewritten"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction is the inverse of Action.String.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("faults: unknown action %q", s)
}

// Flip is one corrupted byte: the bits of Mask are inverted at Offset.
type Flip struct {
	Offset int
	Mask   byte
}

// Decision is what to do with one datagram.
type Decision struct {
	// Drop: the datagram is not delivered. Reason names the rule.
	Drop bool
	// Reason is the rule behind the decision ("loss", "handshake-loss", "burst-loss",
	// "blackhole", "mtu", "reorder", "delay", "duplicate", "corrupt", "rebind"); empty when the
	// datagram is simply forwarded.
	Reason string
	// Delay holds the datagram back this long before it is sent on.
	Delay time.Duration
	// Duplicate sends the datagram twice.
	Duplicate bool
	// Flips are applied to the datagram before it is sent on.
	Flips []Flip
	// Rebind: from this datagram on, the client's datagrams leave from a new source; RebindAddr is
	// its address, or invalid to keep the address and change only the port.
	Rebind     bool
	RebindAddr netip.Addr
}

// Action is the decision's most telling action.
func (d Decision) Action() Action {
	switch {
	case d.Drop:
		return Dropped
	case d.Rebind:
		return Rewritten
	case len(d.Flips) > 0:
		return Corrupted
	case d.Duplicate:
		return Duplicated
	case d.Delay > 0:
		return Delayed
	}
	return Forwarded
}

// String is the decision in a few words: "dropped (loss)", "delayed 103ms (delay)",
// "corrupted (corrupt: byte 57 ^0x08)". ParseDecision reads it back.
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.Action().String())
	if d.Delay > 0 && !d.Drop {
		fmt.Fprintf(&b, " %s", d.Delay)
	}
	if d.Reason != "" {
		b.WriteString(" (")
		b.WriteString(d.Reason)
		for _, f := range d.Flips {
			fmt.Fprintf(&b, ", byte %d ^%#02x", f.Offset, f.Mask)
		}
		if d.Rebind {
			if d.RebindAddr.IsValid() {
				fmt.Fprintf(&b, ", to %s", d.RebindAddr)
			} else {
				b.WriteString(", new port")
			}
		}
		if d.Duplicate && d.Action() != Duplicated {
			b.WriteString(", duplicated")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Injector applies a Profile with a seed. It is safe for concurrent use.
type Injector struct {
	p    Profile
	seed uint64

	mu          sync.Mutex
	dirs        [2]dirState
	start       time.Time // the first datagram
	bytes       int64     // through the relay so far, both directions
	holeUntil   time.Time // end of the blackhole once it started
	holeStarted bool
	rebound     bool
	hsDropped   int // datagrams HandshakeLoss dropped, against its budget
}

type dirState struct {
	rng         *rand.Rand
	burstBad    bool
	burstStart  time.Time // when the current burst began
	lastDeliver time.Time // for delay without reordering
}

// NewInjector returns an injector for p whose random decisions follow seed.
func NewInjector(p Profile, seed uint64) *Injector {
	in := &Injector{p: p, seed: seed}
	for d := range in.dirs {
		// One stream per direction, so that one direction's decisions do not depend on how the
		// other's datagrams interleave with it.
		in.dirs[d].rng = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(d+1)))
	}
	return in
}

// NewSeed returns a random seed for a run; reports print it so that a run can be repeated.
func NewSeed() uint64 {
	var b [8]byte
	_, _ = cryptorand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// Profile is the injector's profile.
func (in *Injector) Profile() Profile { return in.p }

// Seed is the injector's seed.
func (in *Injector) Seed() uint64 { return in.seed }

// Decide decides what happens to datagram pkt, travelling in dir, that arrived at now. Flips
// are only described, not applied: pkt is not modified.
func (in *Injector) Decide(dir Direction, pkt []byte, now time.Time) Decision {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.start.IsZero() {
		in.start = now
	}
	before := in.bytes
	in.bytes += int64(len(pkt))
	st := &in.dirs[dir]
	p := &in.p

	if p.MaxDatagram > 0 && len(pkt) > p.MaxDatagram {
		return Decision{Drop: true, Reason: "mtu"}
	}
	if bh := p.Blackhole; bh != nil {
		if !in.holeStarted && in.reached(bh.Trigger, before, now) {
			in.holeStarted, in.holeUntil = true, now.Add(bh.For)
		}
		if in.holeStarted && now.Before(in.holeUntil) {
			return Decision{Drop: true, Reason: "blackhole"}
		}
	}
	var d Decision
	if rb := p.Rebind; rb != nil && dir == ClientToServer && !in.rebound && in.reached(rb.Trigger, before, now) {
		in.rebound = true
		d = Decision{Reason: "rebind", Rebind: true, RebindAddr: rb.Addr}
	}
	// The draw is made even past the budget, so each direction's random stream stays its own.
	if p.HandshakeLoss > 0 && len(pkt) > 0 && pkt[0]&0x80 != 0 && st.rng.Float64() < p.HandshakeLoss &&
		(p.HandshakeLossBudget == 0 || in.hsDropped < p.HandshakeLossBudget) {
		in.hsDropped++
		return Decision{Drop: true, Reason: "handshake-loss"}
	}
	// Bursts hit the transfer, not the handshake: counted in datagrams, a burst over the sparse
	// handshake would last several doubling probe timeouts (seconds), no outage a path has.
	// The handshake's losses are the handshake-loss profile's.
	if b := p.Burst; b != nil && (len(pkt) == 0 || pkt[0]&0x80 == 0) {
		r := st.rng.Float64()
		if st.burstBad {
			st.burstBad = r >= b.Leave && (b.MaxDuration == 0 || now.Sub(st.burstStart) < b.MaxDuration)
		} else if st.burstBad = r < b.Enter; st.burstBad {
			st.burstStart = now
		}
		if st.burstBad {
			return Decision{Drop: true, Reason: "burst-loss"}
		}
	}
	if p.Loss[dir] > 0 && st.rng.Float64() < p.Loss[dir] {
		return Decision{Drop: true, Reason: "loss"}
	}
	setReason := func(r string) {
		if d.Reason == "" {
			d.Reason = r
		}
	}
	if p.Corrupt > 0 && len(pkt) > 0 && st.rng.Float64() < p.Corrupt {
		n := 1 + st.rng.IntN(3)
		for range n {
			d.Flips = append(d.Flips, Flip{Offset: st.rng.IntN(len(pkt)), Mask: 1 << st.rng.IntN(8)})
		}
		setReason("corrupt")
	}
	if p.Duplicate > 0 && st.rng.Float64() < p.Duplicate {
		d.Duplicate = true
		setReason("duplicate")
	}
	if p.Reorder > 0 && st.rng.Float64() < p.Reorder {
		d.Delay = p.ReorderDelay
		setReason("reorder")
	}
	if p.Delay > 0 || p.Jitter > 0 {
		delay := p.Delay
		if p.Jitter > 0 {
			delay += time.Duration(st.rng.Int64N(int64(2*p.Jitter)+1)) - p.Jitter
		}
		deliver := now.Add(max(delay, 0))
		if deliver.Before(st.lastDeliver) {
			deliver = st.lastDeliver
		}
		st.lastDeliver = deliver
		d.Delay += deliver.Sub(now)
		setReason("delay")
	}
	return d
}

// ParseDecision reads back what Decision.String wrote (the relay's comment on each captured
// datagram).
func ParseDecision(s string) (Decision, error) {
	bad := func(why string) (Decision, error) {
		return Decision{}, fmt.Errorf("faults: decision %q: %s", s, why)
	}
	head, detail, hasDetail := strings.Cut(s, " (")
	if hasDetail {
		if !strings.HasSuffix(detail, ")") {
			return bad("no closing parenthesis")
		}
		detail = strings.TrimSuffix(detail, ")")
	}
	words := strings.Fields(head)
	if len(words) == 0 || len(words) > 2 {
		return bad("want an action and at most a delay before the details")
	}
	action, err := ParseAction(words[0])
	if err != nil {
		return bad(err.Error())
	}
	var d Decision
	if len(words) == 2 {
		if d.Delay, err = time.ParseDuration(words[1]); err != nil {
			return bad(err.Error())
		}
	}
	parts := strings.Split(detail, ", ")
	if hasDetail {
		d.Reason = parts[0]
	}
	for _, p := range parts[1:] {
		switch {
		case p == "duplicated":
			d.Duplicate = true
		case p == "new port":
			d.Rebind = true
		case strings.HasPrefix(p, "to "):
			if d.RebindAddr, err = netip.ParseAddr(strings.TrimPrefix(p, "to ")); err != nil {
				return bad(err.Error())
			}
			d.Rebind = true
		case strings.HasPrefix(p, "byte "):
			off, mask, ok := strings.Cut(strings.TrimPrefix(p, "byte "), " ^")
			o, err1 := strconv.Atoi(off)
			m, err2 := strconv.ParseUint(mask, 0, 8)
			if !ok || err1 != nil || err2 != nil {
				return bad("flip " + p)
			}
			d.Flips = append(d.Flips, Flip{Offset: o, Mask: byte(m)})
		default:
			return bad("unknown detail " + p)
		}
	}
	switch action {
	case Dropped:
		d.Drop = true
	case Duplicated:
		d.Duplicate = true
	case Rewritten:
		d.Rebind = true
	}
	if d.Action() != action {
		return bad(fmt.Sprintf("details make it %s", d.Action()))
	}
	return d, nil
}

func (in *Injector) reached(t Trigger, bytes int64, now time.Time) bool {
	if t.AfterBytes > 0 {
		return bytes >= t.AfterBytes
	}
	return now.Sub(in.start) >= t.After
}
