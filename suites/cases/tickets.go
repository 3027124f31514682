package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/irohconf/irohconf/suites/framework"
)

// TicketDials: the ticket the server prints parses with the client's decoder, names the
// server's id and listening address, and dials.
func TicketDials() framework.Case {
	return framework.Case{
		Name: "ticket-dials", Abbr: "T",
		Description: "the ticket the server prints parses with the client's decoder, names the server's id and address, and dials",
		ClientNeeds: []framework.Feature{framework.FeatureTicketDecoder},
		Needs:       servesEcho,
		Timeout:     20 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			dec, ok := c.Client.(framework.TicketDecoder)
			if !ok {
				return framework.Testbed(fmt.Errorf("client %s declares %s but its driver cannot decode", c.Client.Manifest().Name, framework.FeatureTicketDecoder))
			}
			// The ticket as the server printed it (c.Server's is the path the cell dials).
			announced := c.Announced()
			t := announced.Ticket()
			c.Notef("server ticket: %s", t)
			got, err := dec.DecodeTickets(ctx, []string{t})
			if err != nil {
				return framework.Testbed(err)
			}
			if len(got) != 1 {
				return fmt.Errorf("decoder answered %d results for 1 ticket", len(got))
			}
			d := got[0]
			if d.Error != "" {
				return fmt.Errorf("the client's decoder refuses the server's ticket: %s", d.Error)
			}
			if d.EndpointID != announced.ID() {
				return fmt.Errorf("ticket names endpoint %s, the server announced %s", d.EndpointID, announced.ID())
			}
			addrs, err := ipAddrs(d.Addrs)
			if err != nil {
				return err
			}
			for _, a := range announced.Addrs() {
				if !slices.Contains(addrs, a) {
					return fmt.Errorf("ticket addresses %v do not include the listening address %s", addrs, a)
				}
			}
			res, err := echoOnce(ctx, c, framework.DialRequest{ALPN: EchoALPN, Size: 13, Count: 1})
			if err != nil {
				return err
			}
			return checkEchoWire(ctx, c, EchoALPN, res.EndpointID)
		},
	}
}

// ipAddrs returns the ip addresses of a decoded ticket's address list.
func ipAddrs(raw json.RawMessage) ([]string, error) {
	var addrs []struct {
		Type string `json:"type"`
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal(raw, &addrs); err != nil {
		return nil, fmt.Errorf("decoded addresses are not the contract's JSON: %w", err)
	}
	var out []string
	for _, a := range addrs {
		if a.Type == "ip" {
			out = append(out, a.Addr)
		}
	}
	return out, nil
}
