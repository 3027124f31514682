package faults

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Direction is the way a datagram travels through the relay.
type Direction uint8

const (
	ClientToServer Direction = iota
	ServerToClient
)

func (d Direction) String() string {
	if d == ClientToServer {
		return "client->server"
	}
	return "server->client"
}

// Profile is one network condition. The zero value (and the profile "none") forwards every
// datagram untouched. Rules combine; the named profiles each set one.
type Profile struct {
	// Name is the profile's name, as Parse takes it.
	Name string
	// Loss drops this fraction of the datagrams, indexed by Direction.
	Loss [2]float64
	// HandshakeLoss drops this fraction of the datagrams that start with a long-header packet
	// (Initial, 0-RTT, Handshake: the handshake and its retransmissions), in each direction.
	HandshakeLoss float64
	// HandshakeLossBudget, when set, is the most datagrams HandshakeLoss drops in all (both
	// directions): each loss at most doubles a probe timeout that starts at 1 s, so a budget
	// bounds the handshake's time whatever the seed.
	HandshakeLossBudget int
	// Burst drops datagrams in bursts (a Gilbert model), both directions, each with its own state;
	// only short-header datagrams (after the handshake) count and are dropped.
	Burst *Burst
	// Reorder holds this fraction of the datagrams back by ReorderDelay, so later ones overtake.
	Reorder      float64
	ReorderDelay time.Duration
	// Duplicate delivers this fraction of the datagrams twice.
	Duplicate float64
	// Corrupt flips one to three random bits in this fraction of the datagrams.
	Corrupt float64
	// Delay holds every datagram back by Delay ± Jitter one way (so RTT is twice that), without
	// reordering: a datagram never leaves before one that arrived earlier in its direction.
	Delay, Jitter time.Duration
	// Blackhole drops every datagram, both ways, for a while once a trigger is reached.
	Blackhole *Blackhole
	// Rebind moves the client to a new source address or port once a trigger is reached, as a
	// NAT rebinding does: from then on the server sees the new address, and datagrams the server
	// still sends to the old one are lost.
	Rebind *Rebind
	// MaxDatagram drops datagrams with a UDP payload over this many bytes; zero means no limit.
	MaxDatagram int
}

// Burst is a two-state loss model: in the good state nothing is lost and each datagram enters
// the bad state with probability Enter; in the bad state every datagram is lost and each leaves
// it with probability Leave (mean burst 1/Leave datagrams). MaxDuration, when set, also ends a
// bad state that has lasted that long: a burst is an outage of the path, and counted in
// datagrams alone it would, over sparse traffic (an ACK per probe, each probe after a doubled
// timeout), last for seconds.
type Burst struct {
	Enter, Leave float64
	MaxDuration  time.Duration
}

// Trigger is when an event happens: once AfterBytes of datagrams have crossed the relay (both
// directions, counted at arrival), or, when AfterBytes is zero, After the first datagram.
type Trigger struct {
	AfterBytes int64
	After      time.Duration
}

func (t Trigger) String() string {
	if t.AfterBytes > 0 {
		return fmt.Sprintf("after %d KiB", t.AfterBytes>>10)
	}
	return fmt.Sprintf("after %s", t.After)
}

// Blackhole drops everything for For once Trigger is reached.
type Blackhole struct {
	Trigger
	For time.Duration
}

// Rebind moves the client once Trigger is reached. Addr is the client's new address; the zero
// Addr keeps the address and changes only the port.
type Rebind struct {
	Trigger
	Addr netip.Addr
}

// MidTransfer is where the blackhole and rebinding profiles act: after this many bytes through
// the relay, well inside an echo of 256 KiB (which moves over 512 KiB).
const MidTransfer = 128 << 10

// The named profiles. Rates are per datagram.
var profiles = map[string]Profile{
	"none":           {},
	"loss":           {Loss: [2]float64{0.05, 0.05}},
	"handshake-loss": {HandshakeLoss: 0.30, HandshakeLossBudget: 3},
	"burst-loss":     {Burst: &Burst{Enter: 0.01, Leave: 0.25, MaxDuration: 20 * time.Millisecond}},
	"reorder":        {Reorder: 0.05, ReorderDelay: 10 * time.Millisecond},
	"duplicate":      {Duplicate: 0.05},
	"corrupt":        {Corrupt: 0.05},
	"delay":          {Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond},
	"blackhole":      {Blackhole: &Blackhole{Trigger: Trigger{AfterBytes: MidTransfer}, For: 3 * time.Second}},
	"rebind-port":    {Rebind: &Rebind{Trigger: Trigger{AfterBytes: MidTransfer}}},
	"rebind-addr":    {Rebind: &Rebind{Trigger: Trigger{AfterBytes: MidTransfer}, Addr: netip.AddrFrom4([4]byte{127, 0, 0, 2})}},
	"mtu-1200":       {MaxDatagram: 1200},
	"asymmetric":     {Loss: [2]float64{ServerToClient: 0.10}},
}

// Names lists the named profiles, sorted.
func Names() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Parse returns the named profile; the empty name is "none".
func Parse(name string) (Profile, error) {
	if name == "" {
		name = "none"
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("faults: unknown profile %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	p.Name = name
	// The pointers are shared with the table; give the caller its own copies to tune.
	if p.Burst != nil {
		b := *p.Burst
		p.Burst = &b
	}
	if p.Blackhole != nil {
		b := *p.Blackhole
		p.Blackhole = &b
	}
	if p.Rebind != nil {
		r := *p.Rebind
		p.Rebind = &r
	}
	return p, nil
}

// IsNone reports whether the profile forwards everything untouched.
func (p Profile) IsNone() bool {
	return p.Loss == [2]float64{} && p.HandshakeLoss == 0 && p.Burst == nil && p.Reorder == 0 &&
		p.Duplicate == 0 && p.Corrupt == 0 && p.Delay == 0 && p.Jitter == 0 && p.Blackhole == nil &&
		p.Rebind == nil && p.MaxDatagram == 0
}

// String describes the profile's rules in a few words, for reports.
func (p Profile) String() string {
	var rules []string
	pct := func(f float64) string { return fmt.Sprintf("%g%%", f*100) }
	switch {
	case p.Loss[0] > 0 && p.Loss[0] == p.Loss[1]:
		rules = append(rules, "loss "+pct(p.Loss[0])+" each way")
	case p.Loss[0] > 0 || p.Loss[1] > 0:
		rules = append(rules, fmt.Sprintf("loss %s client->server, %s server->client", pct(p.Loss[0]), pct(p.Loss[1])))
	}
	if p.HandshakeLoss > 0 {
		rule := "loss " + pct(p.HandshakeLoss) + " of long-header datagrams"
		if p.HandshakeLossBudget > 0 {
			rule += fmt.Sprintf(" (at most %d)", p.HandshakeLossBudget)
		}
		rules = append(rules, rule)
	}
	if p.Burst != nil {
		rule := fmt.Sprintf("burst loss (enter %s, mean burst %.0f datagrams", pct(p.Burst.Enter), 1/p.Burst.Leave)
		if p.Burst.MaxDuration > 0 {
			rule += fmt.Sprintf(", at most %s", p.Burst.MaxDuration)
		}
		rules = append(rules, rule+")")
	}
	if p.Reorder > 0 {
		rules = append(rules, fmt.Sprintf("%s held back %s", pct(p.Reorder), p.ReorderDelay))
	}
	if p.Duplicate > 0 {
		rules = append(rules, pct(p.Duplicate)+" duplicated")
	}
	if p.Corrupt > 0 {
		rules = append(rules, pct(p.Corrupt)+" with flipped bits")
	}
	if p.Delay > 0 || p.Jitter > 0 {
		rules = append(rules, fmt.Sprintf("delay %s ± %s each way", p.Delay, p.Jitter))
	}
	if p.Blackhole != nil {
		rules = append(rules, fmt.Sprintf("blackhole for %s %s", p.Blackhole.For, p.Blackhole.Trigger))
	}
	if p.Rebind != nil {
		to := "a new port"
		if p.Rebind.Addr.IsValid() {
			to = p.Rebind.Addr.String()
		}
		rules = append(rules, fmt.Sprintf("client moves to %s %s", to, p.Rebind.Trigger))
	}
	if p.MaxDatagram > 0 {
		rules = append(rules, fmt.Sprintf("datagrams over %d bytes dropped", p.MaxDatagram))
	}
	if len(rules) == 0 {
		return "no faults"
	}
	return strings.Join(rules, "; ")
}
