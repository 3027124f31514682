// Package cases is the case catalogue: each case is written once, against the framework's
// interfaces, and runs for every (client, server) pair whose peers declare what it needs.
package cases

import (
	"github.com/irohconf/irohconf/suites/framework"
)

// EchoALPN is the ALPN every case dials unless it says otherwise: the one the ESP32 firmware
// serves, which every server peer of the matrix declares.
const EchoALPN = "echo/0"

// Interop is the catalogue of the interop suite, in report order.
func Interop() []framework.Case {
	cs := []framework.Case{
		Handshake(),
		RefuseWrongID(), RefuseUnservedALPN(), RefuseUnservedALPNLargeHello(), RefusePlainX509(), RefuseNoClientKey(),
		SNINone(), SNIIrohInvalid(), PostQuantumHello(),
		TicketDials(), TicketDifferential(),
	}
	cs = append(cs, EchoSizes()...)
	cs = append(cs, EchoStreamsInSequence(), EchoStreamsConcurrent(), EchoConnectionsInSequence(), Idle())
	cs = append(cs, NetScenarios()...)
	return cs
}
