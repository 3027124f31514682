package cases

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// refusalBound is how long a refusal may take: a refusal that only ends by timing out hangs.
const refusalBound = 5 * time.Second

type refusal struct {
	name, abbr, description string
	how                     framework.Misbehaviour
	// codes are the QUIC error codes iroh uses for this refusal (any one of them).
	codes []peercontract.Code
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
			took := time.Since(start)
			if err != nil {
				return framework.Testbed(err)
			}
			c.Notef("result: ok=%v error=%q code=%s after %s", res.OK, res.Error, peercontract.CodeOf(res.ErrorCode), took)
			c.Record("refusal_ms", float64(took.Microseconds())/1000)
			if res.OK {
				return fmt.Errorf("the connection was accepted and echoed; want a refusal (%s)", r.how)
			}
			if res.ErrorCode == nil {
				return fmt.Errorf("refused without a QUIC error code after %s (%s); want one of %s", took.Round(time.Millisecond), res.Error, codes(r.codes))
			}
			if got := peercontract.Code(*res.ErrorCode); !slices.Contains(r.codes, got) {
				return fmt.Errorf("refused with error code %s (%s); iroh uses %s", got, res.Error, codes(r.codes))
			}
			if took > refusalBound {
				return fmt.Errorf("the refusal took %s, more than %s", took.Round(time.Millisecond), refusalBound)
			}
			return nil
		},
	}
}

// RefuseWrongID: the client expects another endpoint id than the server's key; it aborts.
func RefuseWrongID() framework.Case {
	return refusalCase(refusal{
		name: "refuse-wrong-id", abbr: "RW", how: framework.MisbehaveWrongID,
		description: "a client that expects another endpoint id refuses the server's key (bad_certificate)",
		codes:       []peercontract.Code{peercontract.BadCertificate},
	})
}

// RefuseUnservedALPN: an ALPN the server does not serve is refused with no_application_protocol.
func RefuseUnservedALPN() framework.Case {
	return refusalCase(refusal{
		name: "refuse-alpn", abbr: "RA", how: framework.MisbehaveUnknownALPN,
		description: "an ALPN the server does not serve is refused with " + peercontract.NoApplicationProtocol.String(),
		codes:       []peercontract.Code{peercontract.NoApplicationProtocol},
	})
}

// RefuseUnservedALPNLargeHello: the same refusal when the ClientHello spans two QUIC Initial
// packets (a post-quantum key share): the server must still deliver its CONNECTION_CLOSE.
func RefuseUnservedALPNLargeHello() framework.Case {
	return refusalCase(refusal{
		name: "refuse-alpn-large-hello", abbr: "RA2", how: framework.MisbehaveUnknownALPNLargeHello,
		description: "an unserved ALPN in a ClientHello spanning two Initial packets is refused with " + peercontract.NoApplicationProtocol.String() + ", not left to time out",
		codes:       []peercontract.Code{peercontract.NoApplicationProtocol},
	})
}

// RefusePlainX509: a client without raw public keys (plain X.509 TLS) is refused.
func RefusePlainX509() framework.Case {
	return refusalCase(refusal{
		name: "refuse-x509", abbr: "RX", how: framework.MisbehavePlainX509,
		description: "a client with plain X.509 TLS (no raw public keys) is refused with " + peercontract.HandshakeFailure.String(),
		codes:       []peercontract.Code{peercontract.HandshakeFailure},
	})
}

// RefuseNoClientKey: a client that offers raw keys but has no key of its own is refused.
func RefuseNoClientKey() framework.Case {
	return refusalCase(refusal{
		name: "refuse-no-client-key", abbr: "RK", how: framework.MisbehaveNoClientKey,
		description: "a client that sends no key of its own is refused with " + peercontract.CertificateRequired.String(),
		codes:       []peercontract.Code{peercontract.CertificateRequired},
	})
}

func codes(list []peercontract.Code) string {
	s := make([]string, len(list))
	for i, c := range list {
		s[i] = c.String()
	}
	return strings.Join(s, " or ")
}
