package ticket_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
)

func mustKey(t *testing.T, s string) key.PublicKey {
	t.Helper()
	k, err := key.ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRelay(t *testing.T, s string) ticket.Addr {
	t.Helper()
	a, err := ticket.RelayAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ip(s string) ticket.Addr { return ticket.IPAddr(netip.MustParseAddrPort(s)) }

func TestEncodeWorkedExamplesFromParts(t *testing.T) {
	a, b := mustKey(t, idA), mustKey(t, idB)
	cases := []struct {
		name string
		tk   ticket.Ticket
		want string
	}{
		{"id-only", ticket.New(a), textShort},
		{"ipv4", ticket.New(a, ip("192.168.0.186:62781")), textLong},
		{"upstream-test-vector", ticket.New(b, ip("127.0.0.1:1024"), mustRelay(t, "http://derp.me./")), textVector},
		{"composite", ticket.New(a, ticket.CustomAddr(0x544f52, []byte{0, 1, 2, 3}), ip("[2001:db8::1]:443"), ip("192.168.0.186:62781"), mustRelay(t, "https://relay.example.")), textComposite},
	}
	for _, c := range cases {
		if got := c.tk.String(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
		parsed, err := ticket.Parse(c.want)
		if err != nil || !parsed.Equal(c.tk) {
			t.Errorf("%s: parse: %v, equal %v", c.name, err, parsed.Equal(c.tk))
		}
	}
	legacy := cases[3].tk
	legacy.CustomEncoding = ticket.CustomLegacy
	wantLegacy := ticket.Prefix + key.EncodeBase32(mustHex(p("00", idA, "04", relayEx, ip4Sample, ip6Doc, customTorL, zeros(26))))
	if got := legacy.String(); got != wantLegacy {
		t.Errorf("composite, legacy custom encoding:\n got %s\nwant %s", got, wantLegacy)
	}
}

func TestBytesLayout(t *testing.T) {
	tk := ticket.New(mustKey(t, idB), mustRelay(t, "http://derp.me./"), ip("127.0.0.1:1024"))
	want := mustHex(p("00", idB, "02", relayDerp, ip4Local))
	if got := tk.Bytes(); string(got) != string(want) {
		t.Fatalf("bytes\n got %x\nwant %x", got, want)
	}
	if got := tk.AddrOffsets(); !slices.Equal(got, []int{34, 52}) {
		t.Fatalf("address offsets %v, want [34 52]", got)
	}
}

// The order of iroh's BTreeSet<TransportAddr>, written out by hand.
func TestCanonicalOrder(t *testing.T) {
	ordered := []ticket.Addr{
		mustRelay(t, "http://derp.me./"),
		mustRelay(t, "https://a.example./"),
		ip("0.0.0.0:0"),
		ip("10.0.0.1:1"),
		ip("10.0.0.1:2"),
		ip("255.255.255.255:1"),
		ip("[::]:0"),
		ip("[::1]:7"),
		ip("[::ffff:1.2.3.4]:1"),
		ticket.CustomAddr(1, []byte{0xff}),
		ticket.CustomAddr(1, []byte{0x00, 0x00}),
		ticket.CustomAddr(1, make([]byte, 30)),
		ticket.CustomAddr(1, append([]byte{0}, make([]byte, 30)...)),
		ticket.CustomAddr(1, append([]byte{0xff}, make([]byte, 30)...)),
		ticket.CustomAddr(2, nil),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 20; round++ {
		shuffled := slices.Clone(ordered)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		shuffled = append(shuffled, shuffled[:3]...) // duplicates collapse
		got := ticket.New(key.PublicKey{}, shuffled...).Addrs
		if !slices.EqualFunc(got, ordered, ticket.Addr.Equal) {
			t.Fatalf("round %d: order\n got %v\nwant %v", round, got, ordered)
		}
	}
}

func TestJSON(t *testing.T) {
	tk, err := ticket.Parse(textComposite)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	want := decodedJSON(idA, jRelayEx, jIP4Sample, jIP6Doc, jCustomTor)
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}
	var back ticket.Ticket
	if err := json.Unmarshal(b, &back); err != nil || back.String() != textComposite {
		t.Fatalf("JSON round trip: %v, %s", err, back.String())
	}
	empty, _ := json.Marshal(ticket.New(mustKey(t, idA)))
	if string(empty) != decodedJSON(idA) {
		t.Fatalf("no addresses must give \"addrs\":[], got %s", empty)
	}
	for _, bad := range []string{
		`{"endpoint_id":"` + idA + `","addrs":[{"type":"tcp","addr":"1.2.3.4:5"}]}`,
		`{"endpoint_id":"` + idA + `","addrs":[{"type":"ip","addr":"1.2.3.4"}]}`,
		`{"endpoint_id":"` + idA + `","addrs":[{"type":"custom","id":1}]}`,
		`{"endpoint_id":"` + idA + `","addrs":[{"type":"custom","id":1,"data":"zz"}]}`,
		`{"endpoint_id":"` + idA + `","addrs":[],"extra":1}`,
		`{"endpoint_id":"0200000000000000000000000000000000000000000000000000000000000000","addrs":[]}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestNormalizeRelayURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://derp.me./":               "http://derp.me./",
		"https://relay.example.":         "https://relay.example./",
		"HTTPS://Relay.Example.:443":     "https://relay.example./",
		"https://relay.example:8443/x?y": "https://relay.example:8443/x?y",
		"http://[::1]:80":                "http://[::1]/",
		"iroh:relay":                     "iroh:relay",
		// WHATWG URL parsing, as iroh's url crate does it:
		"http:///x":               "http://x/",
		"https:w/relay.example./": "https://w/relay.example./",
		"\x03https://derp.me./":   "https://derp.me./",
		"http://derp.me/a b":      "http://derp.me/a%20b",
		"http://d\u00e9rp.me/":    "http://xn--drp-bma.me/",
	} {
		got, err := ticket.NormalizeRelayURL(in)
		if err != nil || got != want {
			t.Errorf("NormalizeRelayURL(%q) = %q, %v; want %q", in, got, err, want)
		}
		again, err := ticket.NormalizeRelayURL(got)
		if err != nil || again != got {
			t.Errorf("NormalizeRelayURL is not idempotent on %q: %q, %v", got, again, err)
		}
	}
	for _, bad := range []string{"", "derp.me", "http://", "http://a b/", "https://x:99999/", "http://x\x00/"} {
		if got, err := ticket.NormalizeRelayURL(bad); err == nil {
			t.Errorf("NormalizeRelayURL(%q) accepted: %q", bad, got)
		}
	}
}

func TestParseAddrFlags(t *testing.T) {
	if a, err := ticket.ParseIPAddr("[2001:db8::1]:443"); err != nil || a.IP.String() != "[2001:db8::1]:443" {
		t.Fatalf("ParseIPAddr: %v %v", a, err)
	}
	for _, bad := range []string{"1.2.3.4", "1.2.3.4:65536", "[fe80::1%eth0]:1", "host:80"} {
		if _, err := ticket.ParseIPAddr(bad); !errors.Is(err, ticket.BadInput) {
			t.Errorf("ParseIPAddr(%q): %v", bad, err)
		}
	}
	for in, want := range map[string]string{"21:00ff": "custom:15_00ff", "0x544f52:": "custom:544f52_", "18446744073709551615:ab": "custom:ffffffffffffffff_ab"} {
		a, err := ticket.ParseCustomAddr(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseCustomAddr(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, bad := range []string{"21", "x:00", "-1:00", "18446744073709551616:00", "1:0g", "1:abc"} {
		if _, err := ticket.ParseCustomAddr(bad); !errors.Is(err, ticket.BadInput) {
			t.Errorf("ParseCustomAddr(%q): %v", bad, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	tk, _ := ticket.Parse(textComposite)
	if got := tk.IPAddrs(); len(got) != 2 || got[0].String() != "192.168.0.186:62781" || got[1].String() != "[2001:db8::1]:443" {
		t.Fatalf("IPAddrs: %v", got)
	}
	if got := tk.RelayURLs(); !slices.Equal(got, []string{"https://relay.example./"}) {
		t.Fatalf("RelayURLs: %v", got)
	}
	if !tk.HasCustom() || tk.CustomEncoding != ticket.CustomCurrent {
		t.Fatal("composite has a current-encoded custom address")
	}
	if got := tk.Addrs[3].String(); got != "custom:544f52_00010203" {
		t.Fatalf("custom Display: %s", got)
	}
}

func TestErrorsMatchKindsAndCauses(t *testing.T) {
	_, err := ticket.Parse(ticket.Prefix + key.EncodeBase32(mustHex(p("00 02", zeros(31), "00"))))
	if !errors.Is(err, ticket.NotEd25519Point) || !errors.Is(err, key.ErrNotOnCurve) {
		t.Fatalf("not a point: %v", err)
	}
	_, err = ticket.Parse("endpoint")
	var te *ticket.Error
	if !errors.As(err, &te) || te.Kind != ticket.Truncated || te.Offset != 0 || errors.Is(err, ticket.BadBase32) {
		t.Fatalf("empty payload: %#v", err)
	}
	if !strings.Contains(err.Error(), "empty") {
		t.Fatalf("message does not say what is wrong: %v", err)
	}
}
