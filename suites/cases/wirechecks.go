package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

// Checks on the wire: what the cell's relay saw, decrypted with both sides' key logs
// (framework.Cell.Wire), against what the peers' manifests declare. Each failed check names
// the frame: its number in the cell's wire.txt and wire.pcapng.

// onWire is a failed check on the wire at frame (0: no single frame).
func onWire(frame int, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if frame > 0 {
		return fmt.Errorf("on the wire, frame %d (wire.txt): %s", frame, msg)
	}
	return fmt.Errorf("on the wire (wire.txt): %s", msg)
}

// dialedWire closes the cell's relay and returns the connections whose handshake reached the
// ServerHello; it is an error when there are none, or when the key logs did not decrypt the
// capture (then nothing on it can be checked).
func dialedWire(ctx context.Context, c *framework.Cell) (*dissect.Wire, []*dissect.Connection, error) {
	w, err := c.Wire(ctx)
	if err != nil {
		return nil, nil, err
	}
	var conns []*dissect.Connection
	anyMultipath := false
	for _, conn := range w.Connections {
		if conn.Handshake.ServerHelloFrame != 0 {
			conns = append(conns, conn)
			anyMultipath = anyMultipath || multipath(conn)
		}
	}
	if w.Undecrypted > 0 && !anyMultipath && !tailUnreadable(w) {
		if !strayAfterClose(w, conns) && !lostAfterReuse(w, conns) {
			return w, nil, framework.Testbed(onWire(first(w.UndecryptedFrames), "%d QUIC packets were not decrypted with the key logs (keylog.txt): the wire cannot be checked", w.Undecrypted))
		}
		c.Notef("wire: %d short-header packet(s) not decrypted (frames %v), each after a connection's close: a closing endpoint's retransmitted CONNECTION_CLOSE or a stateless reset, which carry no keys tshark can match", w.Undecrypted, w.UndecryptedFrames)
	}
	if len(conns) == 0 {
		return w, nil, onWire(0, "no QUIC handshake reached the ServerHello in %d frames", w.Frames)
	}
	return w, conns, nil
}

// strayAfterClose reports whether the packets tshark could not decrypt are no more than one per
// connection, each after some connection's CONNECTION_CLOSE, while every handshake was read:
// what a closing endpoint or a stateless reset sends (RFC 9000 §10.2, §10.3) after the keys it
// used are gone from tshark's view.
func strayAfterClose(w *dissect.Wire, conns []*dissect.Connection) bool {
	if len(conns) == 0 || w.Undecrypted > len(conns) || len(w.UndecryptedFrames) < w.Undecrypted {
		return false
	}
	firstClose := 0
	for _, conn := range conns {
		if conn.Handshake.EncryptedExtensionsFrame == 0 {
			return false // a handshake tshark could not read
		}
		for _, cl := range conn.Closes {
			if firstClose == 0 || cl.Frame < firstClose {
				firstClose = cl.Frame
			}
		}
	}
	return firstClose > 0 && slices.Min(w.UndecryptedFrames) > firstClose
}

// lostAfterReuse reports whether the packets tshark could not decrypt are those of connections
// whose client reused an earlier connection's address (tshark loses such a connection's keys
// when a stray packet of the earlier one comes between, see reusedAddress), and at most one
// stray per connection besides.
func lostAfterReuse(w *dissect.Wire, conns []*dissect.Connection) bool {
	explained := 0
	for _, conn := range w.Connections {
		if conn.Undecrypted == 0 {
			continue
		}
		if !slices.Contains(conns, conn) || !reusedAddress(conns, conn) {
			continue
		}
		explained += conn.Undecrypted
	}
	return explained > 0 && w.Undecrypted-explained <= len(conns)
}

// closeUnreadableWhy says why tshark cannot show conn's close; "" when it can.
func closeUnreadableWhy(w *dissect.Wire, conns []*dissect.Connection, conn *dissect.Connection) string {
	switch {
	case tailUnreadable(w) && conn.LastFrame > w.Elided.To:
		return fmt.Sprintf("it ends after the frames the dissection left out (%d-%d), in packets tshark could not decrypt (a key update in between)", w.Elided.From, w.Elided.To)
	case multipath(conn):
		return "it negotiated QUIC multipath, whose 1-RTT frames tshark cannot read"
	case len(conn.Closes) == 0 && (conn.Undecrypted > 0 && reusedAddress(conns, conn) || closeUnreadable(w, conns, conn)):
		return fmt.Sprintf("no CONNECTION_CLOSE readable; its client dials from one address, and packets around the next or previous connection's start (a stateless reset, a CONNECTION_CLOSE sent after the next Initial) lead tshark (Wireshark 4.0) astray (%d of its packets, frames %v overall, not decrypted)", conn.Undecrypted, w.UndecryptedFrames)
	}
	return ""
}

// closeUnreadable reports whether conn's close may be a packet tshark could not decrypt: its
// client opened the next connection from the same address before closing it (the virtual board
// sends the next Initial first), and a packet tshark could not decrypt follows conn's last
// frame within that next connection, which tshark takes it for.
func closeUnreadable(w *dissect.Wire, conns []*dissect.Connection, conn *dissect.Connection) bool {
	if len(conn.ClientAddrs) == 0 {
		return false
	}
	var next *dissect.Connection
	for _, other := range conns {
		if other.FirstFrame > conn.FirstFrame && len(other.ClientAddrs) > 0 && other.ClientAddrs[0].Addr == conn.ClientAddrs[0].Addr &&
			(next == nil || other.FirstFrame < next.FirstFrame) {
			next = other
		}
	}
	if next == nil {
		return false
	}
	return slices.ContainsFunc(w.UndecryptedFrames, func(f int) bool { return f > conn.LastFrame && f <= next.LastFrame })
}

// unreadableAfterReuse reports whether tshark could not read conn's handshake because its client
// reused an earlier connection's address: then nothing of it can be checked on the wire.
func unreadableAfterReuse(conns []*dissect.Connection, conn *dissect.Connection) bool {
	return conn.Handshake.EncryptedExtensionsFrame == 0 && conn.Undecrypted > 0 && reusedAddress(conns, conn)
}

// tailUnreadable reports whether the packets tshark could not decrypt all come after the middle
// the dissection left out of a long capture (dissect's elision): a key update in that middle
// leaves tshark without the keys of the tail.
func tailUnreadable(w *dissect.Wire) bool {
	return w.Elided != nil && w.Undecrypted > 0 && len(w.UndecryptedFrames) > 0 && slices.Min(w.UndecryptedFrames) > w.Elided.To
}

// multipath reports whether both sides offered QUIC multipath (initial_max_path_id), as iroh
// does. The handshake reads as any other, but tshark (Wireshark 4.0, Debian 12's) knows neither
// multipath's frames nor its per-path packet protection: after the handshake the connection's
// 1-RTT frames cannot be read.
func multipath(conn *dissect.Connection) bool {
	offers := func(s dissect.Side) bool {
		tp := conn.TransportParameters[s]
		return tp != nil && slices.ContainsFunc(tp.Others, func(p dissect.Parameter) bool { return p.Name == "initial_max_path_id" })
	}
	return offers(dissect.Client) && offers(dissect.Server)
}

func first(frames []int) int {
	if len(frames) == 0 {
		return 0
	}
	return frames[0]
}

// checkEchoWire checks every handshaken connection of an echo cell: the handshake as both
// manifests declare it, each side's transport parameters, a close with code 0 from the client,
// and the anti-amplification limit. clientIDs are the ids the client reported (any of them may
// be on the wire; none known: not checked).
func checkEchoWire(ctx context.Context, c *framework.Cell, alpn string, clientIDs ...string) error {
	w, conns, err := dialedWire(ctx, c)
	if err != nil {
		return err
	}
	var errs []error
	for _, conn := range conns {
		if unreadableAfterReuse(conns, conn) {
			c.Notef("wire: connection %d (frames %d-%d): %d of its packets not decrypted, its handshake among them; its client reused the address of an earlier connection, whose stray packets (a stateless reset, a resent CONNECTION_CLOSE) lead tshark (Wireshark 4.0) astray: it is not checked on the wire", conn.Number, conn.FirstFrame, conn.LastFrame, conn.Undecrypted)
			continue
		}
		errs = append(errs,
			checkHandshakeWire(c, conn, alpn, clientIDs),
			checkTransportParameters(c, conn),
			checkAmplification(conn))
		if why := closeUnreadableWhy(w, conns, conn); why != "" {
			c.Notef("wire: connection %d (frames %d-%d): %s: its close is not checked on the wire", conn.Number, conn.FirstFrame, conn.LastFrame, why)
			continue
		}
		errs = append(errs, checkClosedByClient(conn))
	}
	return errors.Join(errs...)
}

// reusedAddress reports whether an earlier connection came from conn's first client address:
// a client that keeps its socket for sequential connections (the virtual board, iroh's
// endpoint) does.
func reusedAddress(conns []*dissect.Connection, conn *dissect.Connection) bool {
	if len(conn.ClientAddrs) == 0 {
		return false
	}
	for _, other := range conns {
		if other.FirstFrame < conn.FirstFrame && slices.ContainsFunc(other.ClientAddrs, func(a dissect.AddrSeen) bool { return a.Addr == conn.ClientAddrs[0].Addr }) {
			return true
		}
	}
	return false
}

// checkHandshakeWire: the negotiated ALPN, cipher suite, group, signature schemes and
// certificate types are ones both peers declare, and the raw keys are the endpoints' ids.
func checkHandshakeWire(c *framework.Cell, conn *dissect.Connection, alpn string, clientIDs []string) error {
	h := conn.Handshake
	cm, sm := c.ClientManifest(), c.ServerManifest()
	var errs []error
	bad := func(frame int, format string, args ...any) { errs = append(errs, onWire(frame, format, args...)) }
	ee := h.EncryptedExtensionsFrame
	if ee == 0 {
		ee = h.ServerHelloFrame
	}
	if h.ALPN != alpn {
		bad(ee, "the server selected ALPN %q in its EncryptedExtensions; the client dialed %q", h.ALPN, alpn)
	}
	for _, d := range []struct {
		what, got   string
		frame       int
		client      []string
		server      []string
		bothDeclare bool
	}{
		{"cipher suite", h.CipherSuite, h.ServerHelloFrame, cm.Crypto.CipherSuites, sm.Crypto.CipherSuites, true},
		{"key exchange group", h.Group, h.ServerHelloFrame, cm.Crypto.Groups, sm.Crypto.Groups, true},
		{"server signature scheme", h.ServerSignature, h.ServerCertificateFrame, nil, sm.Crypto.Signatures, false},
		{"client signature scheme", h.ClientSignature, h.ClientCertificateFrame, cm.Crypto.Signatures, nil, false},
	} {
		for _, side := range []struct {
			m        framework.Manifest
			declared []string
		}{{cm, d.client}, {sm, d.server}} {
			if side.declared == nil && !d.bothDeclare {
				continue
			}
			if !declares(side.declared, d.got) {
				bad(d.frame, "the %s is %q, which %s does not declare (%s)", d.what, d.got, side.m.Name, strings.Join(side.declared, ", "))
			}
		}
	}
	for _, ct := range []struct {
		what string
		got  int
	}{{"server", h.ServerCertType}, {"client", h.ClientCertType}} {
		got := ct.got
		if got < 0 {
			got = 0 // no extension: X.509
		}
		for _, m := range []framework.Manifest{cm, sm} {
			if !slices.Contains(m.Crypto.CertificateTypeNumbers(), got) {
				bad(ee, "the %s certificate type is %s, which %s does not declare", ct.what, certType(got), m.Name)
			}
		}
	}
	if h.ServerKey != c.Server.ID() {
		bad(h.ServerCertificateFrame, "the server's certificate holds the raw key %q; the server's id is %s", h.ServerKey, c.Server.ID())
	}
	if len(clientIDs) > 0 && !slices.Contains(clientIDs, h.ClientKey) {
		bad(h.ClientCertificateFrame, "the client's certificate holds the raw key %q; the client reported %s", h.ClientKey, strings.Join(clientIDs, ", "))
	}
	if !h.ServerFinished || !h.ClientFinished {
		bad(conn.LastFrame, "the handshake did not complete (server Finished %v, client Finished %v)", h.ServerFinished, h.ClientFinished)
	}
	return errors.Join(errs...)
}

func certType(n int) string {
	switch n {
	case 0:
		return "X.509 (0)"
	case 2:
		return "raw public key (2)"
	}
	return fmt.Sprintf("%d", n)
}

// declares reports whether a manifest's list names the wire's name: Go's crypto/tls names on
// the wire (TLS_AES_128_GCM_SHA256, X25519, CurveP256, Ed25519) against the manifests' (the
// same, or the IANA names in lower case: x25519, secp256r1, ed25519).
func declares(declared []string, onWire string) bool {
	want := canonicalName(onWire)
	return onWire != "" && slices.ContainsFunc(declared, func(d string) bool { return canonicalName(d) == want })
}

var nameAliases = map[string]string{"curvep256": "secp256r1", "curvep384": "secp384r1", "curvep521": "secp521r1"}

func canonicalName(s string) string {
	s = strings.ToLower(s)
	if a, ok := nameAliases[s]; ok {
		return a
	}
	return s
}

// checkTransportParameters: each side sent the transport parameters its manifest declares.
func checkTransportParameters(c *framework.Cell, conn *dissect.Connection) error {
	var errs []error
	for _, side := range []struct {
		side  dissect.Side
		m     framework.Manifest
		frame int
	}{{dissect.Client, c.ClientManifest(), conn.Handshake.ClientHelloFrame}, {dissect.Server, c.ServerManifest(), conn.Handshake.EncryptedExtensionsFrame}} {
		if len(side.m.TransportParameters) == 0 {
			continue
		}
		tp := conn.TransportParameters[side.side]
		if tp == nil {
			errs = append(errs, onWire(side.frame, "no transport parameters from the %s (%s)", side.side, side.m.Name))
			continue
		}
		for _, name := range framework.TransportParameterNames() {
			want, declared := side.m.TransportParameters[name]
			if !declared {
				continue
			}
			got, sent, err := framework.TransportParameter(tp, name)
			if err != nil {
				return framework.Testbed(err)
			}
			if got != want {
				how := ""
				if !sent {
					how = " (left out: the default)"
				}
				errs = append(errs, onWire(tp.Frame, "the %s (%s) sent %s %d%s; its manifest declares %d", side.side, side.m.Name, name, got, how, want))
			}
		}
	}
	return errors.Join(errs...)
}

// checkClosedByClient: the client closed the connection (the contract's dial closes with code
// 0 after its echoes), and every CONNECTION_CLOSE on the wire carries code 0.
func checkClosedByClient(conn *dissect.Connection) error {
	if len(conn.Closes) == 0 {
		return onWire(conn.LastFrame, "no CONNECTION_CLOSE: the connection was never closed")
	}
	var errs []error
	if cl := conn.Closes[0]; cl.By != dissect.Client {
		errs = append(errs, onWire(cl.Frame, "the server closed the connection first (%s); the client closes it after its echoes", describeClose(cl)))
	}
	for _, cl := range conn.Closes {
		if cl.Code != 0 {
			errs = append(errs, onWire(cl.Frame, "the %s closed with %s; want code 0", cl.By, describeClose(cl)))
		}
	}
	return errors.Join(errs...)
}

func describeClose(cl dissect.Close) string {
	kind, code := "application close", fmt.Sprintf("code %#x", cl.Code)
	if cl.FrameType == 0x1c {
		kind, code = "transport close", peercontract.Code(cl.Code).String()
	}
	s := fmt.Sprintf("%s %s in a %s packet", kind, code, cl.Packet)
	if cl.Reason != "" {
		s += fmt.Sprintf(", reason %q", cl.Reason)
	}
	return s
}

// checkAmplification: before the client's address was validated, the server sent at most
// three times what it received (RFC 9000 §8.1).
func checkAmplification(conn *dissect.Connection) error {
	av := conn.AddressValidation
	if av.ExceededFrame == 0 {
		return nil
	}
	return onWire(av.ExceededFrame, "the server sent more than three times the %d bytes it had received before the client's address was validated (RFC 9000 §8.1); %d bytes by then (validated at frame %d)",
		av.ClientBytes, av.ServerBytes, av.ValidatedFrame)
}

// checkRefusalWire: the first CONNECTION_CLOSE on the wire comes from the side that must
// refuse, with one of the codes, and the server kept to the anti-amplification limit.
func checkRefusalWire(ctx context.Context, c *framework.Cell, by dissect.Side, want []peercontract.Code) error {
	w, err := c.Wire(ctx)
	if err != nil {
		return err
	}
	var firstClose *dissect.Close
	var errs []error
	for _, conn := range w.Connections {
		for i := range conn.Closes {
			if cl := &conn.Closes[i]; firstClose == nil || cl.Frame < firstClose.Frame {
				firstClose = cl
			}
		}
		if conn.Handshake.ClientHelloFrame != 0 { // seen from its start (not tshark's bucket of unmatched packets)
			errs = append(errs, checkAmplification(conn))
		}
	}
	switch {
	case firstClose == nil:
		errs = append(errs, onWire(0, "no CONNECTION_CLOSE in %d frames; the %s must refuse with %s", w.Frames, by, codes(want)))
	case firstClose.By != by:
		errs = append(errs, onWire(firstClose.Frame, "the %s closed first (%s); the %s must refuse with %s", firstClose.By, describeClose(*firstClose), by, codes(want)))
	case firstClose.FrameType != 0x1c || !slices.Contains(want, peercontract.Code(firstClose.Code)):
		errs = append(errs, onWire(firstClose.Frame, "the %s refused with %s; want %s", by, describeClose(*firstClose), codes(want)))
	}
	return errors.Join(errs...)
}
