package ticket

import (
	"fmt"
	"net/netip"
	"unicode/utf8"

	"github.com/irohconf/irohconf/iroh/key"
)

// Maximum varint lengths and the largest allowed last byte, as postcard checks them
// (u16: 3 bytes, last ≤ 0x03; u32: 5 bytes, last ≤ 0x0f; u64 and usize: 10 bytes, last ≤ 0x01).
type varintWidth struct {
	bits    int
	name    string
	maxLen  int
	maxLast byte
}

var (
	u16Width   = varintWidth{16, "u16", 3, 0x03}
	u32Width   = varintWidth{32, "u32", 5, 0x0f}
	u64Width   = varintWidth{64, "u64", 10, 0x01}
	usizeWidth = varintWidth{64, "64-bit length", 10, 0x01}
)

// reader walks the payload the way postcard's deserializer does.
type reader struct {
	b         []byte
	off       int
	enc       CustomEncoding
	sawCustom bool
}

func (r *reader) truncated(what string, need int) *Error {
	return byteError(Truncated, r.off, "the payload ends inside %s (%d more bytes needed, %d left)", what, need, len(r.b)-r.off)
}

func (r *reader) take(n int, what string) ([]byte, *Error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, r.truncated(what, n)
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out, nil
}

func (r *reader) varint(w varintWidth, what string) (uint64, *Error) {
	start := r.off
	var v uint64
	for i := 0; i < w.maxLen; i++ {
		if r.off >= len(r.b) {
			return 0, byteError(Truncated, start, "the payload ends inside the varint of %s", what)
		}
		c := r.b[r.off]
		r.off++
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if i == w.maxLen-1 && c > w.maxLast {
				if w == u16Width {
					return 0, byteError(PortOutOfRange, start, "%s does not fit in 16 bits (> 65535)", what)
				}
				return 0, byteError(VarintOverflow, start, "the varint of %s exceeds %s", what, w.name)
			}
			return v, nil
		}
	}
	if w == u16Width {
		return 0, byteError(PortOutOfRange, start, "the varint of %s is longer than %d bytes, so above 65535", what, w.maxLen)
	}
	return 0, byteError(VarintOverflow, start, "the varint of %s is longer than the %d bytes a %s can take", what, w.maxLen, w.name)
}

// length reads a usize length and checks it against the bytes left, so no huge allocation
// happens on a forged length.
func (r *reader) length(what string) (int, *Error) {
	start := r.off
	n, err := r.varint(usizeWidth, "the length of "+what)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.b)-r.off) {
		return 0, byteError(Truncated, start, "%s claims %d bytes but only %d are left", what, n, len(r.b)-r.off)
	}
	return int(n), nil
}

// decode reads the whole payload with one custom address encoding. sawCustom tells whether it
// reached a custom address, so the caller knows whether the other encoding is worth a try;
// progress is how many bytes were consumed before an error was found.
// Bytes after the last address are not an error here: iroh decodes with postcard::from_bytes,
// which ignores them. They are returned in t.Trailing.
func decode(raw []byte, enc CustomEncoding) (t Ticket, err *Error, sawCustom bool, progress int) {
	r := &reader{b: raw, enc: enc}
	t, err = r.ticket()
	if err != nil {
		return Ticket{}, err, r.sawCustom, r.off
	}
	return t, nil, r.sawCustom, r.off
}

// trailingError is the strict reading's error for bytes after the last address.
func trailingError(raw []byte, t Ticket) *Error {
	off := len(raw) - len(t.Trailing)
	return byteError(TrailingBytes, off, "%s after the last address: %x", plural(len(t.Trailing), "byte"), t.Trailing)
}

func (r *reader) ticket() (Ticket, *Error) {
	if len(r.b) == 0 {
		return Ticket{}, byteError(Truncated, 0, "the payload is empty")
	}
	variant, err := r.varint(u32Width, "the ticket variant")
	if err != nil {
		return Ticket{}, err
	}
	if variant != 0 {
		return Ticket{}, byteError(UnknownTicketVariant, 0, "ticket wire format variant %d; iroh-tickets 1.0 knows only variant 0", variant)
	}
	idStart := r.off
	idBytes, err := r.take(key.Size, "the 32-byte endpoint id")
	if err != nil {
		return Ticket{}, err
	}
	id, kerr := key.PublicKeyFromBytes(idBytes)
	if kerr != nil {
		e := byteError(NotEd25519Point, idStart, "endpoint id %x is not an Ed25519 point", idBytes)
		e.cause = kerr
		return Ticket{}, e
	}
	countStart := r.off
	count, err := r.varint(usizeWidth, "the address count")
	if err != nil {
		return Ticket{}, err
	}
	// Every address takes at least one byte: a larger count cannot be met, and this bounds the
	// allocation below.
	if count > uint64(len(r.b)-r.off) {
		return Ticket{}, byteError(Truncated, countStart, "%d addresses announced but only %d bytes left", count, len(r.b)-r.off)
	}
	addrs := make([]Addr, 0, count)
	for i := uint64(0); i < count; i++ {
		a, err := r.addr(i)
		if err != nil {
			return Ticket{}, err
		}
		addrs = append(addrs, a)
	}
	t := New(id, addrs...)
	if r.off != len(r.b) {
		t.Trailing = append([]byte(nil), r.b[r.off:]...)
	}
	if t.HasCustom() {
		t.CustomEncoding = r.enc
	}
	return t, nil
}

func (r *reader) addr(i uint64) (Addr, *Error) {
	start := r.off
	what := fmt.Sprintf("address %d", i)
	variant, err := r.varint(u32Width, "the variant of "+what)
	if err != nil {
		return Addr{}, err
	}
	switch variant {
	case uint64(KindRelay):
		return r.relay(what)
	case uint64(KindIP):
		return r.ip(what)
	case uint64(KindCustom):
		r.sawCustom = true
		return r.custom(what)
	}
	return Addr{}, byteError(UnknownAddrVariant, start, "%s has variant %d; iroh 1.0 knows relay (0), ip (1) and custom (2)", what, variant)
}

func (r *reader) relay(what string) (Addr, *Error) {
	start := r.off
	n, err := r.length("the relay URL of " + what)
	if err != nil {
		return Addr{}, err
	}
	b, _ := r.take(n, "")
	if !utf8.Valid(b) {
		return Addr{}, byteError(BadUTF8, start, "the relay URL of %s is not UTF-8: %x", what, b)
	}
	a, uerr := RelayAddr(string(b))
	if uerr != nil {
		e := uerr.(*Error)
		e.Offset = start
		return Addr{}, e
	}
	return a, nil
}

func (r *reader) ip(what string) (Addr, *Error) {
	start := r.off
	family, err := r.varint(u32Width, "the IP family of "+what)
	if err != nil {
		return Addr{}, err
	}
	var ip netip.Addr
	switch family {
	case 0:
		b, err := r.take(4, "the IPv4 address of "+what)
		if err != nil {
			return Addr{}, err
		}
		ip = netip.AddrFrom4([4]byte(b))
	case 1:
		b, err := r.take(16, "the IPv6 address of "+what)
		if err != nil {
			return Addr{}, err
		}
		ip = netip.AddrFrom16([16]byte(b))
	default:
		return Addr{}, byteError(UnknownIPFamily, start, "%s has socket address variant %d; only V4 (0) and V6 (1) exist", what, family)
	}
	port, err := r.varint(u16Width, "the port of "+what)
	if err != nil {
		return Addr{}, err
	}
	return Addr{Kind: KindIP, IP: netip.AddrPortFrom(ip, uint16(port))}, nil
}

func (r *reader) custom(what string) (Addr, *Error) {
	id, err := r.varint(u64Width, "the transport id of "+what)
	if err != nil {
		return Addr{}, err
	}
	if r.enc == CustomCurrent {
		n, err := r.length("the data of " + what)
		if err != nil {
			return Addr{}, err
		}
		data, _ := r.take(n, "")
		return CustomAddr(id, data), nil
	}
	// iroh 0.97–1.0.3 serialized its storage enum: Inline { size: u8, data: [u8; 30] } or
	// Heap(Box<[u8]>). Only what that iroh itself wrote is accepted, so every accepted ticket
	// re-encodes to the same bytes: iroh 1.0.3 would also take the forms refused here, but then
	// holds values that compare unequal to the same address (or, for size > 30, panics).
	start := r.off
	storage, err := r.varint(u32Width, "the data storage variant of "+what)
	if err != nil {
		return Addr{}, err
	}
	switch storage {
	case 0:
		sizeAndData, err := r.take(1+legacyInlineMax, "the inline data of "+what)
		if err != nil {
			return Addr{}, err
		}
		size := int(sizeAndData[0])
		if size > legacyInlineMax {
			return Addr{}, byteError(BadCustomAddr, start+1, "%s has inline size %d, above the 30-byte inline buffer", what, size)
		}
		data, padding := sizeAndData[1:1+size], sizeAndData[1+size:]
		for i, p := range padding {
			if p != 0 {
				return Addr{}, byteError(BadCustomAddr, start+2+size+i, "%s has non-zero bytes after its %d inline data bytes: %x", what, size, padding)
			}
		}
		return CustomAddr(id, data), nil
	case 1:
		n, err := r.length("the heap data of " + what)
		if err != nil {
			return Addr{}, err
		}
		data, _ := r.take(n, "")
		if n <= legacyInlineMax {
			return Addr{}, byteError(BadCustomAddr, start+1, "%s stores %d bytes on the heap; iroh 1.0.3 stores up to 30 bytes inline", what, n)
		}
		return CustomAddr(id, data), nil
	}
	return Addr{}, byteError(BadCustomAddr, start, "%s has data storage variant %d; iroh 0.97–1.0.3 knows inline (0) and heap (1)", what, storage)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
