// Package ticket decodes and encodes iroh's EndpointTicket (iroh-tickets 1.0): the text
// "endpoint" ‖ lowercase base32(0x00 ‖ postcard(EndpointAddr)) that tells a peer whom to dial
// (the endpoint id) and where (relay URLs, direct IP addresses, custom transport addresses).
//
// Decoding follows postcard exactly as iroh reads it (overlong varints and unsorted or duplicate
// addresses are accepted, as iroh accepts them); encoding always writes the canonical form iroh
// writes (sorted, deduplicated, shortest varints), so a canonical ticket round-trips byte for byte.
package ticket

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/irohconf/irohconf/iroh/key"
)

// Prefix starts every endpoint ticket; LegacyPrefix started the NodeTicket of iroh before 0.94.
const (
	Prefix       = "endpoint"
	LegacyPrefix = "node"
)

// CustomEncoding is how custom transport addresses are laid out in the ticket bytes. iroh changed
// it after 1.0.3 (commit 4706ec97, "Fix serialization of CustomAddr"); the two are not
// compatible, so a ticket with a custom address is readable by one side only.
type CustomEncoding uint8

const (
	// CustomCurrent is varint(id) ‖ varint(len) ‖ data: iroh after 1.0.3. The default.
	CustomCurrent CustomEncoding = iota
	// CustomLegacy is varint(id) ‖ (00 ‖ u8 size ‖ 30 bytes | 01 ‖ varint(len) ‖ data):
	// iroh 0.97.0 to 1.0.3.
	CustomLegacy
)

func (e CustomEncoding) String() string {
	if e == CustomLegacy {
		return "legacy"
	}
	return "current"
}

// Ticket is a decoded EndpointTicket.
type Ticket struct {
	ID key.PublicKey
	// Addrs in canonical order (see Compare), without duplicates, when built by Parse or New.
	Addrs []Addr
	// CustomEncoding is the encoding a parsed ticket's custom addresses used, and the one String
	// writes. It matters only when there are custom addresses.
	CustomEncoding CustomEncoding
	// Trailing holds bytes a parsed ticket had after its last address. iroh ignores them (it
	// decodes with postcard::from_bytes), so Parse does too; String does not write them, and
	// ParseStrict refuses them.
	Trailing []byte
}

// New builds a ticket in canonical form: addresses sorted as iroh sorts them, duplicates removed.
func New(id key.PublicKey, addrs ...Addr) Ticket {
	return Ticket{ID: id, Addrs: canonical(addrs)}
}

func canonical(addrs []Addr) []Addr {
	out := slices.Clone(addrs)
	slices.SortStableFunc(out, Compare)
	return slices.CompactFunc(out, Addr.Equal)
}

// IPAddrs are the direct addresses, in ticket order.
func (t Ticket) IPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range t.Addrs {
		if a.Kind == KindIP {
			out = append(out, a.IP)
		}
	}
	return out
}

// RelayURLs are the relay URLs, in ticket order.
func (t Ticket) RelayURLs() []string {
	var out []string
	for _, a := range t.Addrs {
		if a.Kind == KindRelay {
			out = append(out, a.Relay)
		}
	}
	return out
}

// HasCustom reports whether the ticket holds a custom transport address.
func (t Ticket) HasCustom() bool {
	return slices.ContainsFunc(t.Addrs, func(a Addr) bool { return a.Kind == KindCustom })
}

// Equal compares id and address sets (not the custom encoding).
func (t Ticket) Equal(u Ticket) bool {
	return t.ID == u.ID && slices.EqualFunc(canonical(t.Addrs), canonical(u.Addrs), Addr.Equal)
}

// String is the canonical ticket text.
func (t Ticket) String() string { return Prefix + key.EncodeBase32(t.Bytes()) }

// ParseStrict is Parse that also refuses bytes after the last address (TrailingBytes), which
// iroh itself accepts and ignores.
func ParseStrict(s string) (Ticket, error) {
	t, err := Parse(s)
	if err != nil {
		return Ticket{}, err
	}
	if len(t.Trailing) > 0 {
		raw, _ := key.DecodeBase32(strings.TrimPrefix(s, Prefix))
		return Ticket{}, trailingError(raw, t)
	}
	return t, nil
}

// Parse decodes a ticket as iroh-tickets' EndpointTicket::from_str does.
func Parse(s string) (Ticket, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return Ticket{}, prefixError(s)
	}
	raw, err := key.DecodeBase32(rest)
	if err != nil {
		return Ticket{}, textError(BadBase32, err, "%v", err)
	}
	return FromBytes(raw)
}

func prefixError(s string) error {
	if strings.HasPrefix(s, LegacyPrefix) {
		detail := "a NodeTicket of iroh before 0.94; iroh 1.0 reads only endpoint tickets"
		if raw, err := key.DecodeBase32(s[len(LegacyPrefix):]); err == nil && len(raw) >= 33 && raw[0] == 0 {
			detail = fmt.Sprintf("%s (node id %x)", detail, raw[1:33])
		}
		return textError(LegacyNodeTicket, nil, "%s", detail)
	}
	if strings.HasPrefix(strings.ToLower(s), Prefix) {
		return textError(WrongPrefix, nil, "the prefix must be %q in lowercase, got %q", Prefix, s[:len(Prefix)])
	}
	shown := s
	if len(shown) > 16 {
		shown = shown[:16] + "…"
	}
	return textError(WrongPrefix, nil, "%q does not start with %q", shown, Prefix)
}

// FromBytes decodes the payload (0x00 ‖ postcard(EndpointAddr)). Custom addresses are read in the
// current encoding first, as current iroh does; only if that fails is the iroh 0.97–1.0.3
// encoding tried. When both fail, the error of the reading that consumed more bytes wins (the
// current one on a tie) and its detail names the other reading's error too.
//
// A reading that consumes every byte is preferred; only when neither does is a reading with
// bytes left over taken (current first), as iroh takes it.
func FromBytes(raw []byte) (Ticket, error) {
	t, err, sawCustom, progress := decode(raw, CustomCurrent)
	if err == nil && (len(t.Trailing) == 0 || !sawCustom) {
		return t, nil
	}
	lt, lerr, _, lprogress := decode(raw, CustomLegacy)
	switch {
	case lerr == nil && len(lt.Trailing) == 0:
		return lt, nil
	case err == nil:
		return t, nil
	case lerr == nil:
		return lt, nil
	}
	if lerr.Kind == err.Kind && lerr.Offset == err.Offset {
		return Ticket{}, err
	}
	if lprogress > progress {
		lerr.Detail = fmt.Sprintf("%s (read with the iroh 0.97–1.0.3 custom address encoding; with the current one: %s at byte %d: %s)",
			lerr.Detail, err.Kind, err.Offset, err.Detail)
		return Ticket{}, lerr
	}
	err.Detail = fmt.Sprintf("%s (with the iroh 0.97–1.0.3 custom address encoding: %s at byte %d: %s)",
		err.Detail, lerr.Kind, lerr.Offset, lerr.Detail)
	return Ticket{}, err
}

// Bytes is the canonical payload in the ticket's custom encoding.
func (t Ticket) Bytes() []byte {
	addrs := canonical(t.Addrs)
	out := make([]byte, 0, 64)
	out = append(out, 0) // TicketWireFormat::Variant1 is variant index 0
	out = append(out, t.ID[:]...)
	out = appendVarint(out, uint64(len(addrs)))
	for _, a := range addrs {
		out = appendAddr(out, a, t.CustomEncoding)
	}
	return out
}

// AddrOffsets are the payload offsets at which each address of the canonical encoding starts;
// mutation tools use them to hit variant bytes.
func (t Ticket) AddrOffsets() []int {
	addrs := canonical(t.Addrs)
	off := 1 + key.Size + len(appendVarint(nil, uint64(len(addrs))))
	var out []int
	for _, a := range addrs {
		out = append(out, off)
		off += len(appendAddr(nil, a, t.CustomEncoding))
	}
	return out
}

func appendAddr(out []byte, a Addr, enc CustomEncoding) []byte {
	out = append(out, byte(a.Kind))
	switch a.Kind {
	case KindRelay:
		out = appendVarint(out, uint64(len(a.Relay)))
		out = append(out, a.Relay...)
	case KindIP:
		ip := a.IP.Addr()
		if ip.Is4() {
			out = append(out, 0)
		} else {
			out = append(out, 1)
		}
		out = append(out, ip.AsSlice()...)
		out = appendVarint(out, uint64(a.IP.Port()))
	case KindCustom:
		out = appendVarint(out, a.CustomID)
		switch {
		case enc == CustomCurrent:
			out = appendVarint(out, uint64(len(a.CustomData)))
			out = append(out, a.CustomData...)
		case len(a.CustomData) <= legacyInlineMax:
			var inline [legacyInlineMax]byte
			copy(inline[:], a.CustomData)
			out = append(out, 0, byte(len(a.CustomData)))
			out = append(out, inline[:]...)
		default:
			out = append(out, 1)
			out = appendVarint(out, uint64(len(a.CustomData)))
			out = append(out, a.CustomData...)
		}
	}
	return out
}

func appendVarint(out []byte, v uint64) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

// MarshalJSON writes the peer contract's decoded form:
// {"endpoint_id":"<hex>","addrs":[...]} with addresses in canonical order.
func (t Ticket) MarshalJSON() ([]byte, error) {
	addrs := canonical(t.Addrs)
	if addrs == nil {
		addrs = []Addr{}
	}
	return json.Marshal(ticketJSON{EndpointID: t.ID, Addrs: addrs})
}

// UnmarshalJSON reads the decoded form back (canonicalizing the address list).
func (t *Ticket) UnmarshalJSON(b []byte) error {
	var j ticketJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*t = New(j.EndpointID, j.Addrs...)
	return nil
}

type ticketJSON struct {
	EndpointID key.PublicKey `json:"endpoint_id"`
	Addrs      []Addr        `json:"addrs"`
}
