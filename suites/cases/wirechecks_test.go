package cases

import (
	"testing"

	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/suites/framework"
	"github.com/irohconf/irohconf/wire/dissect"
)

// fakeWire is what a relay would have seen of the fake client's dials, given their results: one connection per dial,
// five frames each, with the handshake the fakes' manifests declare; an echo closed by the
// client with code 0, a refusal closed by the client with its error code.
func fakeWire(serverID string, results []peercontract.Result) *dissect.Wire {
	w := &dissect.Wire{Capture: "wire.pcapng"}
	for i, res := range results {
		f := 5 * i
		c := &dissect.Connection{Number: i + 1, FirstFrame: f + 1, LastFrame: f + 5,
			TransportParameters: map[dissect.Side]*dissect.TransportParameters{
				dissect.Client: {Frame: f + 1}, dissect.Server: {Frame: f + 2},
			},
			AddressValidation: dissect.AddressValidation{ValidatedFrame: f + 3, ServerBytes: 1200, ClientBytes: 1200},
		}
		c.Handshake = dissect.Handshake{
			ClientHelloFrame: f + 1, ServerHelloFrame: f + 2, EncryptedExtensionsFrame: f + 2, ServerCertificateFrame: f + 2,
			CipherSuite: "TLS_AES_128_GCM_SHA256", Group: "X25519", ClientCertType: 2, ServerCertType: 2,
			ServerKey: serverID, ServerSignature: "Ed25519", ServerFinished: true,
		}
		if res.OK {
			c.Handshake.ALPN = res.ALPN
			c.Handshake.ClientKey, c.Handshake.ClientSignature, c.Handshake.ClientCertificateFrame = res.EndpointID, "Ed25519", f+3
			c.Handshake.ClientFinished = true
			c.Closes = []dissect.Close{{Frame: f + 5, By: dissect.Client, FrameType: 0x1d, Code: 0, Packet: "1-RTT"}}
		} else if res.ErrorCode != nil {
			c.Closes = []dissect.Close{{Frame: f + 3, By: dissect.Client, FrameType: 0x1c, Code: *res.ErrorCode, Packet: "Handshake"}}
		}
		w.Connections = append(w.Connections, c)
		w.Frames = f + 5
	}
	return w
}

// Each generic check fails on a wire that departs from the manifests, and names the frame.
func TestEchoWireChecks(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	for _, tc := range []struct {
		name   string
		change func(c *dissect.Connection, server *framework.Manifest)
		says   string
	}{
		{"as declared", func(*dissect.Connection, *framework.Manifest) {}, ""},
		{"another ALPN", func(c *dissect.Connection, _ *framework.Manifest) { c.Handshake.ALPN = "iroh-example/echo/0" },
			`frame 2 (wire.txt): the server selected ALPN "iroh-example/echo/0" in its EncryptedExtensions`},
		{"an undeclared suite", func(c *dissect.Connection, _ *framework.Manifest) { c.Handshake.CipherSuite = "TLS_AES_256_GCM_SHA384" },
			`frame 2 (wire.txt): the cipher suite is "TLS_AES_256_GCM_SHA384", which fake-client does not declare`},
		{"an undeclared group", func(c *dissect.Connection, _ *framework.Manifest) { c.Handshake.Group = "CurveP256" },
			`frame 2 (wire.txt): the key exchange group is "CurveP256", which fake-client does not declare`},
		{"a secp256r1 server", func(c *dissect.Connection, m *framework.Manifest) {
			c.Handshake.Group = "CurveP256"
			m.Crypto.Groups = []string{"secp256r1"}
		}, "which fake-client does not declare"},
		{"X.509 from the server", func(c *dissect.Connection, _ *framework.Manifest) { c.Handshake.ServerCertType = -1 },
			"frame 2 (wire.txt): the server certificate type is X.509 (0), which fake-client does not declare"},
		{"another server key", func(c *dissect.Connection, _ *framework.Manifest) { c.Handshake.ServerKey = clientID },
			"frame 2 (wire.txt): the server's certificate holds the raw key"},
		{"a transport parameter off the manifest", func(c *dissect.Connection, m *framework.Manifest) {
			m.TransportParameters = map[string]uint64{"initial_max_streams_bidi": 1, "initial_max_streams_uni": 0, "max_datagram_frame_size": 0}
			c.TransportParameters[dissect.Server].InitialMaxStreamsBidi = u(1)
			c.TransportParameters[dissect.Server].InitialMaxStreamsUni = u(100)
		}, "frame 2 (wire.txt): the server (fake-server) sent initial_max_streams_uni 100; its manifest declares 0"},
		{"a parameter left out", func(c *dissect.Connection, m *framework.Manifest) {
			m.TransportParameters = map[string]uint64{"initial_max_streams_bidi": 1}
		}, "sent initial_max_streams_bidi 0 (left out: the default); its manifest declares 1"},
		{"datagrams", func(c *dissect.Connection, m *framework.Manifest) {
			m.TransportParameters = map[string]uint64{"max_datagram_frame_size": 0}
			c.TransportParameters[dissect.Server].MaxDatagramFrameSize = u(65535)
		}, "sent max_datagram_frame_size 65535; its manifest declares 0"},
		{"closed with an error", func(c *dissect.Connection, _ *framework.Manifest) { c.Closes[0].Code = 7 },
			"frame 5 (wire.txt): the client closed with application close code 0x7"},
		{"closed by the server", func(c *dissect.Connection, _ *framework.Manifest) {
			c.Closes = []dissect.Close{{Frame: 4, By: dissect.Server, FrameType: 0x1c, Code: 0xa, Packet: "1-RTT"}}
		}, "frame 4 (wire.txt): the server closed the connection first (transport close PROTOCOL_VIOLATION (0xa)"},
		{"never closed", func(c *dissect.Connection, _ *framework.Manifest) { c.Closes = nil },
			"frame 5 (wire.txt): no CONNECTION_CLOSE"},
		{"amplification", func(c *dissect.Connection, _ *framework.Manifest) {
			c.AddressValidation = dissect.AddressValidation{ValidatedFrame: 9, ServerBytes: 3700, ClientBytes: 1200, ExceededFrame: 4}
		}, "frame 4 (wire.txt): the server sent more than three times the 1200 bytes"},
		{"multipath: the close is not read", func(c *dissect.Connection, _ *framework.Manifest) {
			mp := []dissect.Parameter{{ID: 0x3e, Name: "initial_max_path_id", Value: "07"}}
			c.TransportParameters[dissect.Client].Others, c.TransportParameters[dissect.Server].Others = mp, mp
			c.Closes = nil
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			s.report = func(remote string) peercontract.Connection {
				return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: 13}
			}
			cl := newFakeClient()
			sm := manifest("fake-server", framework.RoleServer)
			c := fakeCell(t, cl, s, &sm)
			c.UseWire(func() (*dissect.Wire, error) {
				w := fakeWire(s.ID(), []peercontract.Result{{OK: true, EndpointID: clientID, ALPN: EchoALPN}})
				tc.change(w.Connections[0], &sm)
				c.ServerPeer = &fakeServerPeer{manifest: sm}
				return w, nil
			})
			err := Handshake().Run(t.Context(), c)
			wantOutcome(t, err, tc.says)
		})
	}
}

// A refusal on the wire must come from the side that refuses, with the named code.
func TestRefusalWireCheck(t *testing.T) {
	code := uint64(peercontract.BadCertificate)
	for _, tc := range []struct {
		name   string
		closes []dissect.Close
		says   string
	}{
		{"the client refuses", []dissect.Close{{Frame: 3, By: dissect.Client, FrameType: 0x1c, Code: code, Packet: "Handshake"}}, ""},
		{"the server closes first", []dissect.Close{
			{Frame: 2, By: dissect.Server, FrameType: 0x1c, Code: code, Packet: "Initial"},
			{Frame: 3, By: dissect.Client, FrameType: 0x1c, Code: code, Packet: "Handshake"}},
			"frame 2 (wire.txt): the server closed first (transport close bad_certificate (0x12a) in a Initial packet); the client must refuse"},
		{"another code", []dissect.Close{{Frame: 3, By: dissect.Client, FrameType: 0x1c, Code: 0x178, Packet: "Handshake"}},
			"frame 3 (wire.txt): the client refused with transport close no_application_protocol (0x178)"},
		{"an application close", []dissect.Close{{Frame: 3, By: dissect.Client, FrameType: 0x1d, Code: code, Packet: "1-RTT"}},
			"the client refused with application close code 0x12a"},
		{"no close", nil, "no CONNECTION_CLOSE in 5 frames; the client must refuse with bad_certificate (0x12a)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			cl := newFakeClient()
			cl.dial = func(framework.DialRequest) peercontract.Result {
				return peercontract.Result{Error: "refused", ErrorCode: &code}
			}
			c := fakeCell(t, cl, s, nil)
			c.UseWire(func() (*dissect.Wire, error) {
				w := fakeWire(s.ID(), []peercontract.Result{{Error: "refused", ErrorCode: &code}})
				w.Connections[0].Closes = tc.closes
				return w, nil
			})
			err := RefuseWrongID().Run(t.Context(), c)
			wantOutcome(t, err, tc.says)
		})
	}
}

// A long capture whose tail tshark cannot decrypt after the elided middle (a key update there)
// is checked up to the elision; undecrypted packets before it remain a test bed error.
func TestElidedTail(t *testing.T) {
	for _, tc := range []struct {
		name       string
		undecrypts []int
		says       string
	}{
		{"after the elision", []int{9000}, ""},
		{"before the elision", []int{3}, "were not decrypted with the key logs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			s.report = func(remote string) peercontract.Connection {
				return peercontract.Connection{RemoteID: remote, ALPN: EchoALPN, Bytes: 13}
			}
			c := fakeCell(t, newFakeClient(), s, nil)
			c.UseWire(func() (*dissect.Wire, error) {
				w := fakeWire(s.ID(), []peercontract.Result{{OK: true, EndpointID: clientID, ALPN: EchoALPN}})
				conn := w.Connections[0]
				conn.LastFrame, conn.Closes = 9500, nil // its close is in the unreadable tail
				w.Elided = &dissect.Elided{From: 2000, To: 8000, Count: 6001}
				w.Undecrypted, w.UndecryptedFrames = len(tc.undecrypts), tc.undecrypts
				return w, nil
			})
			err := Handshake().Run(t.Context(), c)
			wantOutcome(t, err, tc.says)
		})
	}
}

// The sequential connections of one client address: a connection with no close on the wire
// passes only when tshark could not read a packet within the next connection (where the virtual
// board sends its close); with every packet read, a missing close fails.
func TestSequentialCloseUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		undecrypts []int
		says       string
	}{
		{"close unread within the next connection", []int{11}, ""},
		{"every packet read", nil, "frame 10 (wire.txt): no CONNECTION_CLOSE: the connection was never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t)
			res := peercontract.Result{OK: true, EndpointID: clientID, ALPN: EchoALPN}
			w := fakeWire(s.ID(), []peercontract.Result{res, res, res})
			for _, conn := range w.Connections {
				conn.ClientAddrs = []dissect.AddrSeen{{Addr: "127.0.0.1:5000", Frame: conn.FirstFrame}}
			}
			w.Connections[1].Closes = nil // frames 6-10
			w.Undecrypted, w.UndecryptedFrames = len(tc.undecrypts), tc.undecrypts
			c := fakeCell(t, newFakeClient(), s, nil)
			c.UseWire(func() (*dissect.Wire, error) { return w, nil })
			wantOutcome(t, checkEchoWire(t.Context(), c, EchoALPN, clientID), tc.says)
		})
	}
}
