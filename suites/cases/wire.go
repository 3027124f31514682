package cases

import (
	"context"
	"fmt"
	"time"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
)

// variantDial is one 13-byte echo that a client makes in a way only some clients can (a chosen
// SNI, a post-quantum key share), checked like any other dial. T is the driver capability the
// feature stands for.
func variantDial[T any](name, abbr, description string, feature framework.Feature,
	dial func(ctx context.Context, client T, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error)) framework.Case {
	return framework.Case{
		Name: name, Abbr: abbr, Description: description,
		ClientNeeds: []framework.Feature{feature},
		Needs:       servesEcho,
		Timeout:     20 * time.Second,
		Run: func(ctx context.Context, c *framework.Cell) error {
			client, ok := c.Client.(T)
			if !ok {
				return framework.Testbed(fmt.Errorf("client %s declares %s but its driver does not offer it", c.ClientManifest().Name, feature))
			}
			req := framework.DialRequest{Ticket: c.Server.Ticket(), ALPN: EchoALPN, Size: 13, Count: 1, Timeout: 10 * time.Second, KeyLog: c.KeyLogPath("client")}
			c.Notef("dial: %s", name)
			res, err := dial(ctx, client, req, c.ClientLog)
			if err != nil {
				return framework.Testbed(err)
			}
			if err := checkDialed(c, req, res); err != nil {
				return err
			}
			return checkEchoWire(ctx, c, req.ALPN, res.EndpointID)
		},
	}
}

// SNINone: a client that sends no SNI (iroh after 1.0.3) is accepted.
func SNINone() framework.Case {
	return variantDial("sni-none", "N0", "a client that sends no SNI (iroh after 1.0.3) is accepted", framework.FeatureSNIControl,
		func(ctx context.Context, cl framework.SNIClient, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
			return cl.DialWithSNI(ctx, req, framework.SNINone, log)
		})
}

// SNIIrohInvalid: a client that sends <base32hex(id)>.iroh.invalid (iroh up to 1.0.3) is accepted.
func SNIIrohInvalid() framework.Case {
	return variantDial("sni-iroh-invalid", "N1", "a client that sends <base32hex(id)>.iroh.invalid as SNI (iroh up to 1.0.3) is accepted", framework.FeatureSNIControl,
		func(ctx context.Context, cl framework.SNIClient, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
			return cl.DialWithSNI(ctx, req, framework.SNIIrohInvalid, log)
		})
}

// PostQuantumHello: a ClientHello that spans two Initial packets (X25519MLKEM768 key share
// first) completes the handshake and echoes; servers without the group pick X25519.
func PostQuantumHello() framework.Case {
	return variantDial("kx-large-hello", "PQ", "a ClientHello spanning two Initial packets (X25519MLKEM768 key share first) handshakes and echoes", framework.FeatureKeyShareControl,
		func(ctx context.Context, cl framework.KeyShareClient, req framework.DialRequest, log *framework.Tap) (peercontract.Result, error) {
			return cl.DialPostQuantum(ctx, req, log)
		})
}
