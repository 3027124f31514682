// Package key holds iroh's endpoint identities: Ed25519 public keys (EndpointId) and the
// 32-byte seeds behind them, in the text forms iroh prints and parses.
package key

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"filippo.io/edwards25519"
)

// Size is the length of a public key and of a secret key seed in bytes.
const Size = 32

// spkiPrefix is the DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the key follows it.
var spkiPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// SPKISize is the length of an Ed25519 SubjectPublicKeyInfo, the raw public key "certificate".
const SPKISize = 44

// The base32 alphabets iroh uses: RFC 4648 standard for parsing keys and tickets, base32hex
// lowercase for the synthetic TLS server name. Both without padding.
var (
	base32Std   = base32.StdEncoding.WithPadding(base32.NoPadding)
	base32Lower = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
)

// ErrNotOnCurve says that 32 bytes do not decompress to an Ed25519 point, so they are no EndpointId.
var ErrNotOnCurve = errors.New("not a valid Ed25519 public key (the bytes do not decode to a curve point)")

// PublicKey is an Ed25519 public key; iroh calls it the EndpointId.
type PublicKey [Size]byte

// EndpointID is iroh's name for a public key.
type EndpointID = PublicKey

// ParsePublicKey parses a key as iroh's PublicKey::from_str does: 64 lowercase hex characters,
// or 52 characters of RFC 4648 base32 without padding (any case). The key must be an Ed25519 point.
func ParsePublicKey(s string) (PublicKey, error) {
	b, err := decodeKeyText(s, "public key")
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKeyFromBytes(b[:])
}

// PublicKeyFromBytes checks that b is 32 bytes forming an Ed25519 point.
func PublicKeyFromBytes(b []byte) (PublicKey, error) {
	if len(b) != Size {
		return PublicKey{}, fmt.Errorf("public key: got %d bytes, want %d", len(b), Size)
	}
	// Like ed25519-dalek (and so iroh), this accepts small-order points and non-canonical
	// encodings of valid points; the bytes are kept as given.
	if _, err := new(edwards25519.Point).SetBytes(b); err != nil {
		return PublicKey{}, fmt.Errorf("public key %x: %w", b, ErrNotOnCurve)
	}
	var k PublicKey
	copy(k[:], b)
	return k, nil
}

// PublicKeyFromSPKI extracts the key from the 44-byte Ed25519 SubjectPublicKeyInfo that iroh uses
// as its TLS raw public key.
func PublicKeyFromSPKI(spki []byte) (PublicKey, error) {
	if len(spki) != SPKISize {
		return PublicKey{}, fmt.Errorf("Ed25519 SubjectPublicKeyInfo: got %d bytes, want %d", len(spki), SPKISize)
	}
	if !bytes.Equal(spki[:len(spkiPrefix)], spkiPrefix) {
		return PublicKey{}, fmt.Errorf("Ed25519 SubjectPublicKeyInfo: header %x, want %x", spki[:len(spkiPrefix)], spkiPrefix)
	}
	return PublicKeyFromBytes(spki[len(spkiPrefix):])
}

// String is the 64 lowercase hex characters iroh prints.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// Short is iroh's fmt_short: the first 5 bytes as 10 hex characters.
func (k PublicKey) Short() string { return hex.EncodeToString(k[:5]) }

// Ed25519 returns the key for crypto/ed25519.
func (k PublicKey) Ed25519() ed25519.PublicKey { return append(ed25519.PublicKey(nil), k[:]...) }

// SPKI is the 44-byte DER SubjectPublicKeyInfo: 302a300506032b6570032100 ‖ key.
func (k PublicKey) SPKI() []byte { return append(append([]byte(nil), spkiPrefix...), k[:]...) }

// TLSServerName is the synthetic server name iroh up to 1.0.3 sends as SNI:
// lowercase base32hex of the key without padding, then ".iroh.invalid".
func (k PublicKey) TLSServerName() string { return base32Lower.EncodeToString(k[:]) + ".iroh.invalid" }

// MarshalText gives the hex form, so JSON carries keys as iroh's serde does.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText accepts what ParsePublicKey accepts.
func (k *PublicKey) UnmarshalText(b []byte) error {
	p, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// SecretKey is the 32-byte RFC 8032 seed of an Ed25519 key pair, iroh's SecretKey.
type SecretKey struct {
	seed [Size]byte
}

// GenerateSecretKey draws a new seed from crypto/rand.
func GenerateSecretKey() (SecretKey, error) {
	var k SecretKey
	if _, err := rand.Read(k.seed[:]); err != nil {
		return SecretKey{}, fmt.Errorf("secret key: reading randomness: %w", err)
	}
	return k, nil
}

// ParseSecretKey parses a seed as iroh's SecretKey::from_str does: 64 lowercase hex characters,
// or 52 characters of RFC 4648 base32 without padding (any case). Any 32 bytes are a seed.
func ParseSecretKey(s string) (SecretKey, error) {
	b, err := decodeKeyText(s, "secret key")
	if err != nil {
		return SecretKey{}, err
	}
	return SecretKey{seed: b}, nil
}

// SecretKeyFromSeed wraps a 32-byte seed.
func SecretKeyFromSeed(seed []byte) (SecretKey, error) {
	if len(seed) != Size {
		return SecretKey{}, fmt.Errorf("secret key: got %d seed bytes, want %d", len(seed), Size)
	}
	var k SecretKey
	copy(k.seed[:], seed)
	return k, nil
}

// Public derives the EndpointId.
func (k SecretKey) Public() PublicKey {
	var p PublicKey
	copy(p[:], k.Ed25519().Public().(ed25519.PublicKey))
	return p
}

// Hex is the seed as 64 lowercase hex characters, the form IROH_SECRET holds.
func (k SecretKey) Hex() string { return hex.EncodeToString(k.seed[:]) }

// Ed25519 expands the seed into Go's 64-byte private key (seed ‖ public key).
func (k SecretKey) Ed25519() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(k.seed[:]) }

// String never shows the secret, like iroh's Debug output.
func (k SecretKey) String() string { return "SecretKey(..)" }

// GoString keeps %#v from printing the seed.
func (k SecretKey) GoString() string { return "SecretKey(..)" }

// decodeKeyText implements iroh's decode_base32_hex: exactly 64 characters are lowercase hex,
// any other length is base32.
func decodeKeyText(s, what string) ([Size]byte, error) {
	var out [Size]byte
	if len(s) == 2*Size {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 'A' && c <= 'F' {
				return out, fmt.Errorf("%s: uppercase hex %q at position %d; iroh accepts lowercase hex only", what, c, i)
			}
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return out, fmt.Errorf("%s: %q at position %d is not a hex digit", what, c, i)
			}
		}
		if _, err := hex.Decode(out[:], []byte(s)); err != nil {
			return out, fmt.Errorf("%s: %w", what, err)
		}
		return out, nil
	}
	b32Len := base32Std.EncodedLen(Size)
	if len(s) != b32Len {
		return out, fmt.Errorf("%s: %d characters, want %d hex or %d base32", what, len(s), 2*Size, b32Len)
	}
	b, err := DecodeBase32(s)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	copy(out[:], b)
	return out, nil
}

// DecodeBase32 decodes RFC 4648 base32 without padding the way iroh's data_encoding::BASE32_NOPAD
// does after ASCII-uppercasing: any ASCII case, no padding, no whitespace, and the unused
// trailing bits must be zero (so each byte string has exactly one text form).
func DecodeBase32(s string) ([]byte, error) {
	upper := []byte(s)
	for i, c := range upper {
		if c >= utf8.RuneSelf {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, fmt.Errorf("bad base32: non-ASCII %q at byte %d is not in the RFC 4648 alphabet", r, i)
		}
		switch {
		case c >= 'a' && c <= 'z':
			upper[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '2' && c <= '7':
		default:
			// Go's decoder skips CR and LF and knows '='; iroh refuses both, so check first.
			return nil, fmt.Errorf("bad base32: %q at position %d is not in the RFC 4648 alphabet", c, i)
		}
	}
	switch len(upper) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("bad base32: length %d is impossible without padding (length mod 8 is %d)", len(upper), len(upper)%8)
	}
	b, err := base32Std.DecodeString(string(upper))
	if err != nil {
		return nil, fmt.Errorf("bad base32: %w", err)
	}
	if base32Std.EncodeToString(b) != string(upper) {
		return nil, errors.New("bad base32: the unused trailing bits of the last character are not zero")
	}
	return b, nil
}

// EncodeBase32 is lowercase RFC 4648 base32 without padding, as iroh writes tickets.
func EncodeBase32(b []byte) string { return strings.ToLower(base32Std.EncodeToString(b)) }
