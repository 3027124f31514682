package cases

import (
	"github.com/irohconf/irohconf/suites/framework"
)

// servesEcho: the server serves the echo ALPN.
func servesEcho(_, server framework.Manifest) error {
	if !server.ServesALPN(EchoALPN) {
		return framework.NotDeclared(server.Name, "%s does not serve %s", server.Name, EchoALPN)
	}
	return nil
}

// payloadFits: both peers accept an echo of n bytes.
func payloadFits(n int) func(client, server framework.Manifest) error {
	return func(client, server framework.Manifest) error {
		for _, m := range []framework.Manifest{client, server} {
			if max := m.Limits.MaxEchoPayload; max > 0 && n > max {
				return framework.NotDeclared(m.Name, "%s declares echo payloads up to %d bytes", m.Name, max)
			}
		}
		return servesEcho(client, server)
	}
}
