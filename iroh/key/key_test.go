package key

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	// iroh's known answer (iroh/src/tls/name.rs test): the all-zero seed.
	zeroSeedPublic  = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
	zeroSeedTLSName = "7dl2ff6emqi2qol3l382krodedij45bn3nh479hqo14a32qpr8kg.iroh.invalid"
	// The endpoint id of the worked ticket examples, in each text form iroh uses.
	sampleHex     = "88096ffd6d3048ad7c1050645ae5b8fbf731963d892abe282736a7fbabd8f212"
	sampleBase32  = "RAEW77LNGBEK27AQKBSFVZNY7P3TDFR5REVL4KBHG2T7XK6Y6IJA"
	sampleTLSName = "h04mvvbd614aqv0ga1i5lpdovfrj35hth4lbsa176qjvnauou890.iroh.invalid"
	// y = 2 has no x on the curve: not an Ed25519 point.
	notAPoint = "0200000000000000000000000000000000000000000000000000000000000000"
)

func TestZeroSeedKnownAnswer(t *testing.T) {
	sk, err := SecretKeyFromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	if pk.String() != zeroSeedPublic {
		t.Fatalf("public key of the zero seed: got %s, want %s", pk, zeroSeedPublic)
	}
	if got := pk.TLSServerName(); got != zeroSeedTLSName {
		t.Fatalf("TLS name: got %s, want %s", got, zeroSeedTLSName)
	}
	if sk.Hex() != strings.Repeat("0", 64) {
		t.Fatalf("seed hex: %s", sk.Hex())
	}
}

func TestPublicKeyTextForms(t *testing.T) {
	fromHex, err := ParsePublicKey(sampleHex)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{sampleBase32, strings.ToLower(sampleBase32)} {
		fromB32, err := ParsePublicKey(s)
		if err != nil {
			t.Fatalf("base32 %s: %v", s, err)
		}
		if fromB32 != fromHex {
			t.Fatalf("base32 %s decodes to %s, want %s", s, fromB32, fromHex)
		}
	}
	if fromHex.String() != sampleHex {
		t.Fatalf("String: %s", fromHex)
	}
	if fromHex.Short() != "88096ffd6d" {
		t.Fatalf("Short: %s", fromHex.Short())
	}
	if got := fromHex.TLSServerName(); got != sampleTLSName {
		t.Fatalf("TLS name: got %s, want %s", got, sampleTLSName)
	}
	spki := fromHex.SPKI()
	if hex.EncodeToString(spki) != "302a300506032b6570032100"+sampleHex {
		t.Fatalf("SPKI: %x", spki)
	}
	back, err := PublicKeyFromSPKI(spki)
	if err != nil || back != fromHex {
		t.Fatalf("SPKI round trip: %v %v", back, err)
	}
	if !bytes.Equal(fromHex.Ed25519(), fromHex[:]) {
		t.Fatal("Ed25519() differs from the key bytes")
	}
}

func TestPublicKeyAcceptsWhatIrohAccepts(t *testing.T) {
	// iroh's own tests build PublicKey::from_bytes(&[0; 32]): a small-order point, but a point.
	if _, err := PublicKeyFromBytes(make([]byte, 32)); err != nil {
		t.Fatalf("all-zero key refused: %v", err)
	}
	// curve25519-dalek decompresses without canonicity checks: x = -0 (y = 1 with the sign bit
	// set) and y = p+1 (a non-canonical encoding of y = 1) are points, and keep their bytes.
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000080",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		b, _ := hex.DecodeString(h)
		k, err := PublicKeyFromBytes(b)
		if err != nil {
			t.Fatalf("%s refused: %v", h, err)
		}
		if k.String() != h {
			t.Fatalf("%s came back as %s", h, k)
		}
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "0 characters"},
		{"too short hex", sampleHex[:62], "62 characters"},
		{"too long", sampleHex + "00", "66 characters"},
		{"uppercase hex", strings.ToUpper(sampleHex), "uppercase hex"},
		{"not hex", "g" + sampleHex[1:], "not a hex digit"},
		{"not a point", notAPoint, "not a valid Ed25519 public key"},
		{"bad base32 char", "1" + sampleBase32[1:], "not in the RFC 4648 alphabet"},
		{"base32 trailing bits", sampleBase32[:51] + "B", "trailing bits"},
		{"base32 padding", sampleBase32[:48] + "====", "not in the RFC 4648 alphabet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePublicKey(c.in)
			if err == nil {
				t.Fatalf("ParsePublicKey(%q) accepted", c.in)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	_, err := ParsePublicKey(notAPoint)
	if !errors.Is(err, ErrNotOnCurve) {
		t.Fatalf("not-a-point error does not wrap ErrNotOnCurve: %v", err)
	}
}

func TestPublicKeyFromBytesAndSPKIErrors(t *testing.T) {
	if _, err := PublicKeyFromBytes(make([]byte, 31)); err == nil || !strings.Contains(err.Error(), "31 bytes") {
		t.Fatalf("31 bytes: %v", err)
	}
	pk, _ := ParsePublicKey(sampleHex)
	spki := pk.SPKI()
	if _, err := PublicKeyFromSPKI(spki[:43]); err == nil || !strings.Contains(err.Error(), "43 bytes") {
		t.Fatalf("short SPKI: %v", err)
	}
	bad := append([]byte(nil), spki...)
	bad[8] = 0x71 // OID 1.3.101.113 (Ed448) instead of Ed25519
	if _, err := PublicKeyFromSPKI(bad); err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("wrong OID: %v", err)
	}
}

func TestSecretKey(t *testing.T) {
	sk, err := GenerateSecretKey()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseSecretKey(sk.Hex())
	if err != nil {
		t.Fatal(err)
	}
	if again.Public() != sk.Public() {
		t.Fatal("hex round trip changed the key")
	}
	fromB32, err := ParseSecretKey(strings.ToLower(EncodeBase32(again.seed[:])))
	if err != nil || fromB32 != sk {
		t.Fatalf("base32 round trip: %v", err)
	}
	other, _ := GenerateSecretKey()
	if other == sk {
		t.Fatal("two generated keys are equal")
	}
	if s := sk.String(); s != "SecretKey(..)" || strings.Contains(s, sk.Hex()) {
		t.Fatalf("String leaks or changed: %s", s)
	}
	if _, err := ParseSecretKey(strings.ToUpper(sk.Hex())); err == nil || !strings.Contains(err.Error(), "uppercase") {
		t.Fatalf("uppercase hex seed: %v", err)
	}
	if _, err := ParseSecretKey("abc"); err == nil || !strings.Contains(err.Error(), "secret key: 3 characters") {
		t.Fatalf("short seed: %v", err)
	}
	if _, err := SecretKeyFromSeed(make([]byte, 64)); err == nil {
		t.Fatal("64-byte seed accepted")
	}
	// Go's private key is seed ‖ public.
	priv := sk.Ed25519()
	pub := sk.Public()
	if !bytes.Equal(priv[32:], pub[:]) || !bytes.Equal(priv.Seed(), sk.seed[:]) {
		t.Fatal("Ed25519() layout differs from seed ‖ public")
	}
}

func TestPublicKeyJSON(t *testing.T) {
	pk, _ := ParsePublicKey(sampleHex)
	b, err := json.Marshal(map[string]PublicKey{"id": pk})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"`+sampleHex+`"}` {
		t.Fatalf("JSON: %s", b)
	}
	var back map[string]PublicKey
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != pk {
		t.Fatalf("JSON round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"id":"`+notAPoint+`"}`), &back); err == nil {
		t.Fatal("JSON accepted a key that is not a point")
	}
}

func TestDecodeBase32(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"ME", "61"}, {"mfra", "6162"}, {"MFRGG", "616263"}, {"MFRGGZA", "61626364"}, {"mfrggzdf", "6162636465"},
	} {
		b, err := DecodeBase32(c.in)
		if err != nil || hex.EncodeToString(b) != c.want {
			t.Fatalf("DecodeBase32(%q) = %x, %v; want %s", c.in, b, err, c.want)
		}
	}
	for _, in := range []string{"M", "MFR", "MFRGGZ", "MF\nRA", "MF=A", "MZ", "mfrſ"} {
		if b, err := DecodeBase32(in); err == nil {
			t.Fatalf("DecodeBase32(%q) accepted: %x", in, b)
		}
	}
}
