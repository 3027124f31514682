package rpk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/irohconf/irohconf/iroh/key"
)

const alpn = "irohconf/rpk-test/0"

// TLS alerts as QUIC transport error codes (RFC 9001, Section 4.8: 0x0100 + alert).
const (
	codeHandshakeFailure    quic.TransportErrorCode = 0x0100 + 40
	codeBadCertificate      quic.TransportErrorCode = 0x0100 + 42
	codeCertificateRequired quic.TransportErrorCode = 0x0100 + 116
)

func TestMain(m *testing.M) {
	if err := Available(); err != nil {
		fmt.Fprintln(os.Stderr, "iroh/rpk tests need the crypto/tls overlay:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func seedKey(t testing.TB, b byte) key.SecretKey {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = b
	}
	sk, err := key.SecretKeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// must unwraps a config constructor's result: must(t)(ServerConfig(...)).
func must(t testing.TB) func(*tls.Config, error) *tls.Config {
	return func(c *tls.Config, err error) *tls.Config {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConfigs(t *testing.T) {
	if id := NewIdentity(seedKey(t, 1)); id.ID() != seedKey(t, 1).Public() || id.Secret() != seedKey(t, 1) {
		t.Errorf("NewIdentity: id %s, want %s", id.ID(), seedKey(t, 1).Public())
	}
	server := must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn}))
	if !RawPublicKeys(server) || server.MinVersion != tls.VersionTLS13 || server.SessionTicketsDisabled ||
		server.ClientAuth != tls.RequireAnyClientCert || len(server.Certificates) != 1 {
		t.Errorf("server config: %+v", server)
	}
	if c := server.Clone(); !RawPublicKeys(c) {
		t.Error("Clone dropped RawPublicKeys")
	}
	if spki := server.Certificates[0].Certificate[0]; len(spki) != 44 || string(spki) != string(seedKey(t, 1).Public().SPKI()) {
		t.Errorf("server certificate %x is not the 44-byte SPKI", spki)
	}
	client := must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{}))
	if !RawPublicKeys(client) || client.MinVersion != tls.VersionTLS13 || client.InsecureSkipVerify ||
		client.VerifyPeerCertificate == nil || len(client.Certificates) != 1 || client.ClientSessionCache != nil {
		t.Errorf("client config: %+v", client)
	}
	noKey := must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{NoClientKey: true}))
	if len(noKey.Certificates) != 0 || !RawPublicKeys(noKey) {
		t.Errorf("NoClientKey config: %+v", noKey)
	}
	plain := must(t)(PlainX509ClientConfig([]string{alpn}))
	if RawPublicKeys(plain) || len(plain.Certificates) != 1 {
		t.Errorf("plain config: %+v", plain)
	}

	if _, err := ServerConfig(NewIdentity(seedKey(t, 1)), nil); err == nil {
		t.Error("server config without ALPN accepted")
	}
	if _, err := ClientConfig(NewIdentity(seedKey(t, 1)), seedKey(t, 2).Public(), []string{""}, ClientOptions{}); err == nil {
		t.Error("empty ALPN accepted")
	}
	if _, err := ClientConfig(NewIdentity(seedKey(t, 1)), seedKey(t, 2).Public(), []string{alpn}, ClientOptions{SNI: 9}); err == nil {
		t.Error("unknown SNI mode accepted")
	}
}

// tlsPair runs a TLS handshake over TCP loopback, the server echoing one
// message, and returns both sides' results.
func tlsPair(t *testing.T, client, server *tls.Config) (cs, ss tls.ConnectionState, clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		raw, err := ln.Accept()
		if err != nil {
			serverErr = err
			return
		}
		defer raw.Close()
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		conn := tls.Server(raw, server)
		if serverErr = conn.Handshake(); serverErr != nil {
			return
		}
		ss = conn.ConnectionState()
		buf := make([]byte, 5)
		if _, serverErr = io.ReadFull(conn, buf); serverErr == nil {
			_, serverErr = conn.Write(buf)
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, client)
	if clientErr = conn.Handshake(); clientErr == nil {
		cs = conn.ConnectionState()
		if _, clientErr = conn.Write([]byte("hello")); clientErr == nil {
			buf := make([]byte, 5)
			if _, clientErr = io.ReadFull(conn, buf); clientErr == nil && string(buf) != "hello" {
				clientErr = fmt.Errorf("echo returned %q", buf)
			}
		}
	}
	conn.Close()
	wg.Wait()
	return cs, ss, clientErr, serverErr
}

func TestTLSMutualRawPublicKeys(t *testing.T) {
	serverKey, clientKey := seedKey(t, 1), seedKey(t, 2)
	for _, sni := range []SNIMode{SNINone, SNIIrohInvalid} {
		t.Run(sni.String(), func(t *testing.T) {
			cs, ss, cerr, serr := tlsPair(t,
				must(t)(ClientConfig(NewIdentity(clientKey), serverKey.Public(), []string{alpn}, ClientOptions{SNI: sni})),
				must(t)(ServerConfig(NewIdentity(serverKey), []string{alpn})))
			if cerr != nil || serr != nil {
				t.Fatalf("client: %v; server: %v", cerr, serr)
			}
			if id, err := PeerID(cs); err != nil || id != serverKey.Public() {
				t.Errorf("client sees server %v, %v; want %v", id, err, serverKey.Public())
			}
			if id, err := PeerID(ss); err != nil || id != clientKey.Public() {
				t.Errorf("server sees client %v, %v; want %v", id, err, clientKey.Public())
			}
			if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != alpn || cs.DidResume {
				t.Errorf("client state: version %x, ALPN %q, resumed %v", cs.Version, cs.NegotiatedProtocol, cs.DidResume)
			}
		})
	}
}

func TestTLSWrongServerKey(t *testing.T) {
	_, _, cerr, serr := tlsPair(t,
		must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 3).Public(), []string{alpn}, ClientOptions{})),
		must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	if !errors.Is(cerr, ErrWrongServerKey) {
		t.Fatalf("client: %v, want ErrWrongServerKey", cerr)
	}
	wantRemoteTLSAlert(t, serr, "bad certificate")
}

func TestTLSPlainX509ClientRefused(t *testing.T) {
	_, _, cerr, serr := tlsPair(t,
		must(t)(PlainX509ClientConfig([]string{alpn})),
		must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	if serr == nil || !strings.Contains(serr.Error(), "did not offer a raw public key") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteTLSAlert(t, cerr, "handshake failure")
}

func TestTLSClientWithoutKeyRefused(t *testing.T) {
	_, _, cerr, serr := tlsPair(t,
		must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{NoClientKey: true})),
		must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	if serr == nil || !strings.Contains(serr.Error(), "didn't provide a raw public key") {
		t.Fatalf("server: %v", serr)
	}
	wantRemoteTLSAlert(t, cerr, "certificate required")
}

func TestTLSClientWithoutVerifierRefused(t *testing.T) {
	client := must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{}))
	client.VerifyPeerCertificate = nil
	client.InsecureSkipVerify = true // must not open the door
	_, _, cerr, _ := tlsPair(t, client, must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	if cerr == nil || !strings.Contains(cerr.Error(), "requires VerifyPeerCertificate or VerifyConnection") {
		t.Fatalf("client: %v, want a fail-closed refusal", cerr)
	}
}

// wantRemoteTLSAlert checks the alert the peer sent, as crypto/tls reports
// it over TCP ("remote error: tls: <alert>").
func wantRemoteTLSAlert(t *testing.T, err error, alert string) {
	t.Helper()
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err.Error() != "tls: "+alert {
		t.Fatalf("err = %v, want the remote alert %q", err, alert)
	}
}

// quicServer listens on 127.0.0.1 with tlsConf and echoes one stream per
// connection. It records the ClientHello server names it saw.
type quicServer struct {
	ln  *quic.Listener
	mu  sync.Mutex
	sni []string
}

func startQUICServer(t *testing.T, tlsConf *tls.Config) *quicServer {
	t.Helper()
	s := &quicServer{}
	tlsConf = tlsConf.Clone()
	tlsConf.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.sni = append(s.sni, chi.ServerName)
		s.mu.Unlock()
		return nil, nil
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", tlsConf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() {
				str, err := conn.AcceptStream(ctx)
				if err != nil {
					return
				}
				io.Copy(str, str)
				str.Close()
			}()
		}
	}()
	return s
}

func (s *quicServer) serverNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

func (s *quicServer) port() int { return s.ln.Addr().(*net.UDPAddr).Port }

// quicDial dials and, when the handshake succeeds, echoes a message. A
// server-side refusal can arrive after the client's handshake is complete
// (the client finishes first in TLS 1.3), so the echo is where it shows.
func quicDial(t *testing.T, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	t.Helper()
	ctx := testContext(t)
	conn, err := quic.DialAddr(ctx, addr, tlsConf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return conn, err
	}
	if _, err := str.Write([]byte("ping")); err != nil {
		return conn, err
	}
	str.Close()
	b, err := io.ReadAll(str)
	if err != nil {
		return conn, err
	}
	if string(b) != "ping" {
		return conn, fmt.Errorf("echo returned %q", b)
	}
	return conn, nil
}

func wantTransportError(t *testing.T, err error, code quic.TransportErrorCode, remote bool) {
	t.Helper()
	var te *quic.TransportError
	if !errors.As(err, &te) || te.ErrorCode != code || te.Remote != remote {
		t.Fatalf("err = %v, want QUIC transport error %#x (remote %v)", err, uint64(code), remote)
	}
}

func TestQUICMutualRawPublicKeys(t *testing.T) {
	serverKey, clientKey := seedKey(t, 1), seedKey(t, 2)
	srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(serverKey), []string{alpn})))
	conn, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()),
		must(t)(ClientConfig(NewIdentity(clientKey), serverKey.Public(), []string{alpn}, ClientOptions{})))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := PeerID(conn.ConnectionState().TLS); err != nil || id != serverKey.Public() {
		t.Errorf("client sees server %v, %v", id, err)
	}
}

func TestQUICServerSeesClientID(t *testing.T) {
	serverKey, clientKey := seedKey(t, 1), seedKey(t, 2)
	ln, err := quic.ListenAddr("127.0.0.1:0", must(t)(ServerConfig(NewIdentity(serverKey), []string{alpn})), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := testContext(t)
	accepted := make(chan *quic.Conn, 1)
	go func() {
		c, err := ln.Accept(ctx)
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	conn, err := quic.DialAddr(ctx, ln.Addr().String(),
		must(t)(ClientConfig(NewIdentity(clientKey), serverKey.Public(), []string{alpn}, ClientOptions{})), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	sc, ok := <-accepted
	if !ok {
		t.Fatal("server accepted nothing")
	}
	defer sc.CloseWithError(0, "")
	if id, err := PeerID(sc.ConnectionState().TLS); err != nil || id != clientKey.Public() {
		t.Errorf("server sees client %v, %v; want %v", id, err, clientKey.Public())
	}
}

func TestQUICWrongServerKey(t *testing.T) {
	srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	_, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()),
		must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 3).Public(), []string{alpn}, ClientOptions{})))
	wantTransportError(t, err, codeBadCertificate, false)
	if !errors.Is(err, ErrWrongServerKey) {
		t.Errorf("err = %v, want it to wrap ErrWrongServerKey", err)
	}
}

func TestQUICClientWithoutKey(t *testing.T) {
	srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	_, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()),
		must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{NoClientKey: true})))
	wantTransportError(t, err, codeCertificateRequired, true)
}

func TestQUICPlainX509ClientAgainstRawKeyServer(t *testing.T) {
	srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	_, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()), must(t)(PlainX509ClientConfig([]string{alpn})))
	// rustls (iroh) answers the same: handshake_failure.
	wantTransportError(t, err, codeHandshakeFailure, true)
}

func TestQUICRawKeyClientAgainstPlainServer(t *testing.T) {
	// A standard server: an Ed25519 X.509 certificate, no raw public keys.
	plain := must(t)(PlainX509ClientConfig([]string{alpn}))
	server := &tls.Config{Certificates: plain.Certificates, NextProtos: []string{alpn}, MinVersion: tls.VersionTLS13}
	srv := startQUICServer(t, server)
	_, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()),
		must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{})))
	wantTransportError(t, err, codeHandshakeFailure, false)
	if !strings.Contains(err.Error(), "did not negotiate raw public keys") {
		t.Errorf("err = %v", err)
	}
}

func TestQUICClientWithoutVerifierRefused(t *testing.T) {
	srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(seedKey(t, 1)), []string{alpn})))
	client := must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), seedKey(t, 1).Public(), []string{alpn}, ClientOptions{}))
	client.VerifyPeerCertificate = nil
	_, err := quicDial(t, fmt.Sprintf("127.0.0.1:%d", srv.port()), client)
	if err == nil || !strings.Contains(err.Error(), "requires VerifyPeerCertificate or VerifyConnection") {
		t.Fatalf("err = %v, want a fail-closed refusal", err)
	}
	if n := len(srv.serverNames()); n != 0 {
		t.Errorf("the server saw %d ClientHellos; the client must refuse before sending one", n)
	}
}

func TestQUICSNIModes(t *testing.T) {
	serverKey := seedKey(t, 1)
	for _, tc := range []struct {
		mode SNIMode
		host string // dialed host: a name is where quic-go would fill in ServerName
		want string
	}{
		{SNINone, "127.0.0.1", ""},
		{SNINone, "localhost", ""},
		{SNIIrohInvalid, "127.0.0.1", serverKey.Public().TLSServerName()},
		{SNIIrohInvalid, "localhost", serverKey.Public().TLSServerName()},
	} {
		t.Run(tc.mode.String()+"/"+tc.host, func(t *testing.T) {
			if tc.host == "localhost" {
				if addrs, err := net.LookupHost("localhost"); err != nil || len(addrs) == 0 {
					t.Skipf("localhost does not resolve here: %v", err)
				}
			}
			srv := startQUICServer(t, must(t)(ServerConfig(NewIdentity(serverKey), []string{alpn})))
			_, err := quicDial(t, net.JoinHostPort(tc.host, fmt.Sprint(srv.port())),
				must(t)(ClientConfig(NewIdentity(seedKey(t, 2)), serverKey.Public(), []string{alpn}, ClientOptions{SNI: tc.mode})))
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.serverNames(); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("server saw server names %q, want [%q]", got, tc.want)
			}
		})
	}
	if want := "7dl2ff6emqi2qol3l382krodedij45bn3nh479hqo14a32qpr8kg.iroh.invalid"; seedKey(t, 0).Public().TLSServerName() != want {
		t.Errorf("TLS name of the zero seed = %s, want %s", seedKey(t, 0).Public().TLSServerName(), want)
	}
}

func TestPeerIDRefusesX509(t *testing.T) {
	plain := must(t)(PlainX509ClientConfig([]string{alpn}))
	server := &tls.Config{Certificates: plain.Certificates, NextProtos: []string{alpn}, ClientAuth: tls.RequireAnyClientCert}
	cs, ss, cerr, serr := tlsPair(t, plain, server)
	if cerr != nil || serr != nil {
		t.Fatalf("client: %v; server: %v", cerr, serr)
	}
	for _, st := range []tls.ConnectionState{cs, ss} {
		if _, err := PeerID(st); err == nil || !strings.Contains(err.Error(), "X.509") {
			t.Errorf("PeerID of an X.509 peer: %v", err)
		}
	}
	if _, err := PeerID(tls.ConnectionState{}); err == nil {
		t.Error("PeerID of an empty state succeeded")
	}
}

// TestWithoutOverlay builds a program against the stock crypto/tls (GOFLAGS
// cleared) and checks that it compiles and refuses with ErrNoOverlay.
func TestWithoutOverlay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program without the overlay (slow on a cold cache)")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build without the overlay: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "run", "./testdata/nooverlay")
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./testdata/nooverlay without the overlay: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ErrNoOverlay.Error()) {
		t.Fatalf("output %q does not carry ErrNoOverlay's advice", out)
	}
}
