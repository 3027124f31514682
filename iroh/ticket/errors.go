package ticket

import (
	"fmt"
)

// ErrorKind names what is wrong with a ticket. It is an error itself, so callers can write
// errors.Is(err, ticket.Truncated). The string is stable: the differential corpus and the CLI
// use it.
type ErrorKind string

func (k ErrorKind) Error() string { return string(k) }

// The ways a ticket can be wrong.
const (
	// WrongPrefix: the text does not start with "endpoint" (case-sensitive).
	WrongPrefix ErrorKind = "wrong_prefix"
	// LegacyNodeTicket: a "node…" ticket of iroh before 0.94, which iroh 1.0 refuses too.
	LegacyNodeTicket ErrorKind = "legacy_node_ticket"
	// BadBase32: the payload is not RFC 4648 base32 without padding.
	BadBase32 ErrorKind = "bad_base32"
	// UnknownTicketVariant: the leading wire-format variant is not 0.
	UnknownTicketVariant ErrorKind = "unknown_ticket_variant"
	// Truncated: the bytes end inside a field.
	Truncated ErrorKind = "truncated"
	// TrailingBytes: bytes are left after the last address.
	TrailingBytes ErrorKind = "trailing_bytes"
	// NotEd25519Point: the endpoint id does not decode to an Ed25519 point.
	NotEd25519Point ErrorKind = "not_ed25519_point"
	// UnknownAddrVariant: a transport address variant other than relay (0), ip (1), custom (2).
	UnknownAddrVariant ErrorKind = "unknown_addr_variant"
	// UnknownIPFamily: a socket address variant other than V4 (0) or V6 (1).
	UnknownIPFamily ErrorKind = "unknown_ip_family"
	// VarintOverflow: a LEB128 varint longer or larger than its integer type allows.
	VarintOverflow ErrorKind = "varint_overflow"
	// PortOutOfRange: a port varint whose value exceeds 65535.
	PortOutOfRange ErrorKind = "port_out_of_range"
	// BadUTF8: a relay URL that is not UTF-8.
	BadUTF8 ErrorKind = "bad_utf8"
	// BadRelayURL: a relay URL that does not parse as an absolute URL.
	BadRelayURL ErrorKind = "bad_relay_url"
	// BadCustomAddr: a custom address whose iroh 0.97–1.0.3 encoding is malformed
	// (unknown storage variant, inline size above 30, non-zero inline padding, heap data of 30
	// bytes or less).
	BadCustomAddr ErrorKind = "bad_custom_addr"
	// BadInput: encoder input (addresses, ids) that no ticket can carry.
	BadInput ErrorKind = "bad_input"
)

// ErrorKinds lists every kind, for tests and for the corpus.
var ErrorKinds = []ErrorKind{
	WrongPrefix, LegacyNodeTicket, BadBase32, UnknownTicketVariant, Truncated, TrailingBytes,
	NotEd25519Point, UnknownAddrVariant, UnknownIPFamily, VarintOverflow, PortOutOfRange,
	BadUTF8, BadRelayURL, BadCustomAddr,
}

// Error is a ticket that could not be decoded: what kind of problem, where, and the detail.
type Error struct {
	Kind ErrorKind
	// Offset is the byte offset in the decoded payload (after base32) where the problem is,
	// or -1 when it is in the text.
	Offset int
	Detail string
	cause  error
}

func (e *Error) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("ticket: %s at payload byte %d: %s", e.Kind, e.Offset, e.Detail)
	}
	return fmt.Sprintf("ticket: %s: %s", e.Kind, e.Detail)
}

// Unwrap makes errors.Is match the kind and any underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

// KindOf returns the kind of a ticket error, or "" for nil and other errors.
func KindOf(err error) ErrorKind {
	if e, ok := err.(*Error); ok {
		return e.Kind
	}
	return ""
}

func textError(kind ErrorKind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Offset: -1, Detail: fmt.Sprintf(format, args...), cause: cause}
}

func byteError(kind ErrorKind, offset int, format string, args ...any) *Error {
	return &Error{Kind: kind, Offset: offset, Detail: fmt.Sprintf(format, args...)}
}
