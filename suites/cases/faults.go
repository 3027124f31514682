package cases

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/reports"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/faults"
)

// The scenario cases: one echo of netEchoSize over each fault profile of the relay (wire/faults),
// for every pair, labelled net:<profile>. The echo passes when it comes back identical within a
// bound the case derives from the profile and the pair's windows (netBound), or, where the
// profile makes the connection impossible (netImpossible), when the dial fails with a named
// error within its timeout. Never a hang, never corrupted data (each client compares the reply
// with what it sent). The cell's log shows what the relay did beside what the peers did.

// netEchoSize is past the ESP32 profile's windows (16 KiB per stream, 32 KiB per connection)
// many times over, and past faults.MidTransfer, where the blackhole and the rebindings act.
const netEchoSize = 256 << 10

// netProfile is a profile of the scenario cases with its badge in the report.
type netProfile struct{ name, abbr string }

// netProfiles are the scenario cases' profiles in report order: "none" is every other case.
var netProfiles = []netProfile{
	{"loss", "loss"}, {"asymmetric", "asym"}, {"handshake-loss", "hs-loss"}, {"burst-loss", "burst"},
	{"reorder", "reord"}, {"duplicate", "dup"}, {"corrupt", "corr"}, {"delay", "delay"},
	{"blackhole", "bhole"}, {"rebind-port", "rb-port"}, {"rebind-addr", "rb-addr"}, {"mtu-1200", "mtu"},
}

// NetScenarios are the scenario cases, one per fault profile.
func NetScenarios() []framework.Case {
	out := make([]framework.Case, 0, len(netProfiles))
	for _, np := range netProfiles {
		p, err := faults.Parse(np.name)
		if err != nil {
			panic(err) // the table above names a profile wire/faults does not have
		}
		// The case's timeout is the bound for the smallest window any manifest declares (the
		// ESP32 profile's), plus the client's own grace to report and close.
		worst := netBound(p, esp32Window, esp32Window)
		out = append(out, framework.Case{
			Name: "net-" + np.name, Abbr: np.abbr, Profile: np.name,
			Description: fmt.Sprintf("over the %s path (%s) one stream echoes %d KiB back identical within the bound of the profile, RTT and windows", np.name, describeProfile(p), netEchoSize>>10),
			Needs:       netNeeds(p),
			Timeout:     worst.total() + netGrace,
			Run:         func(ctx context.Context, c *framework.Cell) error { return runNetScenario(ctx, c, p) },
		})
	}
	return out
}

// netNeeds: the echo fits both peers, and the relay can apply the profile. Two peers that both
// open direct paths (iroh 1.x) get a server on [::1] (framework.PairServerBind), the relay's
// only way to stay in their path, and IPv6 loopback has one address: the relay cannot move
// their client to another address. A board on the network is not on loopback at all.
func netNeeds(p faults.Profile) func(client, server framework.Manifest) error {
	return func(client, server framework.Manifest) error {
		if err := payloadFits(netEchoSize)(client, server); err != nil {
			return err
		}
		if p.Rebind == nil || !p.Rebind.Addr.IsValid() {
			return nil
		}
		if server.Kind == reports.KindBoard {
			return framework.NotDeclared(server.Name, "%s is a board on the network: the relay moves a client to another address only on loopback", server.Name)
		}
		if strings.HasPrefix(framework.PairServerBind(client, server), "[") { // an IPv6 server
			return framework.NotDeclared(server.Name, "%s and %s both declare direct_paths, so the server listens on [::1] to keep the relay in their path, and IPv6 loopback has no second address to move the client to", client.Name, server.Name)
		}
		return nil
	}
}

// actsAfterHandshake: the profile does something to datagrams that carry no handshake.
func actsAfterHandshake(p faults.Profile) bool {
	p.HandshakeLoss, p.Name = 0, ""
	return !p.IsNone()
}

// esp32Window is the ESP32 profile's stream receive window, the smallest any peer declares.
const esp32Window = 16 << 10

// defaultWindow stands for a peer that declares no stream window (its QUIC stack's default,
// which grows; quic-go starts at 512 KiB): the bound then assumes 64 KiB, which only makes it
// looser.
const defaultWindow = 64 << 10

// netGrace is what a cell allows past the client's own timeout for the client to report its
// failure and for the framework to notice a client that does not: past it the cell fails as a
// hang.
const netGrace = 15 * time.Second

// bound is the time an echo may take over a profile, term by term (written to the cell's log).
type bound struct {
	Setup, Handshake, Transfer, Loss, Stall time.Duration
	// Why names each term's inputs.
	Why []string
}

func (b bound) total() time.Duration { return b.Setup + b.Handshake + b.Transfer + b.Loss + b.Stall }

func (b bound) String() string {
	return fmt.Sprintf("%s = setup %s + handshake %s + transfer %s + loss %s + stall %s (%s)",
		b.total().Round(time.Millisecond), b.Setup, b.Handshake.Round(time.Millisecond), b.Transfer.Round(time.Millisecond),
		b.Loss.Round(time.Millisecond), b.Stall.Round(time.Millisecond), strings.Join(b.Why, "; "))
}

// Constants of the bound.
const (
	// netSetup is the client's start (a process or container exec), its key, and its close, on a
	// loaded 2-core host: the same echo over a perfect path takes well under a second.
	netSetup = 5 * time.Second
	// hostRTT is loopback's round trip under load, the floor of every RTT.
	hostRTT = 5 * time.Millisecond
	// initialPTO is RFC 9002's first probe timeout before any RTT sample (initial RTT 333 ms:
	// PTO = 333 ms + 4 x 333/2 ms ≈ 1 s).
	initialPTO = time.Second
	// handshakeLossesUnbudgeted is how many handshake losses the bound allows for a profile that
	// drops long-header datagrams without a budget (faults.Profile.HandshakeLossBudget).
	handshakeLossesUnbudgeted = 3
	// initialWindow is RFC 9002 §7.2's initial congestion window for 1200-byte datagrams:
	// min(10 x 1200, max(14720, 2 x 1200)) bytes.
	initialWindow = 12000
	// maxAckDelay is the largest max_ack_delay the peers announce (RFC 9000 default 25 ms).
	maxAckDelay = 25 * time.Millisecond
	// rebindStall is what a rebinding costs: what the server sent to the old address is lost
	// (one PTO) and the new path is validated (PATH_CHALLENGE/RESPONSE, one RTT) while the
	// server's congestion controller restarts; two PTOs at the initial value cover it.
	rebindStall = 2 * initialPTO
)

// netBound is the time an echo of netEchoSize may take over profile p between a client with
// stream receive window wc and a server with ws (bytes):
//
//	RTT       = 2 (delay + jitter) + hostRTT
//	PTO       = 3 RTT + max_ack_delay                      (RFC 9002 §6.2.1 with rttvar ≤ RTT/2)
//	setup     = netSetup
//	handshake = 2 RTT + [handshake loss] initialPTO (2^k - 1), k = the profile's loss budget
//	transfer  = (⌈S/ws⌉ + ⌈S/wc⌉ + 2 ⌈log2(S/IW)⌉) RTT    (each direction window-limited, one window per RTT, after
//	                                                       slow start from RFC 9002's initial window IW each way)
//	loss      = (p N + 2 e N) PTO, N = 4 ⌈S/1200⌉         (N: data datagrams both ways and as many ACKs; every
//	                                                       datagram lost, corrupted or reordered (rate p) costs at
//	                                                       most one PTO; a burst (entered at rate e) two, since
//	                                                       the first probe may fall into it)
//	stall     = [blackhole] 2 D + PTO                      (probes back off exponentially through the hole of D:
//	                                                       the first after it leaves at most 2 D + PTO after it began)
//	          + [rebinding] rebindStall
func netBound(p faults.Profile, wc, ws int) bound {
	const s = netEchoSize
	var b bound
	rtt := 2*(p.Delay+p.Jitter) + hostRTT
	pto := 3*rtt + maxAckDelay
	b.Why = append(b.Why, fmt.Sprintf("RTT %s, PTO %s", rtt, pto))
	b.Setup = netSetup
	b.Handshake = 2 * rtt
	if p.HandshakeLoss > 0 {
		// Each lost handshake datagram costs at most one probe timeout, and PTOs double from 1 s
		// while losses follow each other: k losses cost at most 1 + 2 + ... + 2^(k-1) s.
		k := cmp.Or(p.HandshakeLossBudget, handshakeLossesUnbudgeted)
		b.Handshake += initialPTO * (1<<k - 1)
		b.Why = append(b.Why, fmt.Sprintf("up to %d handshake datagrams lost", k))
	}
	rounds := ceilDiv(s, ws) + ceilDiv(s, wc)
	// Slow start: the congestion window starts at initialWindow and doubles per RTT, in each
	// direction, until it covers the payload.
	slowStart := 2 * int(math.Ceil(math.Log2(float64(s)/initialWindow)))
	b.Transfer = time.Duration(rounds+slowStart) * rtt
	b.Why = append(b.Why, fmt.Sprintf("%d windows (client %d KiB, server %d KiB) and %d RTT of slow start", rounds, wc>>10, ws>>10, slowStart))
	n := 4 * ceilDiv(s, 1200)
	rate := max(p.Loss[0], p.Loss[1]) + p.Corrupt + p.Reorder
	ptos := math.Ceil(rate * float64(n))
	if ptos > 0 {
		b.Why = append(b.Why, fmt.Sprintf("%.0f of %d datagrams lost (rate %.2f)", ptos, n, rate))
	}
	if p.Burst != nil {
		bursts := math.Ceil(p.Burst.Enter * float64(n))
		ptos += 2 * bursts
		b.Why = append(b.Why, fmt.Sprintf("%.0f bursts in %d datagrams", bursts, n))
	}
	b.Loss = time.Duration(ptos * float64(pto))
	if h := p.Blackhole; h != nil {
		b.Stall += 2*h.For + pto
		b.Why = append(b.Why, fmt.Sprintf("blackhole of %s", h.For))
	}
	if p.Rebind != nil {
		b.Stall += rebindStall
		b.Why = append(b.Why, "one rebinding")
	}
	return b
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// window is a peer's stream receive window for the bound.
func window(m framework.Manifest) int {
	if w := m.Limits.StreamReceiveWindow; w > 0 {
		return w
	}
	return defaultWindow
}

func runNetScenario(ctx context.Context, c *framework.Cell, p faults.Profile) error {
	b := netBound(p, window(c.ClientManifest()), window(c.ServerManifest()))
	c.Notef("bound: %s", b)
	c.Record("bound_ms", float64(b.total().Milliseconds()))
	req := framework.DialRequest{Ticket: c.Server.Ticket(), ALPN: EchoALPN, Size: netEchoSize, Count: 1, Timeout: b.total()}
	start := time.Now()
	res, err := c.Dial(ctx, req)
	took := time.Since(start)
	if err != nil {
		return err
	}
	c.Record("echo_wall_ms", float64(took.Milliseconds()))
	w, werr := c.Wire(ctx)
	if werr != nil {
		return werr
	}
	notePath(c, w)
	if !res.OK {
		return netFailure(c, p, w, req, res, took)
	}
	if err := checkCrossedRelay(p, w); err != nil {
		return err
	}
	if err := checkDialed(c, req, res); err != nil {
		return err
	}
	recordThroughput(c, res)
	if took > b.total() {
		return fmt.Errorf("the echo came back after %s, beyond the bound of %s", took.Round(time.Millisecond), b)
	}
	c.Notef("the echo came back identical after %s (%.0f%% of the bound)", took.Round(time.Millisecond), 100*float64(took)/float64(b.total()))
	return checkNetWire(p, w)
}

// checkCrossedRelay: the echo, which came back, went through the relay both ways, so the
// profile acted on it. Peers that
// find a path around the relay (a direct path to an address one of them advertised) leave the
// test bed unable to say anything about the profile: an error of the test bed, not a pass.
func checkCrossedRelay(p faults.Profile, w *dissect.Wire) error {
	if !actsAfterHandshake(p) {
		return nil
	}
	sent := map[dissect.Side]int{}
	for _, conn := range w.Connections {
		for side, d := range conn.Datagrams {
			if d != nil {
				sent[side] += d.Bytes
			}
		}
	}
	if sent[dissect.Client] < netEchoSize || sent[dissect.Server] < netEchoSize {
		return framework.Testbed(fmt.Errorf("the echo did not cross the relay (%d bytes client to server, %d server to client, of %d each way): the peers moved to a path around it, so the %s profile did not act on the transfer",
			sent[dissect.Client], sent[dissect.Server], netEchoSize, p.Name))
	}
	return nil
}

// netFailure judges a dial that failed: a pass only where the profile makes the connection
// impossible, and then only with a named error within the dial's timeout.
func netFailure(c *framework.Cell, p faults.Profile, w *dissect.Wire, req framework.DialRequest, res peercontract.Result, took time.Duration) error {
	failed := fmt.Errorf("dial failed after %s (stage %q): %s%s", took.Round(time.Millisecond), res.Stage, res.Error, codeSuffix(res.ErrorCode))
	why := netImpossible(p, w)
	if why == "" {
		return failed
	}
	c.Notef("the profile makes this connection impossible: %s", why)
	switch {
	case res.Error == "":
		return fmt.Errorf("%w; the failure is allowed (%s) but the client named no error", failed, why)
	case took > req.Timeout+netGrace:
		return fmt.Errorf("%w; the failure is allowed (%s) but not after the dial's timeout of %s", failed, why, req.Timeout)
	}
	c.Notef("the dial failed as allowed, with a named error within its timeout: %v", failed)
	return nil
}

// netImpossible says why the profile makes the connection impossible for this pair, from the
// wire; "" when it does not. RFC 9000 §9: a server that announced disable_active_migration may
// drop the packets of a client whose address changed, rebinding or not. Nothing else is
// impossible: QUIC must work over a path of 1200 bytes (§14), through loss, reordering,
// duplication, corruption (dropped as undecryptable), delay, and a 3 s blackhole shorter than
// every idle timeout.
func netImpossible(p faults.Profile, w *dissect.Wire) string {
	if p.Rebind == nil {
		return ""
	}
	for _, conn := range w.Connections {
		if tp := conn.TransportParameters[dissect.Server]; tp != nil && tp.DisableActiveMigration {
			return "the server announced disable_active_migration (RFC 9000 §9: it may drop packets from the client's new address)"
		}
	}
	return ""
}

// notePath writes what the relay did and what the peers did about it into the cell's log.
func notePath(c *framework.Cell, w *dissect.Wire) {
	for _, dir := range slices.Sorted(maps.Keys(w.RelayActions)) {
		var parts []string
		for _, a := range slices.Sorted(maps.Keys(w.RelayActions[dir])) {
			parts = append(parts, fmt.Sprintf("%s %d", a, w.RelayActions[dir][a]))
		}
		c.Notef("wire: relay %s: %s", dir, strings.Join(parts, ", "))
	}
	for _, conn := range w.Connections {
		var parts []string
		for _, side := range []dissect.Side{dissect.Client, dissect.Server} {
			d := conn.Datagrams[side]
			if d == nil {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %d datagrams (%d-%d bytes, %d not delivered), %d stream and %d crypto frames resent, %d PINGs",
				side, d.Count, d.Min, d.Max, d.Dropped, conn.Retransmitted[side], conn.RetransmittedCrypto[side], countBy(conn.Pings, side)))
		}
		c.Notef("wire: connection %d (frames %d-%d): %s", conn.Number, conn.FirstFrame, conn.LastFrame, strings.Join(parts, "; "))
		if len(conn.ClientAddrs) > 1 || len(conn.PathChallenges) > 0 {
			var addrs []string
			for _, a := range conn.ClientAddrs {
				addrs = append(addrs, fmt.Sprintf("%s from frame %d", a.Addr, a.Frame))
			}
			c.Notef("wire: connection %d: client addresses %s; PATH_CHALLENGE by %s, PATH_RESPONSE by %s",
				conn.Number, strings.Join(addrs, ", "), eventsBy(conn.PathChallenges), eventsBy(conn.PathResponses))
		}
		for _, cl := range conn.Closes {
			c.Notef("wire: connection %d: CONNECTION_CLOSE by %s in frame %d, code %#x %q%s", conn.Number, cl.By, cl.Frame, cl.Code, cl.Reason, relayNote(cl.Relay))
		}
	}
	if w.Undecrypted > 0 {
		c.Notef("wire: %d packets tshark could not decrypt (first frames %v)", w.Undecrypted, w.UndecryptedFrames)
	}
}

// checkNetWire checks on the wire what RFC 9000 requires of a profile the echo survived:
// after a rebinding the server validates the client's new address (§9.3: an endpoint MUST
// perform path validation when its peer's address changes) before it sends it more than
// the anti-amplification limit.
func checkNetWire(p faults.Profile, w *dissect.Wire) error {
	if p.Rebind == nil {
		return nil
	}
	conn := w.Handshaken()
	if conn == nil {
		return errors.New("the wire shows no completed handshake, though the client echoed")
	}
	if len(conn.ClientAddrs) < 2 {
		return fmt.Errorf("the wire shows the client at %d address(es): the relay's rebinding (%s) did not happen within the transfer", len(conn.ClientAddrs), p.Rebind.Trigger)
	}
	moved := conn.ClientAddrs[1].Frame
	for _, ev := range conn.PathChallenges {
		if ev.By == dissect.Server && ev.Frame >= moved {
			return nil
		}
	}
	if w.Undecrypted > 0 {
		return nil // tshark lost the connection after the migration (docs/wire.md): nothing to check
	}
	return fmt.Errorf("the client moved to %s in frame %d, and the server sent no PATH_CHALLENGE after it (RFC 9000 §9.3 requires path validation)", conn.ClientAddrs[1].Addr, moved)
}

func describeProfile(p faults.Profile) string {
	switch {
	case p.Loss[0] > 0 && p.Loss[1] > 0:
		return fmt.Sprintf("%.0f%% lost each way", 100*p.Loss[0])
	case p.Loss[faults.ServerToClient] > 0:
		return fmt.Sprintf("%.0f%% lost server to client", 100*p.Loss[faults.ServerToClient])
	case p.HandshakeLoss > 0:
		return fmt.Sprintf("%.0f%% of handshake datagrams lost", 100*p.HandshakeLoss)
	case p.Burst != nil:
		return fmt.Sprintf("bursts of %.0f datagrams lost", 1/p.Burst.Leave)
	case p.Reorder > 0:
		return fmt.Sprintf("%.0f%% held back %s", 100*p.Reorder, p.ReorderDelay)
	case p.Duplicate > 0:
		return fmt.Sprintf("%.0f%% delivered twice", 100*p.Duplicate)
	case p.Corrupt > 0:
		return fmt.Sprintf("%.0f%% with flipped bits", 100*p.Corrupt)
	case p.Delay > 0:
		return fmt.Sprintf("%s ± %s each way", p.Delay, p.Jitter)
	case p.Blackhole != nil:
		return fmt.Sprintf("all dropped for %s %s", p.Blackhole.For, p.Blackhole.Trigger)
	case p.Rebind != nil && p.Rebind.Addr.IsValid():
		return fmt.Sprintf("the client moves to %s %s", p.Rebind.Addr, p.Rebind.Trigger)
	case p.Rebind != nil:
		return fmt.Sprintf("the client's port changes %s", p.Rebind.Trigger)
	case p.MaxDatagram > 0:
		return fmt.Sprintf("datagrams over %d bytes dropped", p.MaxDatagram)
	}
	return "every datagram forwarded"
}

func countBy(evs []dissect.Event, side dissect.Side) int {
	n := 0
	for _, e := range evs {
		if e.By == side {
			n++
		}
	}
	return n
}

func eventsBy(evs []dissect.Event) string {
	if len(evs) == 0 {
		return "nobody"
	}
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("%s (frame %d)", e.By, e.Frame))
	}
	return strings.Join(parts, ", ")
}

func relayNote(r string) string {
	if r == "" {
		return ""
	}
	return " (relay: " + r + ")"
}
