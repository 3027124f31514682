package ticket_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
)

var update = flag.Bool("update", false, "rewrite fixtures/tickets/corpus.jsonl from the case table")

// Hand-written byte layouts (see the wire notes): the decoder is checked against these, not
// against its own output.
const (
	idA        = "88096ffd6d3048ad7c1050645ae5b8fbf731963d892abe282736a7fbabd8f212"
	idB        = "ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6"
	relayDerp  = "00 10 687474703a2f2f646572702e6d652e2f"               // Relay "http://derp.me./"
	relayEx    = "00 17 68747470733a2f2f72656c61792e6578616d706c652e2f" // Relay "https://relay.example./"
	ip4Sample  = "01 00 c0a800ba bdea03"                                // 192.168.0.186:62781
	ip4Local   = "01 00 7f000001 8008"                                  // 127.0.0.1:1024
	ip6Doc     = "01 01 20010db8000000000000000000000001 bb03"          // [2001:db8::1]:443
	customTor  = "02 d29ed102 04 00010203"                              // custom 0x544f52, 00010203 (current)
	customTorL = "02 d29ed102 00 04 00010203"                           // the same, legacy inline, before 26 zero bytes

	textShort     = "endpointaceas375nuyerll4cbigiwxfxd57ommwhwesvprie43kp65l3dzbeaa"
	textLong      = "endpointaceas375nuyerll4cbigiwxfxd57ommwhwesvprie43kp65l3dzbeaibadakqaf2xxvag"
	textVector    = "endpointacxfr74igmsbvsbnn73wcecg5vt3kbzncqwfrdiampuufwnhkublmaqacbuhi5dqhixs6zdfojyc43lffyxqcad7aaaadaai"
	textComposite = "endpointaceas375nuyerll4cbigiwxfxd57ommwhwesvprie43kp65l3dzbebaac5uhi5dqom5c6l3smvwgc6jomv4gc3lqnrss4lybadakqaf2xxvagaibeaaq3oaaaaaaaaaaaaaaaaaaag5qgawst3iqebaaaebag"

	jRelayDerp = `{"type":"relay","url":"http://derp.me./"}`
	jRelayEx   = `{"type":"relay","url":"https://relay.example./"}`
	jIP4Sample = `{"type":"ip","addr":"192.168.0.186:62781"}`
	jIP4Local  = `{"type":"ip","addr":"127.0.0.1:1024"}`
	jIP6Doc    = `{"type":"ip","addr":"[2001:db8::1]:443"}`
	jCustomTor = `{"type":"custom","id":5525330,"data":"00010203"}`

	accPlain   = "iroh >= 0.94 (every endpoint ticket reader)"
	accCurrent = "iroh after 1.0.3 (commit 4706ec97; iroh-base 1.4.1 has it)"
	accLegacy  = "iroh 0.97.0 to 1.0.3 (iroh-base 1.0.0 has it)"
)

func zeros(n int) string { return strings.Repeat("00", n) }

func seq(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return hex.EncodeToString(b)
}

func decodedJSON(id string, addrs ...string) string {
	return `{"endpoint_id":"` + id + `","addrs":[` + strings.Join(addrs, ",") + `]}`
}

type corpusCase struct {
	name string
	// text is the ticket; when empty it is "endpoint" + base32 of payload (hex, spaces ignored).
	text, payload string
	// For valid tickets: the decoded JSON, whether the text is canonical, the custom encoding.
	decoded   string
	canonical bool
	encoding  string
	// For invalid tickets.
	kind       ticket.ErrorKind
	acceptedBy string
	note       string
}

func (c corpusCase) ticketText() string {
	if c.text != "" || c.payload == "" {
		return c.text
	}
	b, err := hex.DecodeString(strings.ReplaceAll(c.payload, " ", ""))
	if err != nil {
		panic(c.name + ": " + err.Error())
	}
	return ticket.Prefix + key.EncodeBase32(b)
}

func (c corpusCase) entry() tickettest.Entry {
	e := tickettest.Entry{Name: c.name, Ticket: c.ticketText(), Valid: c.decoded != "", Note: c.note, AcceptedBy: c.acceptedBy}
	if e.Valid {
		e.Decoded = json.RawMessage(c.decoded)
		canonical := c.canonical
		e.Canonical = &canonical
		e.CustomEncoding = c.encoding
		if e.AcceptedBy == "" {
			e.AcceptedBy = map[string]string{"": accPlain, "current": accCurrent, "legacy": accLegacy}[c.encoding]
		}
	} else {
		e.ErrorKind = string(c.kind)
		if e.AcceptedBy == "" {
			e.AcceptedBy = "none"
		}
	}
	return e
}

func p(parts ...string) string { return strings.Join(parts, " ") }

var corpusCases = []corpusCase{
	// ---- valid -------------------------------------------------------------------------------
	{name: "id-only", text: textShort, decoded: decodedJSON(idA), canonical: true, note: "worked example: endpoint id, no addresses"},
	{name: "ipv4", text: textLong, decoded: decodedJSON(idA, jIP4Sample), canonical: true, note: "worked example: one IPv4 address"},
	{name: "upstream-test-vector", text: textVector, decoded: decodedJSON(idB, jRelayDerp, jIP4Local), canonical: true, note: "iroh-tickets test_ticket_base32"},
	{name: "composite-current", text: textComposite, decoded: decodedJSON(idA, jRelayEx, jIP4Sample, jIP6Doc, jCustomTor), canonical: true, encoding: "current", note: "relay, IPv4, IPv6, custom"},
	{name: "composite-legacy", payload: p("00", idA, "04", relayEx, ip4Sample, ip6Doc, customTorL, zeros(26)), decoded: decodedJSON(idA, jRelayEx, jIP4Sample, jIP6Doc, jCustomTor), canonical: true, encoding: "legacy", note: "the composite example as iroh 1.0.3 writes it: inline custom data"},
	{name: "ipv6", payload: p("00", idA, "01", ip6Doc), decoded: decodedJSON(idA, jIP6Doc), canonical: true},
	{name: "ipv4-mapped-ipv6", payload: p("00", idA, "01", "01 01 00000000000000000000ffff7f000001 01"), decoded: decodedJSON(idA, `{"type":"ip","addr":"[::ffff:127.0.0.1]:1"}`), canonical: true, note: "stays an IPv6 socket address"},
	{name: "ports-0-and-65535", payload: p("00", idA, "02", "01 00 7f000001 00", "01 00 7f000001 ffff03"), decoded: decodedJSON(idA, `{"type":"ip","addr":"127.0.0.1:0"}`, `{"type":"ip","addr":"127.0.0.1:65535"}`), canonical: true},
	{name: "ip-order", payload: p("00", idA, "04", "01 00 0a000001 01", "01 00 0a000001 02", "01 00 0a000002 01", "01 01 00000000000000000000000000000001 01"),
		decoded: decodedJSON(idA, `{"type":"ip","addr":"10.0.0.1:1"}`, `{"type":"ip","addr":"10.0.0.1:2"}`, `{"type":"ip","addr":"10.0.0.2:1"}`, `{"type":"ip","addr":"[::1]:1"}`), canonical: true, note: "IPv4 before IPv6, then octets, then port"},
	{name: "two-relays", payload: p("00", idA, "02", relayDerp, relayEx), decoded: decodedJSON(idA, jRelayDerp, jRelayEx), canonical: true, note: "relays ordered by URL string"},
	{name: "relay-ip-custom-order", payload: p("00", idB, "03", relayDerp, ip4Local, "02 01 01 ff"), decoded: decodedJSON(idB, jRelayDerp, jIP4Local, `{"type":"custom","id":1,"data":"ff"}`), canonical: true, encoding: "current"},
	{name: "custom-current-empty-data", payload: p("00", idA, "01", "02 00 00"), decoded: decodedJSON(idA, `{"type":"custom","id":0,"data":""}`), canonical: true, encoding: "current"},
	{name: "custom-current-30-and-31-bytes", payload: p("00", idA, "02", "02 07 1e", seq(30), "02 07 1f", seq(31)),
		decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":"`+seq(30)+`"}`, `{"type":"custom","id":7,"data":"`+seq(31)+`"}`), canonical: true, encoding: "current"},
	{name: "custom-current-max-id", payload: p("00", idA, "01", "02 ffffffffffffffffff01 01 ab"), decoded: decodedJSON(idA, `{"type":"custom","id":18446744073709551615,"data":"ab"}`), canonical: true, encoding: "current"},
	{name: "custom-order-length-first", payload: p("00", idA, "02", "02 05 01 ff", "02 05 02 0000"), decoded: decodedJSON(idA, `{"type":"custom","id":5,"data":"ff"}`, `{"type":"custom","id":5,"data":"0000"}`), canonical: true, encoding: "current",
		note: "iroh orders custom data of up to 30 bytes by (length, bytes): ff before 0000"},
	{name: "custom-order-long-data-last", payload: p("00", idA, "02", "02 05 02 ffff", "02 05 1f", zeros(31)), decoded: decodedJSON(idA, `{"type":"custom","id":5,"data":"ffff"}`, `{"type":"custom","id":5,"data":"`+zeros(31)+`"}`), canonical: true, encoding: "current",
		note: "data over 30 bytes sorts after all shorter data (iroh's Inline < Heap)"},
	{name: "custom-legacy-inline", payload: p("00", idA, "01", customTorL, zeros(26)), decoded: decodedJSON(idA, jCustomTor), canonical: true, encoding: "legacy"},
	{name: "custom-legacy-inline-30-bytes", payload: p("00", idA, "01", "02 07 00 1e", seq(30)), decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":"`+seq(30)+`"}`), canonical: true, encoding: "legacy"},
	{name: "custom-legacy-heap", payload: p("00", idA, "01", "02 07 01 1f", seq(31)), decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":"`+seq(31)+`"}`), canonical: true, encoding: "legacy"},
	{name: "unsorted-addrs", payload: p("00", idB, "02", ip4Local, relayDerp), decoded: decodedJSON(idB, jRelayDerp, jIP4Local), canonical: false, note: "iroh reads any order into its BTreeSet and writes it sorted"},
	{name: "duplicate-addrs", payload: p("00", idB, "02", ip4Local, ip4Local), decoded: decodedJSON(idB, jIP4Local), canonical: false, note: "duplicates collapse in iroh's BTreeSet"},
	{name: "overlong-varints", payload: p("00", idB, "81 00", "01 00 7f000001 80 88 00"), decoded: decodedJSON(idB, jIP4Local), canonical: false, note: "postcard accepts overlong LEB128 (count 81 00 = 1, port 80 88 00 = 1024)"},
	{name: "overlong-ticket-variant", payload: p("80 00", idA, "00"), decoded: decodedJSON(idA), canonical: false, note: "variant 80 00 = 0"},
	{name: "uppercase-payload", text: "endpoint" + strings.ToUpper(textShort[len("endpoint"):]), decoded: decodedJSON(idA), canonical: false, note: "the payload is case-insensitive, the prefix is not"},
	{name: "zero-id", payload: p("00", zeros(32), "00"), decoded: decodedJSON(zeros(32)), canonical: true, note: "all-zero id: a small-order point, which iroh accepts"},
	{name: "noncanonical-id-encoding", payload: p("00", "ee"+strings.Repeat("ff", 30)+"7f", "00"), decoded: decodedJSON("ee" + strings.Repeat("ff", 30) + "7f"), canonical: true, note: "y = p+1 encodes y = 1; decompression does not check canonicity and the bytes are kept"},
	{name: "relay-url-normalized", payload: p("00", idA, "01", "00 0e", hex.EncodeToString([]byte("HTTP://Derp.ME"))), decoded: decodedJSON(idA, `{"type":"relay","url":"http://derp.me/"}`), canonical: false,
		note: "iroh parses relay URLs (WHATWG) and writes them normalized"},
	{name: "trailing-bytes", payload: p("00", idA, "00 00"), decoded: decodedJSON(idA), canonical: false,
		note: "iroh decodes with postcard::from_bytes, which ignores bytes after the ticket (ParseStrict refuses them)"},
	{name: "trailing-bytes-after-address", payload: p("00", idA, "01", ip4Sample, "ff ff ff"), decoded: decodedJSON(idA, jIP4Sample), canonical: false,
		note: "bytes after the last address are ignored, whatever they are"},
	// Malformed iroh 0.97–1.0.3 custom addresses: read as current custom addresses followed by
	// ignored bytes, exactly as iroh 1.4.1 reads them.
	{name: "legacy-inline-size-31", payload: p("00", idA, "01 02 07 00 1f", zeros(30)), decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":""}`), canonical: false, encoding: "current",
		acceptedBy: "iroh after 1.0.3 as shown; iroh 0.97.0 to 1.0.3 read it and then panic on use (fixed by commit 4706ec97)", note: "legacy inline size above the 30-byte buffer"},
	{name: "legacy-inline-nonzero-padding", payload: p("00", idA, "01 02 07 00 02 abcd 01", zeros(27)), decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":""}`), canonical: false, encoding: "current",
		acceptedBy: "iroh after 1.0.3 as shown; iroh 0.97.0 to 1.0.3 read data abcd and keep the hidden padding", note: "legacy inline data with non-zero padding"},
	{name: "legacy-heap-short", payload: p("00", idA, "01 02 07 01 02 abcd"), decoded: decodedJSON(idA, `{"type":"custom","id":7,"data":"02"}`), canonical: false, encoding: "current",
		acceptedBy: "iroh after 1.0.3 as shown; iroh 0.97.0 to 1.0.3 read data abcd stored on the heap", note: "legacy heap form for data of 30 bytes or less"},
	{name: "relay-non-special-scheme", payload: p("00", idA, "01", "00 0a", hex.EncodeToString([]byte("iroh:relay"))), decoded: decodedJSON(idA, `{"type":"relay","url":"iroh:relay"}`), canonical: true, note: "any absolute URL is a relay URL to iroh"},

	// ---- invalid: text ----------------------------------------------------------------------
	{name: "empty-string", text: "", kind: ticket.WrongPrefix},
	{name: "other-ticket-kind", text: "blob" + textShort[len("endpoint"):], kind: ticket.WrongPrefix},
	{name: "uppercase-prefix", text: "ENDPOINT" + textShort[len("endpoint"):], kind: ticket.WrongPrefix, note: "the prefix is case-sensitive"},
	{name: "leading-space", text: " " + textShort, kind: ticket.WrongPrefix},
	{name: "legacy-node-ticket", text: "node" + key.EncodeBase32(mustHex(p("00", idA, "00 01 00 c0a800ba bdea03"))), kind: ticket.LegacyNodeTicket, note: "NodeTicket of iroh 0.93: node id, no relay, one IPv4 address"},
	{name: "base32-bad-char", text: textShort[:20] + "1" + textShort[21:], kind: ticket.BadBase32},
	{name: "base32-padding", text: textShort + "=", kind: ticket.BadBase32},
	{name: "base32-trailing-bits", text: textShort[:len(textShort)-1] + "b", kind: ticket.BadBase32, note: "non-zero unused bits in the last character"},
	{name: "base32-impossible-length", text: textShort[:len(textShort)-1], kind: ticket.BadBase32},
	{name: "base32-newline", text: textShort[:30] + "\n" + textShort[30:], kind: ticket.BadBase32},
	{name: "base32-non-ascii", text: textShort[:30] + "ſ" + textShort[32:], kind: ticket.BadBase32, note: "U+017F uppercases to S in Unicode, not in ASCII"},

	// ---- invalid: bytes ---------------------------------------------------------------------
	{name: "empty-payload", text: "endpoint", kind: ticket.Truncated},
	{name: "unknown-ticket-variant", payload: p("01", idA, "00"), kind: ticket.UnknownTicketVariant},
	{name: "truncated-id", payload: p("00", idA[:32]), kind: ticket.Truncated},
	{name: "truncated-count", payload: p("00", idA), kind: ticket.Truncated},
	{name: "truncated-relay", payload: p("00", idA, "01 00 10", hex.EncodeToString([]byte("http://derp"))), kind: ticket.Truncated},
	{name: "truncated-ipv4", payload: p("00", idA, "01 01 00 7f00"), kind: ticket.Truncated},
	{name: "truncated-port", payload: p("00", idA, "01 01 00 7f000001"), kind: ticket.Truncated},
	{name: "truncated-port-varint", payload: p("00", idA, "01 01 00 7f000001 80"), kind: ticket.Truncated},
	{name: "count-exceeds-addrs", payload: p("00", idA, "02", ip4Local), kind: ticket.Truncated},
	{name: "count-exceeds-bytes", payload: p("00", idA, "ffff03", ip4Local), kind: ticket.Truncated},
	{name: "truncated-custom-data", payload: p("00", idA, "01 02 05 04 0001"), kind: ticket.Truncated},

	{name: "not-ed25519-point", payload: p("00 02", zeros(31), "00"), kind: ticket.NotEd25519Point, note: "y = 2 has no x on the curve"},
	{name: "unknown-addr-variant", payload: p("00", idA, "01 03 00"), kind: ticket.UnknownAddrVariant},
	{name: "unknown-addr-variant-128", payload: p("00", idA, "01 80 01 00"), kind: ticket.UnknownAddrVariant, note: "variant 80 01 = 128, not 0"},
	{name: "unknown-ip-family", payload: p("00", idA, "01 01 02 7f000001 00"), kind: ticket.UnknownIPFamily},
	{name: "varint-overflow-count", payload: p("00", idA, "ffffffffffffffffff7f"), kind: ticket.VarintOverflow, note: "10th byte above 01 overflows usize"},
	{name: "varint-overflow-ticket-variant", payload: p("ffffffff1f", idA, "00"), kind: ticket.VarintOverflow, note: "5th byte above 0f overflows u32"},
	{name: "varint-overflow-too-long", payload: p("00", idA, "8080808080808080808000"), kind: ticket.VarintOverflow, note: "11-byte varint"},
	{name: "varint-overflow-custom-id", payload: p("00", idA, "01 02 ffffffffffffffffff02 00"), kind: ticket.VarintOverflow},
	{name: "port-out-of-range", payload: p("00", idA, "01 01 00 7f000001 808004"), kind: ticket.PortOutOfRange, note: "65536"},
	{name: "port-varint-too-long", payload: p("00", idA, "01 01 00 7f000001 80808000"), kind: ticket.PortOutOfRange, note: "4-byte varint for a u16"},
	{name: "relay-bad-utf8", payload: p("00", idA, "01 00 02 fffe"), kind: ticket.BadUTF8},
	{name: "relay-not-absolute", payload: p("00", idA, "01 00 04", hex.EncodeToString([]byte("derp"))), kind: ticket.BadRelayURL},
	{name: "relay-no-host", payload: p("00", idA, "01 00 07", hex.EncodeToString([]byte("http://"))), kind: ticket.BadRelayURL},
	{name: "relay-space", payload: p("00", idA, "01 00 0b", hex.EncodeToString([]byte("http://a b/"))), kind: ticket.BadRelayURL},
	{name: "legacy-inline-size-31-then-more", payload: p("00", idA, "02 02 07 00 1f", zeros(30), "07"), kind: ticket.BadCustomAddr,
		note: "no reading consumes it: as current, the second address has variant 31; as legacy, the inline size is above 30"},
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func corpusBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	seen := map[string]bool{}
	for _, c := range corpusCases {
		if seen[c.name] {
			t.Fatalf("case name %s used twice", c.name)
		}
		seen[c.name] = true
		line, err := json.Marshal(c.entry())
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// TestCorpusFileIsCurrent keeps fixtures/tickets/corpus.jsonl equal to the case table
// (regenerate with: go test ./iroh/ticket -run TestCorpusFileIsCurrent -update).
func TestCorpusFileIsCurrent(t *testing.T) {
	path, err := tickettest.CorpusPath()
	if err != nil {
		t.Fatal(err)
	}
	want := corpusBytes(t)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the case table; rerun with -update", path)
	}
}

func TestCorpus(t *testing.T) {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	encodings := map[string]bool{}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			tk, err := ticket.Parse(e.Ticket)
			if !e.Valid {
				if err == nil {
					t.Fatalf("accepted: %s", mustJSON(t, tk))
				}
				if got := string(ticket.KindOf(err)); got != e.ErrorKind {
					t.Fatalf("error kind %s, want %s (%v)", got, e.ErrorKind, err)
				}
				kinds[e.ErrorKind] = true
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !jsonEqual(t, mustJSON(t, tk), e.Decoded) {
				t.Fatalf("decoded\n got %s\nwant %s", mustJSON(t, tk), e.Decoded)
			}
			if canonical := tk.String() == e.Ticket; canonical != *e.Canonical {
				t.Fatalf("canonical = %v, want %v (re-encoded %s)", canonical, *e.Canonical, tk.String())
			}
			gotEnc := ""
			if tk.HasCustom() {
				gotEnc = tk.CustomEncoding.String()
			}
			if gotEnc != e.CustomEncoding {
				t.Fatalf("custom encoding %q, want %q", gotEnc, e.CustomEncoding)
			}
			encodings[gotEnc] = true
			// The re-encoded ticket is canonical: it reads back to itself.
			again, err := ticket.Parse(tk.String())
			if err != nil || again.String() != tk.String() || !again.Equal(tk) || again.CustomEncoding != tk.CustomEncoding {
				t.Fatalf("re-encoding does not round-trip: %v", err)
			}
		})
	}
	kinds[string(ticket.TrailingBytes)] = true // only ParseStrict reports it: TestParseStrict
	for _, k := range ticket.ErrorKinds {
		if !kinds[string(k)] {
			t.Errorf("no corpus entry has error kind %s", k)
		}
	}
	for _, enc := range []string{"", "current", "legacy"} {
		if !encodings[enc] {
			t.Errorf("no valid corpus entry with custom encoding %q", enc)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestParseStrict: iroh ignores bytes after the last address; the strict reading names them.
func TestParseStrict(t *testing.T) {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name, "trailing-bytes") {
			continue
		}
		seen++
		tk, err := ticket.Parse(e.Ticket)
		if err != nil || len(tk.Trailing) == 0 {
			t.Fatalf("%s: Parse = %v, trailing %x; want accepted with trailing bytes", e.Name, err, tk.Trailing)
		}
		if _, err := ticket.ParseStrict(e.Ticket); ticket.KindOf(err) != ticket.TrailingBytes {
			t.Fatalf("%s: ParseStrict = %v, want %s", e.Name, err, ticket.TrailingBytes)
		}
		if _, err := ticket.ParseStrict(tk.String()); err != nil {
			t.Fatalf("%s: the re-encoded ticket has no trailing bytes, ParseStrict = %v", e.Name, err)
		}
	}
	if seen == 0 {
		t.Fatal("no trailing-bytes entries in the corpus")
	}
}
