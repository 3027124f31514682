// Package relay is an in-path UDP relay between QUIC clients and one server: a client sends to
// the relay's address instead of the server's, and the relay forwards each datagram to the
// server from a socket of its own (one per client address, as a NAT does), and the server's
// replies back to that client.
//
// On the way it applies a fault profile (wire/faults), records what it did to every datagram
// (Records), and writes both directions to a pcapng capture (wire/capture) whose frame numbers
// are the records' numbers. Capture writes happen off the forwarding path, in one goroutine.
//
// A typical use, around one test:
//
//	r, err := relay.Start(relay.Config{Target: server, CapturePath: dir + "/wire.pcapng", Profile: p, Seed: seed})
//	// the client dials r.Addr() with the server's id
//	err = r.Close() // stops forwarding, writes out and closes the capture
//	recs := r.Records()
//
// then wire/dissect turns the capture and the peers' key logs into wire.json and wire.txt.
package relay
