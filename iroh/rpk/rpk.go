// Package rpk builds the TLS configurations iroh uses: TLS 1.3 with RFC 7250
// raw public keys in both directions, Ed25519 only, the endpoint id as the
// key. It relies on the crypto/tls overlay made by tlsoverlay, which adds
// tls.Config.RawPublicKeys; this package sets that field through reflection
// so that it compiles (and go vet, gopls work) without the overlay, and
// reports ErrNoOverlay at run time instead.
package rpk

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"sync"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
)

// ErrNoOverlay means this binary was built against an unpatched crypto/tls.
var ErrNoOverlay = errors.New(`crypto/tls in this binary lacks RFC 7250 raw public keys (tls.Config.RawPublicKeys); build with "make", or run "make overlay" and set GOFLAGS=-overlay=$PWD/build/tls-overlay/overlay.json`)

// rawPublicKeysField is the index of tls.Config.RawPublicKeys, or -1.
var rawPublicKeysField = sync.OnceValue(func() int {
	f, ok := reflect.TypeFor[tls.Config]().FieldByName("RawPublicKeys")
	if !ok || f.Type.Kind() != reflect.Bool || len(f.Index) != 1 {
		return -1
	}
	return f.Index[0]
})

// Available reports whether crypto/tls supports raw public keys (ErrNoOverlay if not).
func Available() error {
	if rawPublicKeysField() < 0 {
		return ErrNoOverlay
	}
	return nil
}

// setRawPublicKeys turns on tls.Config.RawPublicKeys.
func setRawPublicKeys(c *tls.Config) error {
	i := rawPublicKeysField()
	if i < 0 {
		return ErrNoOverlay
	}
	reflect.ValueOf(c).Elem().Field(i).SetBool(true)
	return nil
}

// RawPublicKeys reports whether c has tls.Config.RawPublicKeys set (false without the overlay).
func RawPublicKeys(c *tls.Config) bool {
	i := rawPublicKeysField()
	return i >= 0 && reflect.ValueOf(c).Elem().Field(i).Bool()
}

// Identity is an endpoint's secret key with what TLS needs of it, derived once: the endpoint id
// and the raw public key certificate. (Deriving the public key from the seed is a scalar
// multiplication, about as costly as the handshake's signature; an endpoint dials many times.)
type Identity struct {
	secret key.SecretKey
	id     key.PublicKey
	priv   ed25519.PrivateKey
	spki   []byte
}

// NewIdentity derives sk's id and certificate.
func NewIdentity(sk key.SecretKey) Identity {
	priv := sk.Ed25519()
	var id key.PublicKey
	copy(id[:], priv.Public().(ed25519.PublicKey))
	return Identity{secret: sk, id: id, priv: priv, spki: id.SPKI()}
}

// ID is the endpoint id, the public key.
func (i Identity) ID() key.PublicKey { return i.id }

// Secret is the secret key.
func (i Identity) Secret() key.SecretKey { return i.secret }

// certificate is the raw public key "certificate": the SPKI as the only entry.
func (i Identity) certificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{i.spki}, PrivateKey: i.priv}
}

func checkALPNs(alpns []string) error {
	if len(alpns) == 0 {
		return errors.New("rpk: at least one ALPN is required (QUIC and iroh always negotiate one)")
	}
	for _, a := range alpns {
		if len(a) == 0 || len(a) > 255 {
			return fmt.Errorf("rpk: ALPN %q must be 1 to 255 bytes", a)
		}
	}
	return nil
}

// ServerConfig is iroh's server side: raw public keys only, TLS 1.3 only, a
// client key required, and any valid Ed25519 client key accepted (the
// application reads it with PeerID). Like iroh's server it issues session
// tickets, and a client that returns with one resumes its session (PSK with
// a fresh ECDH): no Certificate or signature is exchanged again, and the
// resumed connection's peer is the client key of the session resumed.
func ServerConfig(id Identity, alpns []string) (*tls.Config, error) {
	if err := checkALPNs(alpns); err != nil {
		return nil, err
	}
	c := &tls.Config{
		Certificates: []tls.Certificate{id.certificate()},
		NextProtos:   append([]string(nil), alpns...),
		MinVersion:   tls.VersionTLS13,
		// The patch requires a client key with raw public keys whatever this
		// says; it is set for readers and for defence in depth (and crypto/tls
		// resumes a session holding a client key only when it asks for one).
		ClientAuth: tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) != 1 {
				return fmt.Errorf("rpk: client sent %d keys, want 1", len(raw))
			}
			if _, err := key.PublicKeyFromSPKI(raw[0]); err != nil {
				return fmt.Errorf("rpk: client key: %w", err)
			}
			return nil
		},
	}
	if err := setRawPublicKeys(c); err != nil {
		return nil, err
	}
	return c, nil
}

// SNIMode selects the server_name a client sends.
type SNIMode int

const (
	// SNINone sends no server_name, like iroh after 1.0.3.
	SNINone SNIMode = iota
	// SNIIrohInvalid sends "<base32hex(id)>.iroh.invalid", like iroh up to 1.0.3.
	SNIIrohInvalid
)

func (m SNIMode) String() string {
	switch m {
	case SNINone:
		return "none"
	case SNIIrohInvalid:
		return "iroh-invalid"
	}
	return fmt.Sprintf("SNIMode(%d)", int(m))
}

// noSNIServerName keeps the ClientHello free of server_name. quic-go (and
// tls.Dial) replace an empty ServerName with the dialed host, which is sent
// when it is a name; an IP literal never is (RFC 6066, Section 3). With raw
// public keys ServerName plays no part in verification.
const noSNIServerName = "0.0.0.0"

// ClientOptions are the client's variations.
type ClientOptions struct {
	SNI SNIMode
	// NoClientKey makes a misbehaving client: it offers raw public keys but
	// has no key to send (iroh servers answer certificate_required).
	NoClientKey bool
	// BadSignature makes a misbehaving client: it sends its key but a
	// CertificateVerify that does not verify (servers answer decrypt_error).
	BadSignature bool
}

// badSigner signs with the right key and then spoils the signature.
type badSigner struct{ ed25519.PrivateKey }

func (s badSigner) Sign(r io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.PrivateKey.Sign(r, msg, opts)
	if err == nil {
		sig[0] ^= 1
	}
	return sig, err
}

// ErrWrongServerKey is returned (wrapped) when the server's key is not the
// endpoint id the client dialed.
var ErrWrongServerKey = errors.New("server key is not the expected endpoint id")

// ClientConfig is iroh's client side: raw public keys only, TLS 1.3 only, no
// resumption, and the server's SubjectPublicKeyInfo pinned byte for byte to
// expected.
func ClientConfig(id Identity, expected key.PublicKey, alpns []string, opts ClientOptions) (*tls.Config, error) {
	if err := checkALPNs(alpns); err != nil {
		return nil, err
	}
	c := &tls.Config{
		NextProtos:             append([]string(nil), alpns...),
		MinVersion:             tls.VersionTLS13,
		SessionTicketsDisabled: true,
	}
	switch opts.SNI {
	case SNINone:
		c.ServerName = noSNIServerName
	case SNIIrohInvalid:
		c.ServerName = expected.TLSServerName()
	default:
		return nil, fmt.Errorf("rpk: unknown SNI mode %d", int(opts.SNI))
	}
	if !opts.NoClientKey {
		cert := id.certificate()
		if opts.BadSignature {
			cert.PrivateKey = badSigner{id.priv}
		}
		c.Certificates = []tls.Certificate{cert}
	}
	want := expected.SPKI()
	c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) != 1 {
			return fmt.Errorf("rpk: server sent %d keys, want 1: %w", len(raw), ErrWrongServerKey)
		}
		if !bytes.Equal(raw[0], want) {
			got := fmt.Sprintf("%x", raw[0])
			if k, err := key.PublicKeyFromSPKI(raw[0]); err == nil {
				got = k.String()
			}
			return fmt.Errorf("rpk: server key %s, dialed %s: %w", got, expected, ErrWrongServerKey)
		}
		return nil
	}
	if err := setRawPublicKeys(c); err != nil {
		return nil, err
	}
	return c, nil
}

// PlainX509ClientConfig is a misbehaving client for refusal tests: TLS 1.3
// with a fresh self-signed Ed25519 X.509 certificate and no RFC 7250
// extensions. It does not verify the server (it is not meant to get far).
func PlainX509ClientConfig(alpns []string) (*tls.Config, error) {
	if err := checkALPNs(alpns); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "irohconf plain X.509 client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates:       []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}},
		NextProtos:         append([]string(nil), alpns...),
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
	}, nil
}

// PeerID is the peer's endpoint id from a raw public key handshake. It fails
// for anything else (an X.509 peer, no peer key).
func PeerID(cs tls.ConnectionState) (key.PublicKey, error) {
	if !cs.HandshakeComplete {
		return key.PublicKey{}, errors.New("rpk: handshake not complete")
	}
	if len(cs.PeerCertificates) != 1 {
		return key.PublicKey{}, fmt.Errorf("rpk: peer presented %d keys, want 1", len(cs.PeerCertificates))
	}
	c := cs.PeerCertificates[0]
	// With raw public keys the patch sets Raw to the SPKI itself; an X.509
	// certificate's Raw is the whole certificate and does not parse as one.
	if !bytes.Equal(c.Raw, c.RawSubjectPublicKeyInfo) {
		return key.PublicKey{}, errors.New("rpk: peer authenticated with an X.509 certificate, not a raw public key")
	}
	id, err := key.PublicKeyFromSPKI(c.Raw)
	if err != nil {
		return key.PublicKey{}, fmt.Errorf("rpk: peer key: %w", err)
	}
	return id, nil
}
