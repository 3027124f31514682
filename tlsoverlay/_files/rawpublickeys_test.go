// Tests of the RFC 7250 raw public key patch, added to crypto/tls by the
// irohconf build overlay (tlsoverlay). They run with Go's own tests:
// go test crypto/tls under the overlay.

package tls

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rpkKey is a deterministic Ed25519 key and its raw public key Certificate.
type rpkKey struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	spki []byte
	cert Certificate
}

func newRPKKey(t testing.TB, seedByte byte) rpkKey {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seedByte}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return rpkKey{priv: priv, pub: pub, spki: spki, cert: Certificate{Certificate: [][]byte{spki}, PrivateKey: priv}}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clientHelloWithExtensions is a minimal ClientHello whose extensions block
// is exactly exts.
func clientHelloWithExtensions(t testing.TB, exts []byte) []byte {
	t.Helper()
	base, err := (&clientHelloMsg{
		vers:               VersionTLS12,
		random:             make([]byte, 32),
		cipherSuites:       []uint16{TLS_AES_128_GCM_SHA256},
		compressionMethods: []uint8{compressionNone},
	}).marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := append(slices.Clone(base[4:]), byte(len(exts)>>8), byte(len(exts)))
	body = append(body, exts...)
	return append([]byte{typeClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func encryptedExtensionsWith(exts []byte) []byte {
	body := append([]byte{byte(len(exts) >> 8), byte(len(exts))}, exts...)
	return append([]byte{typeEncryptedExtensions, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func TestRawPublicKeysClientHelloGolden(t *testing.T) {
	m := &clientHelloMsg{
		vers:                   VersionTLS12,
		random:                 make([]byte, 32),
		cipherSuites:           []uint16{TLS_AES_128_GCM_SHA256},
		compressionMethods:     []uint8{compressionNone},
		clientCertificateTypes: []uint8{certificateTypeRawPublicKey},
		serverCertificateTypes: []uint8{certificateTypeRawPublicKey},
	}
	got, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The extensions block: length 12, then ext 19 = [2] and ext 20 = [2]
	// exactly as rustls (and so iroh) sends them.
	want := mustHex(t, "000c"+"001300020102"+"001400020102")
	if !bytes.HasSuffix(got, want) {
		t.Fatalf("ClientHello = %x, want it to end with %x", got, want)
	}
	if !bytes.Equal(got, clientHelloWithExtensions(t, want[2:])) {
		t.Fatalf("ClientHello = %x, want %x", got, clientHelloWithExtensions(t, want[2:]))
	}
}

func TestRawPublicKeysEncryptedExtensionsGolden(t *testing.T) {
	m := &encryptedExtensionsMsg{
		clientCertificateType: certificateTypeRawPublicKey, hasClientCertificateType: true,
		serverCertificateType: certificateTypeRawPublicKey, hasServerCertificateType: true,
	}
	got, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "08 00000c 000a"+"0013000102"+"0014000102")
	if !bytes.Equal(got, want) {
		t.Fatalf("EncryptedExtensions = %x, want %x", got, want)
	}
	var back encryptedExtensionsMsg
	if !back.unmarshal(want) || back.clientCertificateType != 2 || !back.hasClientCertificateType ||
		back.serverCertificateType != 2 || !back.hasServerCertificateType {
		t.Fatalf("unmarshal(%x) = %+v, want %+v", want, back, *m)
	}
}

func TestRawPublicKeysClientHelloRoundTrip(t *testing.T) {
	for _, types := range [][2][]uint8{
		{{2}, {2}},
		{{2}, nil},
		{nil, {2}},
		{{0, 2}, {2, 0}},
		{{2, 0, 1}, {255}},
	} {
		m := &clientHelloMsg{
			vers:                   VersionTLS12,
			random:                 make([]byte, 32),
			cipherSuites:           []uint16{TLS_AES_128_GCM_SHA256},
			compressionMethods:     []uint8{compressionNone},
			supportedVersions:      []uint16{VersionTLS13},
			clientCertificateTypes: types[0],
			serverCertificateTypes: types[1],
		}
		b, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back clientHelloMsg
		if !back.unmarshal(b) {
			t.Fatalf("%v: unmarshal(%x) failed", types, b)
		}
		if !bytes.Equal(back.clientCertificateTypes, types[0]) || !bytes.Equal(back.serverCertificateTypes, types[1]) {
			t.Fatalf("%v: round trip gave client %v server %v", types, back.clientCertificateTypes, back.serverCertificateTypes)
		}
		if c := back.clone(); !bytes.Equal(c.clientCertificateTypes, types[0]) || !bytes.Equal(c.serverCertificateTypes, types[1]) {
			t.Fatalf("%v: clone lost the certificate types", types)
		}
		for _, ext := range []uint16{extensionClientCertificateType, extensionServerCertificateType} {
			offered := ext == extensionClientCertificateType && types[0] != nil || ext == extensionServerCertificateType && types[1] != nil
			if slices.Contains(back.extensions, ext) != offered {
				t.Fatalf("%v: extension %d listed = %v", types, ext, !offered)
			}
		}
	}
}

func TestRawPublicKeysEncryptedExtensionsRoundTrip(t *testing.T) {
	for _, m := range []encryptedExtensionsMsg{
		{},
		{clientCertificateType: 2, hasClientCertificateType: true},
		{serverCertificateType: 2, hasServerCertificateType: true},
		{clientCertificateType: 0, hasClientCertificateType: true, serverCertificateType: 0, hasServerCertificateType: true},
		{clientCertificateType: 2, hasClientCertificateType: true, serverCertificateType: 2, hasServerCertificateType: true, alpnProtocol: "x", serverNameAck: true},
	} {
		b, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var back encryptedExtensionsMsg
		if !back.unmarshal(b) {
			t.Fatalf("%+v: unmarshal(%x) failed", m, b)
		}
		if back.clientCertificateType != m.clientCertificateType || back.hasClientCertificateType != m.hasClientCertificateType ||
			back.serverCertificateType != m.serverCertificateType || back.hasServerCertificateType != m.hasServerCertificateType ||
			back.alpnProtocol != m.alpnProtocol || back.serverNameAck != m.serverNameAck {
			t.Fatalf("round trip of %+v gave %+v", m, back)
		}
	}
}

func TestRawPublicKeysMalformedExtensions(t *testing.T) {
	for _, tc := range []struct{ name, exts string }{
		{"empty list", "0013 0001 00"},
		{"no list", "0014 0000"},
		{"list longer than extension", "0013 0002 0202"},
		{"trailing byte", "0014 0003 01 02 00"},
		{"duplicate", "0013 0002 0102 0013 0002 0102"},
	} {
		if new(clientHelloMsg).unmarshal(clientHelloWithExtensions(t, mustHex(t, tc.exts))) {
			t.Errorf("ClientHello with %s (%s) was accepted", tc.name, tc.exts)
		}
	}
	for _, tc := range []struct{ name, exts string }{
		{"empty", "0013 0000"},
		{"two bytes", "0014 0002 0202"},
		{"a list", "0013 0002 0102"},
		{"duplicate", "0014 0001 02 0014 0001 02"},
	} {
		if new(encryptedExtensionsMsg).unmarshal(encryptedExtensionsWith(mustHex(t, tc.exts))) {
			t.Errorf("EncryptedExtensions with %s (%s) was accepted", tc.name, tc.exts)
		}
	}
}

func TestRawPublicKeysServerNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name           string
		serverRPK      bool
		client, server []uint8 // the ClientHello lists
		use            bool
		alert          alert // 0: no error
	}{
		{"both offered", true, []uint8{2}, []uint8{2}, true, 0},
		{"both offered among others", true, []uint8{0, 2}, []uint8{2, 0}, true, 0},
		{"no extensions", true, nil, nil, false, alertHandshakeFailure},
		{"server type X.509 only", true, []uint8{2}, []uint8{0}, false, alertHandshakeFailure},
		{"client type missing", true, nil, []uint8{2}, false, alertHandshakeFailure},
		{"server type missing", true, []uint8{2}, nil, false, alertHandshakeFailure},
		{"plain server ignores the offer", false, []uint8{2}, []uint8{2}, false, 0},
		{"plain server, plain client", false, nil, nil, false, 0},
	} {
		use, a, err := negotiateServerCertificateTypes(tc.serverRPK, &clientHelloMsg{clientCertificateTypes: tc.client, serverCertificateTypes: tc.server})
		if use != tc.use || a != tc.alert || (err != nil) != (tc.alert != 0) {
			t.Errorf("%s: got use=%v alert=%v err=%v, want use=%v alert=%v", tc.name, use, a, err, tc.use, tc.alert)
		}
	}
}

func TestRawPublicKeysClientNegotiation(t *testing.T) {
	rpk := func(c, s int) *encryptedExtensionsMsg {
		m := &encryptedExtensionsMsg{}
		if c >= 0 {
			m.clientCertificateType, m.hasClientCertificateType = uint8(c), true
		}
		if s >= 0 {
			m.serverCertificateType, m.hasServerCertificateType = uint8(s), true
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		offered bool
		ee      *encryptedExtensionsMsg
		use     bool
		alert   alert
	}{
		{"both echoed", true, rpk(2, 2), true, 0},
		{"nothing echoed", true, rpk(-1, -1), false, alertHandshakeFailure},
		{"client type missing", true, rpk(-1, 2), false, alertHandshakeFailure},
		{"server type missing", true, rpk(2, -1), false, alertHandshakeFailure},
		{"server picked X.509 for itself", true, rpk(2, 0), false, alertIllegalParameter},
		{"server picked X.509 for the client", true, rpk(0, 2), false, alertIllegalParameter},
		{"unsolicited both", false, rpk(2, 2), false, alertUnsupportedExtension},
		{"unsolicited client type", false, rpk(0, -1), false, alertUnsupportedExtension},
		{"unsolicited server type", false, rpk(-1, 0), false, alertUnsupportedExtension},
		{"plain", false, rpk(-1, -1), false, 0},
	} {
		use, a, err := checkEncryptedExtensionsCertificateTypes(tc.offered, tc.ee)
		if use != tc.use || a != tc.alert || (err != nil) != (tc.alert != 0) {
			t.Errorf("%s: got use=%v alert=%v err=%v, want use=%v alert=%v", tc.name, use, a, err, tc.use, tc.alert)
		}
	}
}

func TestRawPublicKeysParse(t *testing.T) {
	k := newRPKKey(t, 1)
	cert, _, err := parseRawPublicKey(k.spki)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cert.Raw, k.spki) || !bytes.Equal(cert.RawSubjectPublicKeyInfo, k.spki) ||
		!k.pub.Equal(cert.PublicKey) || cert.PublicKeyAlgorithm != x509.Ed25519 {
		t.Fatalf("synthetic certificate = %+v", cert)
	}
	if len(k.spki) != 44 || !bytes.HasPrefix(k.spki, mustHex(t, "302a300506032b6570032100")) {
		t.Fatalf("Ed25519 SPKI = %x, want the 44-byte form", k.spki)
	}

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSPKI, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spki  []byte
		alert alert
		msg   string
	}{
		{"ECDSA key", ecSPKI, alertUnsupportedCertificate, ""},
		{"trailing byte", append(slices.Clone(k.spki), 0), alertDecodeError, ""},
		{"truncated", k.spki[:43], alertDecodeError, ""},
		{"bare key", k.pub, alertDecodeError, ""},
		{"empty", nil, alertDecodeError, ""},
		// The identity point (small order) and 32 bytes that decode to no point.
		{"small-order key", spkiOf(t, mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000")), alertBadCertificate, "small-order"},
		{"not a point", spkiOf(t, mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")), alertBadCertificate, "not a valid Ed25519 point"},
	} {
		if _, a, err := parseRawPublicKey(tc.spki); err == nil || a != tc.alert || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: alert %v, err %v; want alert %v, %q", tc.name, a, err, tc.alert, tc.msg)
		}
	}
}

func spkiOf(t testing.TB, key []byte) []byte {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(key))
	if err != nil {
		t.Fatal(err)
	}
	return spki
}

func TestRawPublicKeysConfigChecks(t *testing.T) {
	verify := func([][]byte, [][]*x509.Certificate) error { return nil }
	for _, tc := range []struct {
		name     string
		config   *Config
		isClient bool
		wantErr  string // "" for accepted
	}{
		{"client ok", &Config{RawPublicKeys: true, VerifyPeerCertificate: verify}, true, ""},
		{"client ok with VerifyConnection", &Config{RawPublicKeys: true, VerifyConnection: func(ConnectionState) error { return nil }}, true, ""},
		{"client without verifier", &Config{RawPublicKeys: true}, true, "requires VerifyPeerCertificate or VerifyConnection"},
		{"InsecureSkipVerify does not waive the verifier", &Config{RawPublicKeys: true, InsecureSkipVerify: true}, true, "requires VerifyPeerCertificate or VerifyConnection"},
		{"client TLS 1.2 only", &Config{RawPublicKeys: true, MaxVersion: VersionTLS12, VerifyPeerCertificate: verify}, true, "requires TLS 1.3"},
		{"client with ECH", &Config{RawPublicKeys: true, VerifyPeerCertificate: verify, EncryptedClientHelloConfigList: []byte{0}}, true, "EncryptedClientHelloConfigList"},
		{"server ok", &Config{RawPublicKeys: true}, false, ""},
		{"server ok with MinVersion 1.2", &Config{RawPublicKeys: true, MinVersion: VersionTLS12}, false, ""},
		{"server TLS 1.2 only", &Config{RawPublicKeys: true, MaxVersion: VersionTLS12}, false, "requires TLS 1.3"},
		{"server with ECH keys", &Config{RawPublicKeys: true, EncryptedClientHelloKeys: []EncryptedClientHelloKey{{}}}, false, "Encrypted Client Hello"},
		{"plain client", &Config{}, true, ""},
	} {
		err := tc.config.checkRawPublicKeys(tc.isClient)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	if v := (&Config{RawPublicKeys: true, MinVersion: VersionTLS10}).supportedVersions(roleServer); !slices.Equal(v, []uint16{VersionTLS13}) {
		t.Errorf("RawPublicKeys supported versions = %x, want only TLS 1.3", v)
	}
}

func TestRawPublicKeysCloneKeepsField(t *testing.T) {
	if !(&Config{RawPublicKeys: true}).Clone().RawPublicKeys {
		t.Fatal("Clone dropped RawPublicKeys")
	}
}

func TestRawPublicKeysPlainClientOffersNothing(t *testing.T) {
	for _, rpk := range []bool{false, true} {
		config := &Config{ServerName: "example.com", RawPublicKeys: rpk, VerifyConnection: func(ConnectionState) error { return nil }}
		hello, _, _, err := Client(nil, config).makeClientHello()
		if err != nil {
			t.Fatal(err)
		}
		b, err := hello.marshal()
		if err != nil {
			t.Fatal(err)
		}
		var parsed clientHelloMsg
		if !parsed.unmarshal(b) {
			t.Fatal("cannot parse own ClientHello")
		}
		for _, ext := range []uint16{extensionClientCertificateType, extensionServerCertificateType} {
			if slices.Contains(parsed.extensions, ext) != rpk {
				t.Errorf("RawPublicKeys=%v: extension %d in ClientHello = %v", rpk, ext, !rpk)
			}
		}
		if rpk && (!slices.Equal(parsed.supportedVersions, []uint16{VersionTLS13}) || len(parsed.pskModes) != 0) {
			t.Errorf("raw public key ClientHello offers versions %x, psk modes %v; want TLS 1.3 only, no resumption", parsed.supportedVersions, parsed.pskModes)
		}
	}
}

// rpkPeers are matching client and server configs; tests change them.
type rpkPeers struct {
	client, server       *Config
	clientKey, serverKey rpkKey
	serverSawRaw         [][]byte
	serverSawChains      [][]*x509.Certificate
	clientSawRaw         [][]byte
	sessionCache         *recordingSessionCache
}

type recordingSessionCache struct {
	mu   sync.Mutex
	puts int
}

func (c *recordingSessionCache) Get(string) (*ClientSessionState, bool) { return nil, false }
func (c *recordingSessionCache) Put(_ string, cs *ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.puts++
	}
}

func newRPKPeers(t *testing.T) *rpkPeers {
	p := &rpkPeers{clientKey: newRPKKey(t, 1), serverKey: newRPKKey(t, 2), sessionCache: &recordingSessionCache{}}
	p.server = &Config{
		RawPublicKeys: true,
		Certificates:  []Certificate{p.serverKey.cert},
		NextProtos:    []string{"rpk-test"},
		VerifyPeerCertificate: func(raw [][]byte, chains [][]*x509.Certificate) error {
			p.serverSawRaw, p.serverSawChains = raw, chains
			return nil
		},
	}
	p.client = &Config{
		RawPublicKeys:      true,
		Certificates:       []Certificate{p.clientKey.cert},
		NextProtos:         []string{"rpk-test"},
		ClientSessionCache: p.sessionCache,
		VerifyPeerCertificate: func(raw [][]byte, chains [][]*x509.Certificate) error {
			p.clientSawRaw = raw
			if len(raw) != 1 || !bytes.Equal(raw[0], p.serverKey.spki) || chains != nil {
				return errors.New("not the expected server key")
			}
			return nil
		},
	}
	return p
}

// handshake runs both sides over a local TCP connection and then has the
// client read once, so that post-handshake messages (tickets) are processed.
func (p *rpkPeers) handshake(t *testing.T) (client, server ConnectionState, clientErr, serverErr error) {
	t.Helper()
	c, s := localPipe(t)
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)
	cli, srv := Client(c, p.client), Server(s, p.server)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer srv.Close()
		if serverErr = srv.Handshake(); serverErr == nil {
			server = srv.ConnectionState()
			_, serverErr = srv.Write([]byte("x"))
		}
	}()
	if clientErr = cli.Handshake(); clientErr == nil {
		client = cli.ConnectionState()
		if _, err := cli.Read(make([]byte, 1)); err != nil {
			clientErr = err
		}
	}
	cli.Close()
	<-done
	return client, server, clientErr, serverErr
}

func wantRemoteAlert(t *testing.T, side string, err error, a alert) {
	t.Helper()
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "remote error" {
		t.Fatalf("%s: err = %v, want remote alert %v", side, err, a)
	}
	if got, ok := opErr.Err.(alert); !ok || got != a {
		t.Fatalf("%s: remote alert = %v, want %v", side, opErr.Err, a)
	}
}

func TestRawPublicKeysHandshake(t *testing.T) {
	p := newRPKPeers(t)
	p.server.SessionTicketsDisabled = false // must be ignored with raw public keys
	cs, ss, cerr, serr := p.handshake(t)
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	if cs.Version != VersionTLS13 || cs.NegotiatedProtocol != "rpk-test" || cs.DidResume {
		t.Errorf("client state: version %x, ALPN %q, resumed %v", cs.Version, cs.NegotiatedProtocol, cs.DidResume)
	}
	if len(cs.PeerCertificates) != 1 || !p.serverKey.pub.Equal(cs.PeerCertificates[0].PublicKey) || cs.VerifiedChains != nil {
		t.Fatalf("client sees peer certificates %v, chains %v", cs.PeerCertificates, cs.VerifiedChains)
	}
	if len(ss.PeerCertificates) != 1 || !p.clientKey.pub.Equal(ss.PeerCertificates[0].PublicKey) ||
		!bytes.Equal(ss.PeerCertificates[0].RawSubjectPublicKeyInfo, p.clientKey.spki) {
		t.Fatalf("server sees peer certificates %v", ss.PeerCertificates)
	}
	if len(p.serverSawRaw) != 1 || !bytes.Equal(p.serverSawRaw[0], p.clientKey.spki) || p.serverSawChains != nil {
		t.Errorf("server VerifyPeerCertificate got raw %x, chains %v", p.serverSawRaw, p.serverSawChains)
	}
	if ss.PeerCertificates[0].Raw == nil || cs.PeerCertificates[0].Raw == nil {
		t.Error("synthetic certificates lack Raw")
	}
	if p.sessionCache.puts != 0 {
		t.Errorf("client stored %d session tickets with raw public keys", p.sessionCache.puts)
	}
}

func TestRawPublicKeysHandshakeAfterHelloRetryRequest(t *testing.T) {
	p := newRPKPeers(t)
	p.client.CurvePreferences = []CurveID{X25519, CurveP256}
	p.server.CurvePreferences = []CurveID{CurveP256}
	cs, _, cerr, serr := p.handshake(t)
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	if !cs.HelloRetryRequest || cs.CurveID != CurveP256 {
		t.Fatalf("no HelloRetryRequest happened (HRR %v, curve %v)", cs.HelloRetryRequest, cs.CurveID)
	}
}

func TestRawPublicKeysVerifyConnectionOnly(t *testing.T) {
	p := newRPKPeers(t)
	p.client.VerifyPeerCertificate = nil
	var saw ed25519.PublicKey
	p.client.VerifyConnection = func(cs ConnectionState) error {
		saw, _ = cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
		return nil
	}
	if _, _, cerr, serr := p.handshake(t); cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	if !p.serverKey.pub.Equal(saw) {
		t.Fatalf("VerifyConnection saw %x", saw)
	}
}

func TestRawPublicKeysWrongServerKey(t *testing.T) {
	p := newRPKPeers(t)
	p.server.Certificates = []Certificate{newRPKKey(t, 3).cert}
	_, _, cerr, serr := p.handshake(t)
	if cerr == nil || !strings.Contains(cerr.Error(), "not the expected server key") {
		t.Fatalf("client: %v, want the verifier's refusal", cerr)
	}
	wantRemoteAlert(t, "server", serr, alertBadCertificate)
}

func TestRawPublicKeysServerVerifyConnectionRefuses(t *testing.T) {
	p := newRPKPeers(t)
	p.server.VerifyConnection = func(cs ConnectionState) error { return errors.New("client key not allowed") }
	_, _, cerr, serr := p.handshake(t)
	if serr == nil || !strings.Contains(serr.Error(), "client key not allowed") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteAlert(t, "client", cerr, alertBadCertificate)
}

// The overlay's release check (irohconf_toolchain.go, generated next to this
// file) lets this binary run and refuses a binary of any other release.
func TestOverlayToolchainCheck(t *testing.T) {
	if err := checkOverlayToolchain(runtime.Version()); err != nil {
		t.Fatalf("this binary: %v", err)
	}
	if err := checkOverlayToolchain(overlayGoVersion + " X:nodwarf5"); err != nil {
		t.Errorf("the same release with an experiment: %v", err)
	}
	for _, other := range []string{"go1.0.0", "devel go1.99-abcdef", overlayGoVersion + "rc1", ""} {
		if err := checkOverlayToolchain(other); err == nil || !strings.Contains(err.Error(), "make overlay REGENERATE=1") {
			t.Errorf("%q: err = %v, want a refusal", other, err)
		}
	}
}

// badSigner holds the right key but signs CertificateVerify wrongly: a peer
// that presents a key it cannot prove.
type badSigner struct{ ed25519.PrivateKey }

func (s badSigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.PrivateKey.Sign(r, msg, opts)
	if err == nil {
		sig[0] ^= 1
	}
	return sig, err
}

// A peer whose CertificateVerify does not verify is refused with
// decrypt_error, and VerifyConnection never sees its unproven key (an
// application that notes the peer there must not note a refused one).
func TestRawPublicKeysBadCertificateVerify(t *testing.T) {
	for _, badSide := range []string{"client", "server"} {
		t.Run("bad "+badSide, func(t *testing.T) {
			p := newRPKPeers(t)
			var clientCalls, serverCalls int
			p.client.VerifyConnection = func(ConnectionState) error { clientCalls++; return nil }
			p.server.VerifyConnection = func(ConnectionState) error { serverCalls++; return nil }
			bad := &p.client.Certificates[0]
			if badSide == "server" {
				bad = &p.server.Certificates[0]
			}
			bad.PrivateKey = badSigner{bad.PrivateKey.(ed25519.PrivateKey)}
			_, _, cerr, serr := p.handshake(t)
			refuser, refuserErr, refusedErr, calls := "server", serr, cerr, serverCalls
			if badSide == "server" {
				refuser, refuserErr, refusedErr, calls = "client", cerr, serr, clientCalls
			}
			if refuserErr == nil || !strings.Contains(refuserErr.Error(), "invalid signature") {
				t.Fatalf("%s: err = %v, want the invalid signature refusal", refuser, refuserErr)
			}
			wantRemoteAlert(t, badSide, refusedErr, alertDecryptError)
			if calls != 0 {
				t.Errorf("the %s's VerifyConnection ran %d times for a key whose CertificateVerify failed", refuser, calls)
			}
		})
	}
}

// VerifyConnection runs exactly once per side on a good handshake, after
// the key was proven.
func TestRawPublicKeysVerifyConnectionOnce(t *testing.T) {
	p := newRPKPeers(t)
	var clientCalls, serverCalls int
	p.client.VerifyConnection = func(ConnectionState) error { clientCalls++; return nil }
	p.server.VerifyConnection = func(ConnectionState) error { serverCalls++; return nil }
	if _, _, cerr, serr := p.handshake(t); cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	if clientCalls != 1 || serverCalls != 1 {
		t.Errorf("VerifyConnection ran %d times on the client, %d on the server; want once each", clientCalls, serverCalls)
	}
}

func TestRawPublicKeysClientWithoutKey(t *testing.T) {
	p := newRPKPeers(t)
	p.client.Certificates = nil
	p.server.ClientAuth = NoClientCert // raw public key servers require a key anyway
	_, _, cerr, serr := p.handshake(t)
	if serr == nil || !strings.Contains(serr.Error(), "didn't provide a raw public key") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteAlert(t, "client", cerr, alertCertificateRequired)
}

func TestRawPublicKeysClientWithoutVerifier(t *testing.T) {
	p := newRPKPeers(t)
	p.client.VerifyPeerCertificate = nil
	p.client.InsecureSkipVerify = true
	_, _, cerr, _ := p.handshake(t)
	if cerr == nil || !strings.Contains(cerr.Error(), "requires VerifyPeerCertificate or VerifyConnection") {
		t.Fatalf("client: %v, want a refusal before the handshake", cerr)
	}
}

func TestRawPublicKeysClientAgainstPlainServer(t *testing.T) {
	p := newRPKPeers(t)
	p.server = testConfig.Clone() // X.509, no raw public keys
	p.server.NextProtos = []string{"rpk-test"}
	_, _, cerr, serr := p.handshake(t)
	if cerr == nil || !strings.Contains(cerr.Error(), "did not negotiate raw public keys") {
		t.Fatalf("client: %v", cerr)
	}
	wantRemoteAlert(t, "server", serr, alertHandshakeFailure)
}

func TestRawPublicKeysPlainClientAgainstServer(t *testing.T) {
	p := newRPKPeers(t)
	p.client = testConfig.Clone()
	p.client.NextProtos = []string{"rpk-test"}
	_, _, cerr, serr := p.handshake(t)
	if serr == nil || !strings.Contains(serr.Error(), "did not offer a raw public key") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteAlert(t, "client", cerr, alertHandshakeFailure)
}

func TestRawPublicKeysTLS12ClientAgainstServer(t *testing.T) {
	p := newRPKPeers(t)
	p.client = testConfig.Clone()
	p.client.MaxVersion = VersionTLS12
	_, _, cerr, serr := p.handshake(t)
	if serr == nil || !strings.Contains(serr.Error(), "unsupported versions") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteAlert(t, "client", cerr, alertProtocolVersion)
}

func TestRawPublicKeysBadLocalCertificate(t *testing.T) {
	other := newRPKKey(t, 9)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSPKI, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k := newRPKKey(t, 2)
	for _, tc := range []struct {
		name string
		cert Certificate
		want string
	}{
		{"mismatched private key", Certificate{Certificate: [][]byte{k.spki}, PrivateKey: other.priv}, "does not match"},
		{"X.509 certificate", testConfig.Certificates[0], "local certificate"},
		{"ECDSA key", Certificate{Certificate: [][]byte{ecSPKI}, PrivateKey: ecKey}, "only Ed25519"},
		{"two entries", Certificate{Certificate: [][]byte{k.spki, k.spki}, PrivateKey: k.priv}, "exactly one"},
		{"OCSP staple", Certificate{Certificate: [][]byte{k.spki}, PrivateKey: k.priv, OCSPStaple: []byte{1}}, "OCSP"},
	} {
		if err := checkLocalRawPublicKey(&tc.cert); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := checkLocalRawPublicKey(&k.cert); err != nil {
		t.Errorf("valid key refused: %v", err)
	}

	// The same checks end a handshake on either side.
	p := newRPKPeers(t)
	p.server.Certificates = []Certificate{{Certificate: [][]byte{k.spki}, PrivateKey: other.priv}}
	if _, _, cerr, serr := p.handshake(t); serr == nil || !strings.Contains(serr.Error(), "does not match") {
		t.Errorf("server with a mismatched key: server %v, client %v", serr, cerr)
	}
	p = newRPKPeers(t)
	p.client.Certificates = []Certificate{{Certificate: [][]byte{k.spki}, PrivateKey: other.priv}}
	if _, _, cerr, serr := p.handshake(t); cerr == nil || !strings.Contains(cerr.Error(), "does not match") {
		t.Errorf("client with a mismatched key: client %v, server %v", cerr, serr)
	}
}

// TestRawPublicKeysServerRejectsPartialOffer sends hand-made ClientHellos to
// a raw public key server and reads the plaintext alert it answers with.
func TestRawPublicKeysServerRejectsPartialOffer(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server []uint8
	}{
		{"server type missing", []uint8{2}, nil},
		{"client type missing", nil, []uint8{2}},
		{"X.509 only", []uint8{0}, []uint8{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRPKPeers(t)
			hello, _, _, err := Client(nil, p.client).makeClientHello()
			if err != nil {
				t.Fatal(err)
			}
			hello.clientCertificateTypes, hello.serverCertificateTypes = tc.client, tc.server
			b, err := hello.marshal()
			if err != nil {
				t.Fatal(err)
			}
			c, s := localPipe(t)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			srv := Server(s, p.server)
			errc := make(chan error, 1)
			go func() { errc <- srv.Handshake(); srv.Close() }()
			record := append([]byte{byte(recordTypeHandshake), 3, 1, byte(len(b) >> 8), byte(len(b))}, b...)
			if _, err := c.Write(record); err != nil {
				t.Fatal(err)
			}
			reply := make([]byte, 7)
			if _, err := readFull(c, reply); err != nil {
				t.Fatal(err)
			}
			if want := []byte{byte(recordTypeAlert), 3, 3, 0, 2, alertLevelError, byte(alertHandshakeFailure)}; !bytes.Equal(reply, want) {
				t.Fatalf("server answered %x, want the handshake_failure alert %x", reply, want)
			}
			if err := <-errc; err == nil || !strings.Contains(err.Error(), "did not offer a raw public key") {
				t.Fatalf("server: %v", err)
			}
		})
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestRawPublicKeysLocalKeyCheckRemembersOnlyPairs(t *testing.T) {
	k, other := newRPKKey(t, 3), newRPKKey(t, 4)
	if err := checkLocalRawPublicKey(&k.cert); err != nil {
		t.Fatal(err)
	}
	// The pair is remembered now; the same SPKI with another key is still refused.
	mismatched := Certificate{Certificate: [][]byte{k.spki}, PrivateKey: other.priv}
	if err := checkLocalRawPublicKey(&mismatched); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("same SPKI, other private key: err = %v", err)
	}
	if err := checkLocalRawPublicKey(&k.cert); err != nil {
		t.Errorf("remembered pair refused: %v", err)
	}
}

func TestRawPublicKeysPooledServerKeyShare(t *testing.T) {
	ke, err := keyExchangeForCurveID(X25519)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	conn := &Conn{config: &Config{RawPublicKeys: true}}
	seen := map[string]bool{}
	for i := range 3 * serverKeySharePoolSize {
		secret, share, err := conn.serverSharedSecret(ke, client.PublicKey().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if share.group != X25519 || seen[string(share.data)] {
			t.Fatalf("handshake %d: server share %v %x repeats or is not X25519", i, share.group, share.data)
		}
		seen[string(share.data)] = true
		serverPub, err := ecdh.X25519().NewPublicKey(share.data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := client.ECDH(serverPub)
		if err != nil || !bytes.Equal(secret, want) {
			t.Fatalf("handshake %d: shared secret %x, client computes %x (%v)", i, secret, want, err)
		}
		if i == 0 {
			// Let the background goroutine fill the pool, so that later rounds take pooled keys.
			deadline := time.Now().Add(10 * time.Second)
			for len(x25519ServerKeyShares.keys) < serverKeySharePoolSize && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if len(x25519ServerKeyShares.keys) < serverKeySharePoolSize {
				t.Fatalf("pool holds %d keys after 10 s, want %d", len(x25519ServerKeyShares.keys), serverKeySharePoolSize)
			}
		}
	}

	// Only a RawPublicKeys server with the default randomness takes pooled keys.
	pooled, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config *Config
		pooled bool
	}{
		{"RawPublicKeys", &Config{RawPublicKeys: true}, true},
		{"RawPublicKeys with Rand", &Config{RawPublicKeys: true, Rand: zeroSource{}}, false},
		{"X.509", &Config{}, false},
	} {
		p := &keySharePool{keys: make(chan pooledKeyShare, 1), generate: func() (*ecdh.PrivateKey, error) { return nil, errors.New("no keys") }}
		p.keys <- pooledKeyShare{key: pooled, made: time.Now()}
		saved := x25519ServerKeyShares
		x25519ServerKeyShares = p
		_, share, err := (&Conn{config: tc.config}).serverSharedSecret(ke, client.PublicKey().Bytes())
		x25519ServerKeyShares = saved
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Equal(share.data, pooled.PublicKey().Bytes()); got != tc.pooled {
			t.Errorf("%s: took the pooled key = %v, want %v", tc.name, got, tc.pooled)
		}
	}
}

func TestRawPublicKeysPooledKeyShareExpires(t *testing.T) {
	// A pool whose fill makes nothing: the test fills it by hand.
	p := &keySharePool{keys: make(chan pooledKeyShare, 2), generate: func() (*ecdh.PrivateKey, error) { return nil, errors.New("no keys") }}
	old, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.keys <- pooledKeyShare{key: old, made: time.Now().Add(-serverKeyShareMaxAge - time.Second)}
	if k := p.take(); k != nil {
		t.Fatal("an expired key was handed out")
	}
	fresh, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.keys <- pooledKeyShare{key: fresh, made: time.Now()}
	if k := p.take(); k != fresh {
		t.Fatal("a fresh key was not handed out")
	}
	if k := p.take(); k != nil {
		t.Fatal("a key was handed out twice")
	}
}

func TestRawPublicKeysServerResumption(t *testing.T) {
	testingRawPublicKeysClientResumption = true
	defer func() { testingRawPublicKeysClientResumption = false }()
	p := newRPKPeers(t)
	// As iroh/rpk configures it: crypto/tls resumes a session with a client certificate only when
	// ClientAuth asks for one.
	p.server.SessionTicketsDisabled, p.server.ClientAuth = false, RequireAnyClientCert
	p.client.ClientSessionCache = validitySessionCache{NewLRUClientSessionCache(4)}
	// The test client's session cache key (a new port every handshake otherwise), and no X.509
	// chain check of its session (the client side does not resume with raw public keys anyway).
	p.client.ServerName, p.client.InsecureSkipVerify = "rpk.test", true
	var verifyPeer, verifyConn int
	var sawKey ed25519.PublicKey
	p.server.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error { verifyPeer++; return nil }
	p.server.VerifyConnection = func(cs ConnectionState) error {
		verifyConn++
		if len(cs.PeerCertificates) == 1 {
			sawKey, _ = cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
		}
		return nil
	}
	if cs, _, cerr, serr := p.handshake(t); cerr != nil || serr != nil || cs.DidResume {
		t.Fatalf("first handshake: client %v, server %v, resumed %v", cerr, serr, cs.DidResume)
	}
	if _, ok := p.client.ClientSessionCache.Get("rpk.test"); !ok {
		t.Fatal("the client stored no ticket")
	}
	cs, ss, cerr, serr := p.handshake(t)
	if cerr != nil || serr != nil {
		t.Fatalf("second handshake: client %v; server %v", cerr, serr)
	}
	if !cs.DidResume || !ss.DidResume {
		t.Fatalf("second handshake did not resume (client %v, server %v)", cs.DidResume, ss.DidResume)
	}
	if len(ss.PeerCertificates) != 1 || !p.clientKey.pub.Equal(ss.PeerCertificates[0].PublicKey) ||
		!bytes.Equal(ss.PeerCertificates[0].Raw, p.clientKey.spki) || !bytes.Equal(ss.PeerCertificates[0].RawSubjectPublicKeyInfo, p.clientKey.spki) {
		t.Fatalf("resumed server sees peer certificates %v", ss.PeerCertificates)
	}
	if verifyPeer != 1 || verifyConn != 2 || !p.clientKey.pub.Equal(sawKey) {
		t.Errorf("over both handshakes: VerifyPeerCertificate ran %d times (want 1), VerifyConnection %d (want 2), last saw %x", verifyPeer, verifyConn, sawKey)
	}

	// A server that disables tickets does a full handshake again.
	p.server.SessionTicketsDisabled = true
	if cs, _, cerr, serr := p.handshake(t); cerr != nil || serr != nil || cs.DidResume {
		t.Fatalf("with tickets disabled: client %v, server %v, resumed %v", cerr, serr, cs.DidResume)
	}
}

func TestRawPublicKeysSessionState(t *testing.T) {
	k := newRPKKey(t, 5)
	peer, _, err := parseRawPublicKey(k.spki)
	if err != nil {
		t.Fatal(err)
	}
	ss := &SessionState{version: VersionTLS13, cipherSuite: TLS_AES_128_GCM_SHA256, secret: make([]byte, 32), peerCertificates: []*x509.Certificate{peer}}
	b, err := ss.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseSessionState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !parsed.rawPublicKeys || len(parsed.peerCertificates) != 1 || !k.pub.Equal(parsed.peerCertificates[0].PublicKey) {
		t.Fatalf("parsed raw public key session: raw %v, peers %v", parsed.rawPublicKeys, parsed.peerCertificates)
	}
	if !rawPublicKeySessionMatches(true, parsed) || rawPublicKeySessionMatches(false, parsed) {
		t.Error("a raw public key session must resume raw public key connections only")
	}
	two := *parsed
	two.peerCertificates = []*x509.Certificate{peer, peer}
	if rawPublicKeySessionMatches(true, &two) {
		t.Error("a raw public key session with two keys resumes")
	}

	// An X.509 session never resumes a raw public key connection.
	x509Peer, err := x509.ParseCertificate(testConfig.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	ss.peerCertificates = []*x509.Certificate{x509Peer}
	if b, err = ss.Bytes(); err != nil {
		t.Fatal(err)
	}
	if parsed, err = ParseSessionState(b); err != nil {
		t.Fatal(err)
	}
	if parsed.rawPublicKeys || rawPublicKeySessionMatches(true, parsed) || !rawPublicKeySessionMatches(false, parsed) {
		t.Errorf("X.509 session: raw %v", parsed.rawPublicKeys)
	}

	// What is neither fails to parse, as before: a small-order key, bytes that are no certificate.
	for _, der := range [][]byte{spkiOf(t, mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000")), {1, 2, 3}} {
		if _, _, err := parseSessionCertificate(der); err == nil {
			t.Errorf("session certificate %x parsed", der)
		}
	}
}

// validitySessionCache gives the server's synthetic certificate in a stored
// session a validity period, which Go's client checks before resuming (a raw
// public key has none; the client side of the patch does not resume).
type validitySessionCache struct{ ClientSessionCache }

func (c validitySessionCache) Put(key string, cs *ClientSessionState) {
	if cs != nil && cs.session != nil && len(cs.session.peerCertificates) == 1 {
		cert := *cs.session.peerCertificates[0]
		cert.NotAfter = time.Now().Add(time.Hour)
		cs.session.peerCertificates = []*x509.Certificate{&cert}
	}
	c.ClientSessionCache.Put(key, cs)
}
