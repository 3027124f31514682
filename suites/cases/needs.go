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

// streamsFit: both peers take n streams on one connection.
func streamsFit(n int) func(client, server framework.Manifest) error {
	return func(client, server framework.Manifest) error {
		for _, m := range []framework.Manifest{client, server} {
			if max := m.Limits.StreamsPerConnection; max > 0 && n > max {
				return framework.NotDeclared(m.Name, "%s declares %d stream(s) per connection; the case opens %d", m.Name, max, n)
			}
		}
		return nil
	}
}

// all: every check passes (the first error is returned).
func all(checks ...func(client, server framework.Manifest) error) func(client, server framework.Manifest) error {
	return func(client, server framework.Manifest) error {
		for _, c := range checks {
			if err := c(client, server); err != nil {
				return err
			}
		}
		return nil
	}
}
