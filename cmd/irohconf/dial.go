package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
)

func init() { register(newDialCommand) }

func newDialCommand() *cobra.Command {
	var (
		id, addr, secret, keylog, sni string
		groups                        []string
		req                           contract.DialRequest
		plainX509, noClientKey        bool
	)
	cmd := &cobra.Command{
		Use:   "dial [TICKET]",
		Short: "Dial an endpoint, echo random payloads, and print one result line",
		Long: `Dial an iroh endpoint by ticket (or --id and --addr), pinning its endpoint id, run --count
echoes of --size random bytes with at most --streams in flight, check every byte, and close with
code 0. Prints one {"event":"result",...} line; exits 0 when every echo came back, 1 when not,
2 for invalid input.

--sni, --plain-x509 and --no-client-key change what goes on the wire, for conformance cases.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cli.Stdout(cmd)
			// Invalid input still gets a result line, so a driver always has one to read.
			invalid := func(err error) error {
				_ = out.Line(peercontract.Result{Event: "result", EchoMS: []float64{}, Error: err.Error(), Stage: "input"})
				return usageError(err)
			}
			if err := dialTarget(&req, args, id, addr); err != nil {
				return invalid(err)
			}
			if secret != "" {
				sk, err := key.ParseSecretKey(secret)
				if err != nil {
					return invalid(fmt.Errorf("--secret: %w", err))
				}
				req.Secret = &sk
			}
			switch sni {
			case rpk.SNINone.String():
				req.Options.SNI = rpk.SNINone
			case rpk.SNIIrohInvalid.String():
				req.Options.SNI = rpk.SNIIrohInvalid
			default:
				return invalid(fmt.Errorf("--sni: %q is neither %q nor %q", sni, rpk.SNINone, rpk.SNIIrohInvalid))
			}
			req.Options.PlainX509, req.Options.NoClientKey = plainX509, noClientKey
			if len(groups) > 0 {
				g, err := parseGroups(groups)
				if err != nil {
					return invalid(err)
				}
				req.Options.Groups = g
			}
			if req.ALPN == "" {
				return invalid(errors.New("--alpn: empty"))
			}
			if req.Size < 0 || req.Count < 1 || req.Streams < 1 || req.Timeout <= 0 || req.Idle < 0 || req.Connections < 1 || req.Duration < 0 {
				return invalid(fmt.Errorf("want --size >= 0, --count >= 1, --streams >= 1, --timeout > 0, --idle >= 0, --connections >= 1, --duration >= 0 (got %d, %d, %d, %s, %s, %d, %s)",
					req.Size, req.Count, req.Streams, req.Timeout, req.Idle, req.Connections, req.Duration))
			}
			if keylog != "" {
				f, err := openKeyLog(keylog)
				if err != nil {
					return invalid(err)
				}
				defer f.Close()
				req.KeyLog = f
			}
			res := contract.Dial(cmd.Context(), req)
			if err := out.Line(res); err != nil {
				return failure(fmt.Errorf("writing to stdout: %w", err))
			}
			if !res.OK {
				return failure(errors.New(res.Error))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ALPN, "alpn", echo.ALPN, "ALPN to dial")
	f.IntVar(&req.Size, "size", 13, "payload bytes per echo")
	f.IntVar(&req.Count, "count", 1, "number of echoes")
	f.IntVar(&req.Streams, "streams", 1, "most echoes in flight at once on the connection (1: one after another)")
	f.IntVar(&req.Connections, "connections", 1, "connections one after another, each with its own handshake and echoes")
	f.DurationVar(&req.Duration, "duration", 0, "open connections one after another until this much time has passed (instead of --connections)")
	f.DurationVar(&req.Timeout, "timeout", contract.DefaultDialTimeout, "bound on the whole dial, idle time included")
	f.DurationVar(&req.Idle, "idle", 0, "keep the connection idle this long after the handshake, before the first echo")
	f.StringVar(&secret, "secret", "", "the dialer's secret key, 64 hex characters (default: a fresh key)")
	f.StringVar(&keylog, "keylog", "", "append the TLS key log (SSLKEYLOGFILE format) to this file")
	f.StringVar(&id, "id", "", "the remote endpoint id (with --addr, instead of a ticket)")
	f.StringVar(&addr, "addr", "", "the remote IP:PORT (with --id, instead of a ticket)")
	f.StringVar(&sni, "sni", rpk.SNINone.String(), `server_name to send: "none" (iroh after 1.0.3) or "iroh-invalid" (<base32hex(id)>.iroh.invalid, iroh up to 1.0.3)`)
	f.StringSliceVar(&groups, "groups", nil, "key exchange groups to offer, in order (x25519, x25519mlkem768, p256, p384, p521); default iroh's: x25519,p256,p384")
	f.BoolVar(&plainX509, "plain-x509", false, "misbehave: dial with plain X.509 TLS, offering no raw public keys")
	f.BoolVar(&noClientKey, "no-client-key", false, "misbehave: offer raw public keys but send no client key")
	return cmd
}

// dialTarget fills the remote id and address from a ticket or from --id and --addr.
func dialTarget(req *contract.DialRequest, args []string, id, addr string) error {
	switch {
	case len(args) == 1 && (id != "" || addr != ""):
		return errors.New("give a ticket or --id and --addr, not both")
	case len(args) == 1:
		t, err := ticket.Parse(args[0])
		if err != nil {
			return err // the ticket package's errors name the ticket
		}
		addrs := t.IPAddrs()
		if len(addrs) == 0 {
			return errors.New("ticket: it has no IP address to dial (relay and custom addresses are not used)")
		}
		req.ID, req.Addr = t.ID, addrs[0]
		return nil
	case id == "" || addr == "":
		return errors.New("give a ticket, or both --id and --addr")
	default:
		pk, err := key.ParsePublicKey(id)
		if err != nil {
			return fmt.Errorf("--id: %w", err)
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return fmt.Errorf("--addr: %w", err)
		}
		req.ID, req.Addr = pk, ap
		return nil
	}
}

// groupNames are the key exchange groups --groups takes (IANA names, or P-curve short names).
var groupNames = map[string]tls.CurveID{
	"x25519": tls.X25519, "x25519mlkem768": tls.X25519MLKEM768,
	"p256": tls.CurveP256, "secp256r1": tls.CurveP256,
	"p384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"p521": tls.CurveP521, "secp521r1": tls.CurveP521,
}

func parseGroups(names []string) ([]tls.CurveID, error) {
	out := make([]tls.CurveID, 0, len(names))
	for _, n := range names {
		g, ok := groupNames[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("--groups: unknown group %q (known: x25519, x25519mlkem768, p256, p384, p521)", n)
		}
		out = append(out, g)
	}
	return out, nil
}
