package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
)

func init() { register(newTicketCommand) }

func newTicketCommand() *cobra.Command {
	cmd := cli.Group(&cobra.Command{
		Use:   "ticket",
		Short: "Endpoint tickets (iroh-tickets 1.0): decode and encode",
	})
	cmd.AddCommand(newTicketDecodeCommand(), newTicketEncodeCommand())
	return cmd
}

func newTicketDecodeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "decode TICKET | -",
		Short: `Print {"endpoint_id":..,"addrs":[..]} with addresses in canonical order; "-" reads one ticket per line from stdin`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "-" {
				return decodeBatch(cmd)
			}
			tk, err := ticket.Parse(args[0])
			if err != nil {
				return cli.Invalid(err)
			}
			return cli.Stdout(cmd).Line(tk)
		},
	}
}

// batchAnswer is one line of `ticket decode -`: the input, then its content or what is wrong.
type batchAnswer struct {
	Ticket     string          `json:"ticket"`
	EndpointID string          `json:"endpoint_id,omitempty"`
	Addrs      json.RawMessage `json:"addrs,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// decodeBatch answers every line of stdin, in order, for differential corpora; a bad ticket is
// an answer, not a failure of the command.
func decodeBatch(cmd *cobra.Command) error {
	in := bufio.NewScanner(cmd.InOrStdin())
	in.Buffer(make([]byte, 0, 64<<10), 4<<20)
	out := cli.Stdout(cmd)
	for in.Scan() {
		text := strings.TrimSuffix(in.Text(), "\r")
		a := batchAnswer{Ticket: text}
		if tk, err := ticket.Parse(text); err != nil {
			a.Error = err.Error()
		} else {
			var j struct {
				EndpointID string          `json:"endpoint_id"`
				Addrs      json.RawMessage `json:"addrs"`
			}
			b, err := json.Marshal(tk)
			if err != nil {
				return cli.Failed(err)
			}
			if err := json.Unmarshal(b, &j); err != nil {
				return cli.Failed(err)
			}
			a.EndpointID, a.Addrs = j.EndpointID, j.Addrs
		}
		if err := out.Line(a); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		return cli.Failed(fmt.Errorf("reading stdin: %w", err))
	}
	return nil
}

func newTicketEncodeCommand() *cobra.Command {
	var (
		id, customEncoding   string
		ips, relays, customs []string
	)
	cmd := &cobra.Command{
		Use:   "encode --id HEX [--addr IP:PORT]... [--relay URL]... [--custom ID:HEX]...",
		Short: `Print {"ticket":"endpoint..."} in canonical form`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pk, err := key.ParsePublicKey(id)
			if err != nil {
				return cli.Invalidf("--id: %w", err)
			}
			var addrs []ticket.Addr
			for _, s := range ips {
				a, err := ticket.ParseIPAddr(s)
				if err != nil {
					return cli.Invalidf("--addr: %w", err)
				}
				addrs = append(addrs, a)
			}
			for _, s := range relays {
				a, err := ticket.RelayAddr(s)
				if err != nil {
					return cli.Invalidf("--relay: %w", err)
				}
				addrs = append(addrs, a)
			}
			for _, s := range customs {
				a, err := ticket.ParseCustomAddr(s)
				if err != nil {
					return cli.Invalidf("--custom: %w", err)
				}
				addrs = append(addrs, a)
			}
			tk := ticket.New(pk, addrs...)
			switch customEncoding {
			case "current":
			case "legacy":
				tk.CustomEncoding = ticket.CustomLegacy
			default:
				return cli.Invalidf("--custom-encoding %q: want current or legacy", customEncoding)
			}
			return cli.Stdout(cmd).Line(map[string]string{"ticket": tk.String()})
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "endpoint id (64 lowercase hex or 52 base32)")
	f.StringArrayVar(&ips, "addr", nil, "direct address IP:PORT or [IPv6]:PORT (repeatable)")
	f.StringArrayVar(&relays, "relay", nil, "relay URL (repeatable)")
	f.StringArrayVar(&customs, "custom", nil, "custom transport address ID:HEX, ID decimal or 0x hex (repeatable)")
	f.StringVar(&customEncoding, "custom-encoding", "current",
		fmt.Sprintf("custom address layout: current (iroh after 1.0.3) or legacy (iroh 0.97 to 1.0.3)"))
	_ = cmd.MarkFlagRequired("id")
	return cmd
}
