package ticket

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	whatwgurl "github.com/nlnwa/whatwg-url/url"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AddrKind is the variant of iroh's TransportAddr; the values are the postcard variant indices.
type AddrKind uint8

const (
	KindRelay  AddrKind = 0
	KindIP     AddrKind = 1
	KindCustom AddrKind = 2
)

func (k AddrKind) String() string {
	switch k {
	case KindRelay:
		return "relay"
	case KindIP:
		return "ip"
	case KindCustom:
		return "custom"
	}
	return "AddrKind(" + strconv.Itoa(int(k)) + ")"
}

// legacyInlineMax is the inline capacity of iroh 0.97–1.0.3's CustomAddrBytes. It also decides
// the order of custom addresses in every version (derived Ord: Inline < Heap).
const legacyInlineMax = 30

// Addr is one of iroh's TransportAddr values. Only the fields of its Kind are set.
type Addr struct {
	Kind AddrKind
	// Relay is the relay URL as iroh serializes it, e.g. "http://derp.me./" (KindRelay).
	Relay string
	// IP is a direct UDP address (KindIP). IPv4 and IPv6 are kept apart: ::ffff:a.b.c.d is IPv6.
	IP netip.AddrPort
	// CustomID and CustomData form a custom transport address (KindCustom).
	CustomID   uint64
	CustomData []byte
}

// RelayAddr checks and normalizes a relay URL (see NormalizeRelayURL).
func RelayAddr(rawURL string) (Addr, error) {
	u, err := NormalizeRelayURL(rawURL)
	if err != nil {
		return Addr{}, err
	}
	return Addr{Kind: KindRelay, Relay: u}, nil
}

// IPAddr is a direct address. A ticket cannot carry an IPv6 zone, so IPAddr drops it
// (ParseIPAddr refuses text with a zone instead).
func IPAddr(ap netip.AddrPort) Addr {
	return Addr{Kind: KindIP, IP: netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port())}
}

// ParseIPAddr parses "IP:PORT" or "[IPv6]:PORT" for a ticket: no zone, port 0–65535.
func ParseIPAddr(s string) (Addr, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return Addr{}, textError(BadInput, err, "address %q is not IP:PORT or [IPv6]:PORT: %v", s, err)
	}
	if ap.Addr().Zone() != "" {
		return Addr{}, textError(BadInput, nil, "address %q has an IPv6 zone, which a ticket cannot carry", s)
	}
	return IPAddr(ap), nil
}

// CustomAddr is a custom transport address: a transport id and opaque data.
func CustomAddr(id uint64, data []byte) Addr {
	return Addr{Kind: KindCustom, CustomID: id, CustomData: append([]byte{}, data...)}
}

// ParseCustomAddr parses "ID:HEX" where ID is decimal or 0x-prefixed hex and HEX the data
// (may be empty).
func ParseCustomAddr(s string) (Addr, error) {
	idText, dataText, ok := strings.Cut(s, ":")
	if !ok {
		return Addr{}, textError(BadInput, nil, "custom address %q: want ID:HEX", s)
	}
	id, err := strconv.ParseUint(idText, 0, 64)
	if err != nil {
		return Addr{}, textError(BadInput, err, "custom address %q: transport id %q is not a 64-bit unsigned number", s, idText)
	}
	data, err := hex.DecodeString(dataText)
	if err != nil {
		return Addr{}, textError(BadInput, err, "custom address %q: data %q is not hex: %v", s, dataText, err)
	}
	return CustomAddr(id, data), nil
}

// String follows iroh's TransportAddr Display: relay:<url>, ip:<addr>, custom:<hex id>_<hex data>.
func (a Addr) String() string {
	switch a.Kind {
	case KindRelay:
		return "relay:" + a.Relay
	case KindIP:
		return "ip:" + a.IP.String()
	case KindCustom:
		return fmt.Sprintf("custom:%x_%s", a.CustomID, hex.EncodeToString(a.CustomData))
	}
	return a.Kind.String()
}

// Equal reports whether a and b are the same address.
func (a Addr) Equal(b Addr) bool { return Compare(a, b) == 0 }

// Compare orders addresses as iroh's BTreeSet<TransportAddr> does (derived Ord): relay < ip <
// custom; relays by URL string; IPv4 before IPv6, then octets, then port; custom addresses by
// id, then data of at most 30 bytes before longer data, short data by (length, bytes), long data
// by bytes (the derived order of iroh's Inline/Heap storage).
func Compare(a, b Addr) int {
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	switch a.Kind {
	case KindRelay:
		return strings.Compare(a.Relay, b.Relay)
	case KindIP:
		a4, b4 := a.IP.Addr().Is4(), b.IP.Addr().Is4()
		if a4 != b4 {
			if a4 {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(a.IP.Addr().AsSlice(), b.IP.Addr().AsSlice()); c != 0 {
			return c
		}
		return cmp.Compare(a.IP.Port(), b.IP.Port())
	case KindCustom:
		if c := cmp.Compare(a.CustomID, b.CustomID); c != 0 {
			return c
		}
		aInline, bInline := len(a.CustomData) <= legacyInlineMax, len(b.CustomData) <= legacyInlineMax
		switch {
		case aInline && !bInline:
			return -1
		case !aInline && bInline:
			return 1
		case aInline:
			if c := cmp.Compare(len(a.CustomData), len(b.CustomData)); c != 0 {
				return c
			}
		}
		return bytes.Compare(a.CustomData, b.CustomData)
	}
	return 0
}

// addrJSON is the peer contract's address object.
type addrJSON struct {
	Type string  `json:"type"`
	URL  string  `json:"url,omitempty"`
	Addr string  `json:"addr,omitempty"`
	ID   *uint64 `json:"id,omitempty"`
	Data *string `json:"data,omitempty"`
}

// MarshalJSON writes {"type":"relay","url":..}, {"type":"ip","addr":..} or
// {"type":"custom","id":N,"data":"<hex>"}.
func (a Addr) MarshalJSON() ([]byte, error) {
	switch a.Kind {
	case KindRelay:
		return json.Marshal(addrJSON{Type: "relay", URL: a.Relay})
	case KindIP:
		return json.Marshal(addrJSON{Type: "ip", Addr: a.IP.String()})
	case KindCustom:
		id, data := a.CustomID, hex.EncodeToString(a.CustomData)
		return json.Marshal(addrJSON{Type: "custom", ID: &id, Data: &data})
	}
	return nil, fmt.Errorf("ticket: cannot marshal address of kind %d", a.Kind)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Addr) UnmarshalJSON(b []byte) error {
	var j addrJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var (
		parsed Addr
		err    error
	)
	switch j.Type {
	case "relay":
		parsed, err = RelayAddr(j.URL)
	case "ip":
		parsed, err = ParseIPAddr(j.Addr)
	case "custom":
		if j.ID == nil || j.Data == nil {
			return textError(BadInput, nil, "custom address needs \"id\" and \"data\"")
		}
		data, herr := hex.DecodeString(*j.Data)
		if herr != nil {
			return textError(BadInput, herr, "custom address data %q is not hex", *j.Data)
		}
		parsed = CustomAddr(*j.ID, data)
	default:
		return textError(BadInput, nil, "address type %q is none of relay, ip, custom", j.Type)
	}
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// relayURLParser parses like iroh's url crate: the WHATWG URL standard, which iroh's RelayUrl
// is built on (any absolute URL; the standard's own normalization and error handling).
var relayURLParser = whatwgurl.NewParser()

// NormalizeRelayURL parses a relay URL as the WHATWG URL standard does and returns its
// serialization, which is what iroh writes into tickets. An input the standard refuses (no
// scheme, a bad host or port) is a BadRelayURL error.
func NormalizeRelayURL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", textError(BadUTF8, nil, "relay URL %q is not UTF-8", s)
	}
	u, err := relayURLParser.Parse(s)
	if err != nil && !strings.Contains(s, ":") {
		return "", textError(BadRelayURL, err, "relay URL %q is not absolute (no scheme)", s)
	}
	if err != nil {
		return "", textError(BadRelayURL, err, "relay URL %q: %v", s, err)
	}
	return u.Href(false), nil
}
