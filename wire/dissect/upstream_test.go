package dissect_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/internal/repo"
	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/peercontract"
	"github.com/irohconf/irohconf/wire/dissect"
	"github.com/irohconf/irohconf/wire/relay"
)

// upstreamBinaries are the upstream iroh peers `make upstream` builds.
var upstreamBinaries = []string{"iroh-upstream-1.0.0", "iroh-upstream-1.4.1"}

func upstreamPath(t *testing.T, name string) string {
	t.Helper()
	p, err := repo.Path("build", "bin", name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("IROHCONF_REQUIRE_UPSTREAM") != "" {
			t.Fatalf("%s: %v (make upstream builds it)", p, err)
		}
		t.Skipf("%s is not built (make upstream); set IROHCONF_REQUIRE_UPSTREAM=1 to make this an error", p)
	}
	return p
}

// iroh's own key log (rustls through SSLKEYLOGFILE) decrypts both directions on its own: upstream
// iroh serves, a Go client dials it through the relay, and only the server's key log is given
// to tshark.
func TestUpstreamServerThroughRelay(t *testing.T) {
	for _, name := range upstreamBinaries {
		t.Run(name, func(t *testing.T) { upstreamServerThroughRelay(t, upstreamPath(t, name)) })
	}
}

func upstreamServerThroughRelay(t *testing.T, bin string) {
	dir := t.TempDir()
	keylog := filepath.Join(dir, "keylog-server.txt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := peercontract.StartServe(ctx, exec.Command(bin, "serve", "--bind", "127.0.0.1:0", "--keylog", keylog), peercontract.ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	target, err := netip.ParseAddrPort(srv.Ready.Addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	id, err := key.ParsePublicKey(srv.Ready.EndpointID)
	if err != nil {
		t.Fatal(err)
	}

	capPath := filepath.Join(dir, "wire.pcapng")
	capFile, err := os.Create(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer capFile.Close()
	rl, err := relay.Start(relay.Config{Target: target, Capture: capFile})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := endpoint.Listen(ctx, endpoint.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cl.Dial(ctx, id, rl.Addr(), echo.ALPN, endpoint.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := echo.Run(ctx, c, echo.Options{Size: 64 << 10, Count: 2}); err != nil {
		t.Error(err)
	}
	_ = c.Close(0, echo.CloseReason)
	<-c.Context().Done()
	time.Sleep(200 * time.Millisecond) // the close crosses the relay
	_ = cl.Close()
	if err := srv.Stop(); err != nil { // the key log is complete once the server has exited
		t.Error(err)
	}
	if err := rl.Close(); err != nil {
		t.Fatal(err)
	}

	w, err := dissect.Files(ctx, capPath, keylog)
	if err != nil {
		t.Fatal(err)
	}
	if w.Undecrypted != 0 {
		t.Errorf("%d packets not decrypted with iroh's key log alone (frames %v)", w.Undecrypted, w.UndecryptedFrames)
	}
	conn := w.Handshaken()
	h := conn.Handshake
	t.Logf("iroh server: suite %s, group %s, ALPN %q, signature %s, certificate request %v", h.CipherSuite, h.Group, h.ALPN, h.ServerSignature, h.CertificateRequestSignatures)
	if h.ALPN != echo.ALPN || h.ServerKey != id.String() || h.ServerSignature != "Ed25519" || h.ClientSignature != "Ed25519" ||
		h.ServerCertType != 2 || h.ClientCertType != 2 || h.Group != "X25519" || h.CipherSuite == "" {
		t.Errorf("handshake with iroh %+v", h)
	}
	// iroh asks for Ed25519 only (iroh/src/tls/verifier.rs).
	if strings.Join(h.CertificateRequestSignatures, ",") != "Ed25519" {
		t.Errorf("iroh's CertificateRequest offers %v", h.CertificateRequestSignatures)
	}
	tp := conn.TransportParameters[dissect.Server]
	if tp == nil || tp.MaxIdleTimeout == nil || *tp.MaxIdleTimeout != 30000 || tp.InitialMaxStreamsBidi == nil {
		t.Errorf("iroh's transport parameters %+v", tp)
	}
	if cl := conn.CloseBy(dissect.Client); cl == nil || cl.Code != 0 || cl.FrameType != 0x1d {
		t.Errorf("client close %+v", cl)
	}
	if len(conn.Streams) != 2 || conn.Streams[0].Bytes[dissect.Server] != 64<<10 {
		t.Errorf("streams %+v", conn.Streams)
	}
	if av := conn.AddressValidation; av.ExceededFrame != 0 || av.ValidatedFrame == 0 {
		t.Errorf("address validation %+v", av)
	}
}

// The other way: upstream iroh dials a Go server through the relay; its client key log alone
// decrypts the capture, and its ClientHello is iroh's.
func TestUpstreamClientThroughRelay(t *testing.T) {
	for _, name := range upstreamBinaries {
		t.Run(name, func(t *testing.T) { upstreamClientThroughRelay(t, upstreamPath(t, name)) })
	}
}

func upstreamClientThroughRelay(t *testing.T, bin string) {
	dir := t.TempDir()
	keylog := filepath.Join(dir, "keylog-client.txt")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := endpoint.Listen(ctx, endpoint.Config{Handlers: (&echo.Server{CloseWait: 10 * time.Second}).Handlers()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	capPath := filepath.Join(dir, "wire.pcapng")
	capFile, err := os.Create(capPath)
	if err != nil {
		t.Fatal(err)
	}
	defer capFile.Close()
	rl, err := relay.Start(relay.Config{Target: srv.Addr(), Capture: capFile})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	out, err := exec.CommandContext(ctx, bin, "dial", "--id", srv.ID().String(), "--addr", rl.Addr().String(),
		"--alpn", echo.ALPN, "--size", "65536", "--count", "2", "--timeout", "20s", "--keylog", keylog).CombinedOutput()
	if err != nil {
		t.Fatalf("%s dial: %v\n%s", bin, err, out)
	}
	time.Sleep(200 * time.Millisecond) // the server's last datagrams cross the relay
	if err := rl.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := dissect.Files(ctx, capPath, keylog)
	if err != nil {
		t.Fatal(err)
	}
	if w.Undecrypted != 0 {
		t.Errorf("%d packets not decrypted with iroh's client key log alone (frames %v)", w.Undecrypted, w.UndecryptedFrames)
	}
	h := w.Handshaken().Handshake
	t.Logf("iroh client offers %v, groups %v, signatures %v, SNI %q; negotiated %s %s", h.OfferedCipherSuites, h.OfferedGroups, h.OfferedSignatures, h.SNI, h.CipherSuite, h.Group)
	if h.ALPN != echo.ALPN || strings.Join(h.OfferedSignatures, ",") != "Ed25519" || h.ClientKey == "" || h.ClientSignature != "Ed25519" {
		t.Errorf("handshake from iroh %+v", h)
	}
	if cl := w.Handshaken().CloseBy(dissect.Client); cl == nil || cl.Code != 0 {
		t.Errorf("iroh's close %+v", cl)
	}
}
