package cases

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// Mutations is how many mutated tickets each differential cell adds to the corpus.
const Mutations = 1000

// TicketDifferential: the client's and the server's ticket decoders agree on accept or reject
// and on the decoded content, over the corpus in fixtures/tickets plus mutations of it. The only
// differences excused are the understood custom address layout ones (understoodDifferences).
func TicketDifferential() framework.Case {
	return framework.Case{
		Name: "ticket-differential", Abbr: "TD",
		Description: fmt.Sprintf("the two peers' ticket decoders agree on accept/reject, id and addresses over the corpus plus %d mutations (only listed custom address layout differences excused)", Mutations),
		ClientNeeds: []framework.Feature{framework.FeatureTicketDecoder},
		ServerNeeds: []framework.Feature{framework.FeatureTicketDecoder},
		Timeout:     60 * time.Second,
		Run:         runDifferential,
	}
}

func runDifferential(ctx context.Context, c *framework.Cell) error {
	a, okA := c.Client.(framework.TicketDecoder)
	b, okB := c.ServerPeer.(framework.TicketDecoder)
	if !okA || !okB {
		return framework.Testbed(fmt.Errorf("a peer declares %s but its driver cannot decode", framework.FeatureTicketDecoder))
	}
	bName, bEncodings := c.ServerManifest().Name, c.ServerManifest().CustomEncodings()
	if c.ClientManifest().Name == bName {
		// One peer on both sides would compare a decoder with itself: compare it with the Go
		// ticket library in this process instead.
		b, bName, bEncodings = referenceDecoder{}, "the Go ticket library", referenceEncodings
	}
	c.Notef("comparing the decoders of %s and %s", c.ClientManifest().Name, bName)
	corpus, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		return framework.Testbed(err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("IROHCONF_TICKET_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			return framework.Testbed(fmt.Errorf("IROHCONF_TICKET_SEED: %w", err))
		}
	}
	c.Notef("mutation seed %d (set IROHCONF_TICKET_SEED=%d to repeat)", seed, seed)
	c.Record("seed", float64(seed))
	var inputs []differentialInput
	for _, e := range corpus {
		inputs = append(inputs, differentialInput{ticket: e.Ticket, source: e.Name})
	}
	for _, m := range tickettest.Mutate(corpus, Mutations, seed) {
		inputs = append(inputs, differentialInput{ticket: m.Ticket, source: m.Source, op: m.Op})
	}
	tickets := make([]string, len(inputs))
	for i, in := range inputs {
		tickets[i] = in.ticket
	}

	ra, err := a.DecodeTickets(ctx, tickets)
	if err != nil {
		return framework.Testbed(fmt.Errorf("%s decoder: %w", c.ClientManifest().Name, err))
	}
	rb, err := b.DecodeTickets(ctx, tickets)
	if err != nil {
		return framework.Testbed(fmt.Errorf("%s decoder: %w", bName, err))
	}
	if len(ra) != len(inputs) || len(rb) != len(inputs) {
		return fmt.Errorf("decoders answered %d and %d results for %d tickets", len(ra), len(rb), len(inputs))
	}

	layouts := [2][]string{c.ClientManifest().CustomEncodings(), bEncodings}
	var disagree []string
	accepted := 0
	excused := map[string]int{}
	for i, in := range inputs {
		x, y := ra[i], rb[i]
		if x.Ticket != in.ticket || y.Ticket != in.ticket {
			return fmt.Errorf("decoder answers are out of order at %d", i)
		}
		if x.Error == "" {
			accepted++
		}
		d := compareDecoded(x, y)
		if d.kind == agree {
			continue
		}
		if u, ok := excuse(d, in, layouts); ok {
			excused[u.name]++
			continue
		}
		disagree = append(disagree, fmt.Sprintf("%s (%s): %s", in.ticket, in, d.text))
	}
	c.Record("tickets", float64(len(inputs)))
	c.Record("tickets_accepted", float64(accepted))
	total := 0
	for name, n := range excused {
		total += n
		c.Notef("%d differences excused as %s", n, name)
	}
	c.Record("tickets_custom_layout_differences", float64(total))
	c.Notef("%d tickets (%d corpus, %d mutations), %d accepted by the client's decoder, %d differences excused (custom address layouts %v vs %v)",
		len(inputs), len(corpus), len(inputs)-len(corpus), accepted, total, layouts[0], layouts[1])
	for _, d := range disagree {
		c.Notef("disagreement: %s", d)
	}
	if len(disagree) > 0 {
		shown := disagree
		if len(shown) > 3 {
			shown = shown[:3]
		}
		return fmt.Errorf("the decoders disagree on %d of %d tickets (seed %d), e.g. %s", len(disagree), len(inputs), seed, strings.Join(shown, "; "))
	}
	return nil
}

// differentialInput is one ticket of the differential: a corpus entry, or a mutation of one.
type differentialInput struct {
	ticket string
	// source is the corpus entry; op the mutation operator ("" for the entry itself).
	source, op string
}

func (in differentialInput) String() string {
	if in.op == "" {
		return "corpus " + in.source
	}
	return in.op + " of " + in.source
}

// differenceKind is what two decoders disagree on.
type differenceKind int

const (
	agree differenceKind = iota
	acceptReject
	endpointID
	// customAddrs: both accept the same id and the same relay and ip addresses; only custom
	// addresses differ.
	customAddrs
	otherAddrs
)

type difference struct {
	kind differenceKind
	text string
}

// understoodDifference is a disagreement the differential excuses because it is understood:
// iroh changed the layout of custom addresses after 1.0.3 (commit 4706ec97), so decoders that
// read different layouts read the same custom address bytes as different data. An excuse covers
// only custom address content (never accept/reject, the endpoint id or other addresses), only
// for tickets from the listed corpus entries (the entry itself or any mutation of it: the
// mutations keep the bytes the layouts read differently), and only between decoders reading
// exactly the two listed sets of layouts (declared per version in the manifests).
type understoodDifference struct {
	name    string
	layouts [2][]string
	entries []string
	why     string
}

// legacyLayoutEntries are the corpus entries whose custom addresses are written in the layout
// of iroh 0.97 to 1.0.3, or bytes that layout reads otherwise than the current one.
var legacyLayoutEntries = []string{
	"composite-legacy", "custom-legacy-inline", "custom-legacy-inline-30-bytes", "custom-legacy-heap",
	"legacy-heap-short", "legacy-inline-nonzero-padding", "legacy-inline-size-31", "legacy-inline-size-31-then-more",
}

var understoodDifferences = []understoodDifference{
	{
		name:    "legacy-only vs current-only custom layout",
		layouts: [2][]string{{"legacy"}, {"current"}},
		entries: legacyLayoutEntries,
		why:     "iroh 1.0.x reads custom addresses in its own layout, iroh after 1.0.3 reads the same bytes in the current layout, as other data",
	},
	{
		name:    "legacy-only vs current-then-legacy custom layout",
		layouts: [2][]string{{"legacy"}, {"current", "legacy"}},
		entries: legacyLayoutEntries,
		why:     "the Go library reads the current layout first, as iroh after 1.0.3 does; iroh 1.0.x reads the legacy one",
	},
	{
		name:    "current-only vs current-then-legacy custom layout",
		layouts: [2][]string{{"current"}, {"current", "legacy"}},
		entries: legacyLayoutEntries,
		why:     "the Go library takes the legacy reading when it consumes every byte and the current one leaves bytes over; iroh after 1.0.3 reads the current layout and ignores the bytes over",
	},
}

// excuse returns the understood difference that explains d, if one does.
func excuse(d difference, in differentialInput, layouts [2][]string) (understoodDifference, bool) {
	if d.kind != customAddrs {
		return understoodDifference{}, false
	}
	for _, u := range understoodDifferences {
		pair := (slices.Equal(layouts[0], u.layouts[0]) && slices.Equal(layouts[1], u.layouts[1])) ||
			(slices.Equal(layouts[0], u.layouts[1]) && slices.Equal(layouts[1], u.layouts[0]))
		if pair && slices.Contains(u.entries, in.source) {
			return u, true
		}
	}
	return understoodDifference{}, false
}

// compareDecoded says how two answers for one ticket differ.
func compareDecoded(x, y peercontract.DecodedTicket) difference {
	switch {
	case (x.Error == "") != (y.Error == ""):
		if x.Error != "" {
			return difference{acceptReject, "client refuses (" + x.Error + "), server accepts"}
		}
		return difference{acceptReject, "client accepts, server refuses (" + y.Error + ")"}
	case x.Error != "":
		return difference{} // both refuse; the wording of errors is each peer's own
	case x.EndpointID != y.EndpointID:
		return difference{endpointID, fmt.Sprintf("endpoint id %s vs %s", x.EndpointID, y.EndpointID)}
	}
	nx, errX := normalJSON(x.Addrs)
	ny, errY := normalJSON(y.Addrs)
	if errX != nil || errY != nil {
		return difference{otherAddrs, fmt.Sprintf("addresses are not JSON: %v %v", errX, errY)}
	}
	if bytes.Equal(nx, ny) {
		return difference{}
	}
	text := fmt.Sprintf("addresses %s vs %s", nx, ny)
	cx, okX := withoutCustom(x.Addrs)
	cy, okY := withoutCustom(y.Addrs)
	if okX && okY && bytes.Equal(cx, cy) {
		return difference{customAddrs, text}
	}
	return difference{otherAddrs, text}
}

// withoutCustom is the normal JSON of the address list without its custom addresses.
func withoutCustom(raw json.RawMessage) ([]byte, bool) {
	var addrs []map[string]any
	if err := json.Unmarshal(raw, &addrs); err != nil {
		return nil, false
	}
	addrs = slices.DeleteFunc(addrs, func(a map[string]any) bool { return a["type"] == "custom" })
	b, err := json.Marshal(addrs)
	return b, err == nil
}

func normalJSON(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return []byte("[]"), nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v) // sorted keys, no insignificant spaces
}

// referenceEncodings are the custom address layouts the Go ticket library reads.
var referenceEncodings = []string{"current", "legacy"}

// referenceDecoder is the Go ticket library, in-process.
type referenceDecoder struct{}

func (referenceDecoder) DecodeTickets(_ context.Context, tickets []string) ([]peercontract.DecodedTicket, error) {
	out := make([]peercontract.DecodedTicket, len(tickets))
	for i, s := range tickets {
		out[i].Ticket = s
		t, err := ticket.Parse(s)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		var j struct {
			EndpointID string          `json:"endpoint_id"`
			Addrs      json.RawMessage `json:"addrs"`
		}
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, err
		}
		out[i].EndpointID, out[i].Addrs = j.EndpointID, j.Addrs
	}
	return out, nil
}
