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
// and on the decoded content, over the corpus in fixtures/tickets plus mutations of it.
func TicketDifferential() framework.Case {
	return framework.Case{
		Name: "ticket-differential", Abbr: "TD",
		Description: fmt.Sprintf("the two peers' ticket decoders agree on accept/reject and content over the corpus plus %d mutations", Mutations),
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
	var inputs []string
	for _, e := range corpus {
		inputs = append(inputs, e.Ticket)
	}
	for _, m := range tickettest.Mutate(corpus, Mutations, seed) {
		inputs = append(inputs, m.Ticket)
	}

	ra, err := a.DecodeTickets(ctx, inputs)
	if err != nil {
		return framework.Testbed(fmt.Errorf("%s decoder: %w", c.ClientManifest().Name, err))
	}
	rb, err := b.DecodeTickets(ctx, inputs)
	if err != nil {
		return framework.Testbed(fmt.Errorf("%s decoder: %w", bName, err))
	}
	if len(ra) != len(inputs) || len(rb) != len(inputs) {
		return fmt.Errorf("decoders answered %d and %d results for %d tickets", len(ra), len(rb), len(inputs))
	}

	sameEncodings := slices.Equal(c.ClientManifest().CustomEncodings(), bEncodings)
	var disagree []string
	accepted, excused := 0, 0
	for i, in := range inputs {
		x, y := ra[i], rb[i]
		if x.Ticket != in || y.Ticket != in {
			return fmt.Errorf("decoder answers are out of order at %d", i)
		}
		if x.Error == "" {
			accepted++
		}
		diff := compareDecoded(x, y)
		if diff == "" {
			continue
		}
		if !sameEncodings && (hasCustom(x) || hasCustom(y)) {
			excused++ // the peers declare different custom address layouts
			continue
		}
		disagree = append(disagree, fmt.Sprintf("%s: %s", in, diff))
	}
	c.Record("tickets", float64(len(inputs)))
	c.Record("tickets_accepted", float64(accepted))
	c.Record("tickets_custom_layout_differences", float64(excused))
	c.Notef("%d tickets (%d corpus, %d mutations), %d accepted by the client's decoder, %d differences explained by declared custom address layouts",
		len(inputs), len(corpus), len(inputs)-len(corpus), accepted, excused)
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

// compareDecoded says how two answers for one ticket differ ("" when they agree).
func compareDecoded(x, y peercontract.DecodedTicket) string {
	switch {
	case (x.Error == "") != (y.Error == ""):
		if x.Error != "" {
			return "client refuses (" + x.Error + "), server accepts"
		}
		return "client accepts, server refuses (" + y.Error + ")"
	case x.Error != "":
		return "" // both refuse; the wording of errors is each peer's own
	case x.EndpointID != y.EndpointID:
		return fmt.Sprintf("endpoint id %s vs %s", x.EndpointID, y.EndpointID)
	}
	nx, errX := normalJSON(x.Addrs)
	ny, errY := normalJSON(y.Addrs)
	if errX != nil || errY != nil {
		return fmt.Sprintf("addresses are not JSON: %v %v", errX, errY)
	}
	if !bytes.Equal(nx, ny) {
		return fmt.Sprintf("addresses %s vs %s", nx, ny)
	}
	return ""
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

func hasCustom(d peercontract.DecodedTicket) bool {
	return bytes.Contains(d.Addrs, []byte(`"custom"`))
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
