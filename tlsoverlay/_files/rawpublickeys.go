// Added to crypto/tls by the irohconf build overlay (tlsoverlay): RFC 7250
// raw public keys for TLS 1.3, as iroh uses them. The edits to the existing
// files call into this file; see tlsoverlay/edits.go for the list.

package tls

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/internal/fips140/edwards25519"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// TLS extension numbers and certificate types of RFC 7250.
const (
	extensionClientCertificateType uint16 = 19
	extensionServerCertificateType uint16 = 20

	certificateTypeX509         uint8 = 0
	certificateTypeRawPublicKey uint8 = 2
)

// checkRawPublicKeys refuses configurations that cannot keep the promise of
// Config.RawPublicKeys, before anything is sent.
func (c *Config) checkRawPublicKeys(isClient bool) error {
	if !c.RawPublicKeys {
		return nil
	}
	// supportedVersions drops everything below TLS 1.3 when RawPublicKeys is
	// set, so an empty list means MinVersion/MaxVersion exclude TLS 1.3.
	if len(c.supportedVersions(isClient)) == 0 {
		return errors.New("tls: RawPublicKeys requires TLS 1.3, but MinVersion/MaxVersion exclude it")
	}
	if isClient {
		if c.EncryptedClientHelloConfigList != nil {
			return errors.New("tls: RawPublicKeys cannot be combined with EncryptedClientHelloConfigList")
		}
		// Fail closed: without a callback nothing would authenticate the
		// server's key (InsecureSkipVerify does not waive this).
		if c.VerifyPeerCertificate == nil && c.VerifyConnection == nil {
			return errors.New("tls: RawPublicKeys on a client requires VerifyPeerCertificate or VerifyConnection to authenticate the server key")
		}
		return nil
	}
	if c.EncryptedClientHelloKeys != nil || c.GetEncryptedClientHelloKeys != nil {
		return errors.New("tls: RawPublicKeys cannot be combined with Encrypted Client Hello keys")
	}
	return nil
}

// negotiateServerCertificateTypes is the server's decision on a ClientHello.
// Like rustls with only raw public keys configured, a RawPublicKeys server
// requires raw public keys in both directions and never falls back to X.509.
// A server without RawPublicKeys ignores the extensions (X.509 by omission,
// RFC 7250, Section 4.2).
func negotiateServerCertificateTypes(rawPublicKeys bool, ch *clientHelloMsg) (use bool, a alert, err error) {
	if !rawPublicKeys {
		return false, 0, nil
	}
	if !slices.Contains(ch.serverCertificateTypes, certificateTypeRawPublicKey) {
		return false, alertHandshakeFailure, errors.New("tls: client did not offer a raw public key server certificate type")
	}
	if !slices.Contains(ch.clientCertificateTypes, certificateTypeRawPublicKey) {
		return false, alertHandshakeFailure, errors.New("tls: client did not offer a raw public key client certificate type")
	}
	return true, 0, nil
}

// checkEncryptedExtensionsCertificateTypes is the client's decision on the
// server's EncryptedExtensions. A client that offered raw public keys
// requires both types echoed as RawPublicKey (as rustls does); a client that
// offered nothing rejects the extensions (RFC 8446, Section 4.2).
func checkEncryptedExtensionsCertificateTypes(offered bool, ee *encryptedExtensionsMsg) (use bool, a alert, err error) {
	if !offered {
		if ee.hasClientCertificateType || ee.hasServerCertificateType {
			return false, alertUnsupportedExtension, errors.New("tls: server sent a certificate type extension the client did not offer")
		}
		return false, 0, nil
	}
	if !ee.hasServerCertificateType || !ee.hasClientCertificateType {
		return false, alertHandshakeFailure, errors.New("tls: server did not negotiate raw public keys (certificate type extensions missing)")
	}
	if ee.serverCertificateType != certificateTypeRawPublicKey || ee.clientCertificateType != certificateTypeRawPublicKey {
		return false, alertIllegalParameter, fmt.Errorf("tls: server selected certificate types client=%d server=%d, only raw public keys (2) were offered",
			ee.clientCertificateType, ee.serverCertificateType)
	}
	return true, 0, nil
}

func (hs *serverHandshakeStateTLS13) negotiateCertificateTypes() error {
	c := hs.c
	use, a, err := negotiateServerCertificateTypes(c.config.RawPublicKeys, hs.clientHello)
	if err != nil {
		c.sendAlert(a)
		return err
	}
	c.rawPublicKeys = use
	return nil
}

func (c *Conn) checkServerCertificateTypes(ee *encryptedExtensionsMsg) error {
	use, a, err := checkEncryptedExtensionsCertificateTypes(c.config.RawPublicKeys, ee)
	if err != nil {
		c.sendAlert(a)
		return err
	}
	c.rawPublicKeys = use
	return nil
}

// parseRawPublicKey parses a peer's certificate_data under RFC 7250: the DER
// SubjectPublicKeyInfo of an Ed25519 key, nothing else. It returns a
// synthetic certificate that only carries the key, so that the
// CertificateVerify code and ConnectionState.PeerCertificates work unchanged.
// It is not an X.509 certificate: no names, no validity, no issuer.
func parseRawPublicKey(spki []byte) (*x509.Certificate, alert, error) {
	key, a, err := ed25519KeyOfSPKI(spki)
	if err != nil {
		return nil, a, err
	}
	// Like iroh (ed25519-dalek verify_strict), refuse keys that are not a
	// curve point or of small order: signatures by such keys can be forged.
	point, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return nil, alertBadCertificate, errors.New("tls: raw public key is not a valid Ed25519 point")
	}
	multiple := new(edwards25519.Point).Add(point, point) // 2P
	multiple.Add(multiple, multiple)                      // 4P
	multiple.Add(multiple, multiple)                      // 8P
	if multiple.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, alertBadCertificate, errors.New("tls: raw public key is a small-order Ed25519 point")
	}
	key = ed25519.PublicKey(bytes.Clone(key))
	spki = bytes.Clone(spki)
	return &x509.Certificate{
		Raw:                     spki,
		RawSubjectPublicKeyInfo: spki,
		PublicKey:               key,
		PublicKeyAlgorithm:      x509.Ed25519,
	}, 0, nil
}

// ed25519SPKIPrefix is the DER header of an Ed25519 SubjectPublicKeyInfo
// (RFC 8410): what x509.MarshalPKIXPublicKey writes before the 32-byte key.
var ed25519SPKIPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// ed25519KeyOfSPKI returns the key of a canonical Ed25519 SubjectPublicKeyInfo
// (a slice of spki), the only encoding accepted: peers compare SPKIs byte for
// byte. The canonical encoding is the fixed header followed by the key, so
// the valid case is a comparison; anything else goes through the DER parser,
// only to tell a malformed key (decode_error) from another key type
// (unsupported_certificate).
func ed25519KeyOfSPKI(spki []byte) (ed25519.PublicKey, alert, error) {
	if len(spki) == len(ed25519SPKIPrefix)+ed25519.PublicKeySize && bytes.HasPrefix(spki, ed25519SPKIPrefix) {
		return ed25519.PublicKey(spki[len(ed25519SPKIPrefix):]), 0, nil
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, alertDecodeError, errors.New("tls: failed to parse raw public key: " + err.Error())
	}
	_, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, alertUnsupportedCertificate, fmt.Errorf("tls: raw public key of type %T, only Ed25519 is supported", pub)
	}
	// An Ed25519 key the parser accepted but not in the canonical form above.
	return nil, alertDecodeError, errors.New("tls: raw public key is not a canonical Ed25519 SubjectPublicKeyInfo")
}

// processPeerRawPublicKey checks the peer's Certificate message contents and
// runs VerifyPeerCertificate([spki], nil). VerifyConnection is run by the
// callers, in the same place as for X.509.
func (c *Conn) processPeerRawPublicKey(certificate Certificate) error {
	if len(certificate.Certificate) != 1 {
		c.sendAlert(alertBadCertificate)
		return fmt.Errorf("tls: peer sent %d certificate entries, a raw public key is exactly one", len(certificate.Certificate))
	}
	if certificate.OCSPStaple != nil || certificate.SignedCertificateTimestamps != nil {
		c.sendAlert(alertBadCertificate)
		return errors.New("tls: peer sent certificate entry extensions with a raw public key")
	}
	cert, a, err := parseRawPublicKey(certificate.Certificate[0])
	if err != nil {
		c.sendAlert(a)
		return err
	}
	c.peerCertificates = []*x509.Certificate{cert}
	c.verifiedChains = nil
	if c.config.VerifyPeerCertificate != nil {
		if err := c.config.VerifyPeerCertificate([][]byte{cert.Raw}, nil); err != nil {
			c.sendAlert(alertBadCertificate)
			return err
		}
	}
	return nil
}

// verifyServerRawPublicKey replaces X.509 verification on a RawPublicKeys
// client. It fails closed: a missing negotiation or a missing callback ends
// the handshake.
func (c *Conn) verifyServerRawPublicKey(certificates [][]byte) error {
	if !c.rawPublicKeys {
		c.sendAlert(alertInternalError)
		return errors.New("tls: internal error: server certificate with RawPublicKeys set but not negotiated")
	}
	if c.config.VerifyPeerCertificate == nil && c.config.VerifyConnection == nil {
		c.sendAlert(alertBadCertificate)
		return errors.New("tls: RawPublicKeys on a client requires VerifyPeerCertificate or VerifyConnection to authenticate the server key")
	}
	// The TLS 1.3 client has already stored the entry's extensions.
	// VerifyConnection runs later, after the server's CertificateVerify
	// (verifyRawPublicKeyConnection).
	return c.processPeerRawPublicKey(Certificate{
		Certificate:                 certificates,
		OCSPStaple:                  c.ocspResponse,
		SignedCertificateTimestamps: c.scts,
	})
}

// verifyRawPublicKeyConnection runs VerifyConnection on a raw public key
// connection once the peer's CertificateVerify proved that it holds the
// private key: the callback never sees a key that was not proven. (For X.509
// crypto/tls calls it before CertificateVerify; a callback that records its
// peer as authenticated would then also record a peer that the signature
// check refuses right after.) Both sides call it right after checking the
// peer's CertificateVerify; it does nothing without raw public keys.
func (c *Conn) verifyRawPublicKeyConnection() error {
	if !c.rawPublicKeys || c.config.VerifyConnection == nil {
		return nil
	}
	if err := c.config.VerifyConnection(c.connectionStateLocked()); err != nil {
		c.sendAlert(alertBadCertificate)
		return err
	}
	return nil
}

// processClientRawPublicKey replaces processCertsFromClient on a
// RawPublicKeys server: a client key is always required. VerifyConnection
// runs after the client's CertificateVerify (verifyRawPublicKeyConnection).
func (c *Conn) processClientRawPublicKey(certificate Certificate) error {
	if !c.rawPublicKeys {
		c.sendAlert(alertInternalError)
		return errors.New("tls: internal error: client certificate with RawPublicKeys set but not negotiated")
	}
	if len(certificate.Certificate) == 0 {
		c.sendAlert(alertCertificateRequired)
		return errors.New("tls: client didn't provide a raw public key")
	}
	return c.processPeerRawPublicKey(certificate)
}

// checkLocalRawPublicKey refuses to send a Certificate that is not one
// Ed25519 SubjectPublicKeyInfo matching the private key, so a
// misconfiguration fails here with a clear error rather than at the peer.
func checkLocalRawPublicKey(cert *Certificate) error {
	if len(cert.Certificate) != 1 {
		return fmt.Errorf("tls: RawPublicKeys: Certificate must hold exactly one SubjectPublicKeyInfo, it holds %d entries", len(cert.Certificate))
	}
	if cert.OCSPStaple != nil || cert.SignedCertificateTimestamps != nil {
		return errors.New("tls: RawPublicKeys: Certificate must not carry OCSP staples or SCTs")
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		if _, _, err := parseRawPublicKey(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls: RawPublicKeys: local certificate: %v", err)
		}
		return errors.New("tls: RawPublicKeys: Certificate.PrivateKey is not a crypto.Signer")
	}
	pub, _ := signer.Public().(ed25519.PublicKey)
	// The result depends on the SPKI and the signer's public key alone; a
	// pair checked before passes at once (the check decompresses the point,
	// on the path between the ClientHello and the server's first flight).
	var pair checkedLocalKey
	cacheable := len(cert.Certificate[0]) == len(pair.spki) && len(pub) == len(pair.pub)
	if cacheable {
		copy(pair.spki[:], cert.Certificate[0])
		copy(pair.pub[:], pub)
		if _, ok := checkedLocalKeys.Load(pair); ok {
			return nil
		}
	}
	local, _, err := parseRawPublicKey(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("tls: RawPublicKeys: local certificate: %v", err)
	}
	if pub == nil || !pub.Equal(local.PublicKey) {
		return errors.New("tls: RawPublicKeys: Certificate.PrivateKey does not match its SubjectPublicKeyInfo")
	}
	if cacheable && checkedLocalKeyCount.Add(1) <= maxCheckedLocalKeys {
		checkedLocalKeys.Store(pair, struct{}{})
	}
	return nil
}

// checkedLocalKey is a local SPKI and its signer's public key that passed
// checkLocalRawPublicKey together.
type checkedLocalKey struct {
	spki [44]byte
	pub  [ed25519.PublicKeySize]byte
}

// checkedLocalKeys holds the checkedLocalKey pairs; a process has a handful
// of identities, and at most maxCheckedLocalKeys are remembered (the others
// are checked every time).
var (
	checkedLocalKeys     sync.Map
	checkedLocalKeyCount atomic.Int64
)

const maxCheckedLocalKeys = 64

// parseSessionCertificate parses a peer certificate stored in a session
// ticket: an X.509 certificate, or, for a raw public key session, the peer's
// Ed25519 SubjectPublicKeyInfo (which no X.509 parser accepts), checked as
// in the handshake. Tickets are authenticated by the server's ticket keys, so
// only what this server stored reaches here.
func parseSessionCertificate(der []byte) (cert *x509.Certificate, rawPublicKey bool, err error) {
	cert, err = globalCertCache.newCert(der)
	if err == nil {
		return cert, false, nil
	}
	if key, _, keyErr := parseRawPublicKey(der); keyErr == nil {
		return key, true, nil
	}
	return nil, false, err
}

// rawPublicKeySessionMatches says whether a server connection may resume s:
// a raw public key session resumes only a connection that negotiated raw
// public keys, and holds exactly the one client key; an X.509 session never
// resumes a raw public key connection.
func rawPublicKeySessionMatches(rawPublicKeys bool, s *SessionState) bool {
	if s.rawPublicKeys != rawPublicKeys {
		return false
	}
	return !rawPublicKeys || len(s.peerCertificates) == 1 && len(s.verifiedChains) == 0
}

// testingRawPublicKeysClientResumption lets a RawPublicKeys client store and
// use tickets, for the tests of server-side resumption only: a client has no
// check of the server key on resumption (VerifyPeerCertificate is not
// called), so it never resumes otherwise.
var testingRawPublicKeysClientResumption = false
