package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

// refusalBound is how long a refusal may take: a refusal that only ends by timing out hangs.
const refusalBound = 5 * time.Second

type refusal struct {
	name, abbr, description string
	how                     framework.Misbehaviour
	// codes are the QUIC error codes iroh uses for this refusal (any one of them).
	codes []peercontract.Code
	// by is the side that must refuse: its CONNECTION_CLOSE is the first on the wire.
	by dissect.Side
}

func refusalCase(r refusal) framework.Case {
	return framework.Case{
		Name: r.name, Abbr: r.abbr, Description: r.description,
		ClientNeeds: []framework.Feature{framework.FeatureMisbehavingClient},
		Needs:       servesEcho,
		Timeout:     20 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			mc, ok := c.Client.(framework.MisbehavingClient)
			if !ok {
				return framework.Testbed(fmt.Errorf("client %s declares %s but its driver cannot misbehave", c.Client.Manifest().Name, framework.FeatureMisbehavingClient))
			}
			req := framework.DialRequest{Ticket: c.Server.Ticket(), ALPN: EchoALPN, Size: 13, Count: 1, Timeout: refusalBound + time.Second, KeyLog: c.KeyLogPath("client")}
			c.Notef("misbehaving dial: %s", r.how)
			start := time.Now()
			res, err := mc.DialMisbehaving(ctx, req, r.how, c.ClientLog)
			if err != nil {
				return framework.Testbed(err)
			}
			// What the wire shows is checked whatever the client says.
			return errors.Join(checkRefused(c, res, time.Since(start), string(r.how), r.codes), checkRefusalWire(ctx, c, r.by, r.codes))
		},
	}
}

// checkRefused checks a dial that must have been refused: not echoed, ended with one of the
// codes, within refusalBound.
func checkRefused(c *framework.Cell, res peercontract.Result, took time.Duration, how string, want []peercontract.Code) error {
	c.Notef("result: ok=%v error=%q code=%s after %s", res.OK, res.Error, peercontract.CodeOf(res.ErrorCode), took)
	c.Record("refusal_ms", float64(took.Microseconds())/1000)
	if res.OK {
		return fmt.Errorf("the connection was accepted and echoed; want a refusal (%s)", how)
	}
	if res.ErrorCode == nil {
		return fmt.Errorf("refused without a QUIC error code after %s (%s); want one of %s", took.Round(time.Millisecond), res.Error, codes(want))
	}
	if got := peercontract.Code(*res.ErrorCode); !slices.Contains(want, got) {
		return fmt.Errorf("refused with error code %s (%s); iroh uses %s", got, res.Error, codes(want))
	}
	if took > refusalBound {
		return fmt.Errorf("the refusal took %s, more than %s", took.Round(time.Millisecond), refusalBound)
	}
	return nil
}

// RefuseWrongID: every client is asked to dial the server's address expecting another endpoint
// id (a ticket naming another id), as any iroh user can; the client must refuse the server's
// key during the handshake.
func RefuseWrongID() framework.Case {
	return framework.Case{
		Name: "refuse-wrong-id", Abbr: "RW",
		Description: "a client dialing the server's address with another endpoint id refuses the server's key (" + codes(wrongIDCodes) + ")",
		Needs:       servesEcho,
		Timeout:     20 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			wrong, err := ticketWithOtherID(c.Server.Ticket())
			if err != nil {
				return framework.Testbed(err)
			}
			c.Notef("dialing the server's addresses with another id: %s", wrong)
			start := time.Now()
			res, err := c.Dial(ctx, framework.DialRequest{Ticket: wrong, ALPN: EchoALPN, Size: 13, Count: 1, Timeout: refusalBound + time.Second})
			if err != nil {
				return err
			}
			return errors.Join(checkRefused(c, res, time.Since(start), "the server's key is not the dialed id", wrongIDCodes),
				checkRefusalWire(ctx, c, dissect.Client, wrongIDCodes))
		},
	}
}

// wrongIDCodes are the alerts a client refuses a server key that is not the dialed id with:
// bad_certificate (the Go peer), unknown_ca (iroh's rustls verifier).
var wrongIDCodes = []peercontract.Code{peercontract.BadCertificate, peercontract.UnknownCA}

// ticketWithOtherID is the ticket with the same addresses and a fresh endpoint id.
func ticketWithOtherID(serverTicket string) (string, error) {
	t, err := ticket.Parse(serverTicket)
	if err != nil {
		return "", fmt.Errorf("the server's ticket: %w", err)
	}
	other, err := key.GenerateSecretKey()
	if err != nil {
		return "", err
	}
	t.ID = other.Public()
	return t.String(), nil
}

// RefuseUnservedALPN: an ALPN the server does not serve is refused with no_application_protocol.
func RefuseUnservedALPN() framework.Case {
	return refusalCase(refusal{
		name: "refuse-alpn", abbr: "RA", how: framework.MisbehaveUnknownALPN,
		description: "an ALPN the server does not serve is refused with " + peercontract.NoApplicationProtocol.String(),
		codes:       []peercontract.Code{peercontract.NoApplicationProtocol},
		by:          dissect.Server,
	})
}

// RefuseUnservedALPNLargeHello: the same refusal when the ClientHello spans two QUIC Initial
// packets (a post-quantum key share): the server must still deliver its CONNECTION_CLOSE.
func RefuseUnservedALPNLargeHello() framework.Case {
	return refusalCase(refusal{
		name: "refuse-alpn-large-hello", abbr: "RA2", how: framework.MisbehaveUnknownALPNLargeHello,
		description: "an unserved ALPN in a ClientHello spanning two Initial packets is refused with " + peercontract.NoApplicationProtocol.String() + ", not left to time out",
		codes:       []peercontract.Code{peercontract.NoApplicationProtocol},
		by:          dissect.Server,
	})
}

// RefusePlainX509: a client without raw public keys (plain X.509 TLS) is refused.
func RefusePlainX509() framework.Case {
	return refusalCase(refusal{
		name: "refuse-x509", abbr: "RX", how: framework.MisbehavePlainX509,
		description: "a client with plain X.509 TLS (no raw public keys) is refused with " + peercontract.HandshakeFailure.String(),
		codes:       []peercontract.Code{peercontract.HandshakeFailure},
		by:          dissect.Server,
	})
}

// RefuseNoClientKey: a client that offers raw keys but has no key of its own is refused.
func RefuseNoClientKey() framework.Case {
	return refusalCase(refusal{
		name: "refuse-no-client-key", abbr: "RK", how: framework.MisbehaveNoClientKey,
		description: "a client that sends no key of its own is refused with " + peercontract.CertificateRequired.String(),
		codes:       []peercontract.Code{peercontract.CertificateRequired},
		by:          dissect.Server,
	})
}

func codes(list []peercontract.Code) string {
	s := make([]string, len(list))
	for i, c := range list {
		s[i] = c.String()
	}
	return strings.Join(s, " or ")
}
