// Package boardlines is the vocabulary of the lines an iroh board prints on its console: the
// lines of the iroh ESP32 examples (which our firmware prints too), our firmware's boot banner
// and STATUS lines, and the answers to console commands. Patterns match a line's text after the
// ESP-IDF prefix and ANSI colours are stripped (console.Line.Text), as substrings.
package boardlines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"

	"github.com/irohconf/irohconf/peercontract"
)

// Patterns, for console.Expect. Submatch 1 is the value where a line carries one.
var (
	EndpointBound = regexp.MustCompile(`Iroh endpoint bound`)
	ListeningOn   = regexp.MustCompile(`Listening on:\s+(\S+)`)
	EndpointID    = regexp.MustCompile(`Endpoint ID:\s+([0-9a-fA-F]{64})\b`)
	ShortTicket   = regexp.MustCompile(`Short ticket:\s+(endpoint[a-z0-9]+)`)
	LongTicket    = regexp.MustCompile(`Long ticket:\s+(endpoint[a-z0-9]+)`)
	RouterStarted = regexp.MustCompile(`Router started, accepting connections`)
	Accepted      = regexp.MustCompile(`Accepted connection from ([0-9a-fA-F]{64})\b`)
	Copied        = regexp.MustCompile(`Copied over (\d+) byte\(s\)`)
	Closed        = regexp.MustCompile(`Connection closed`)
	// EchoFailed and ConnectionEnded are our firmware's warnings when a stream or a connection
	// ends abnormally (docs/board-console.md); submatch 1 is iroh's error text, up to a colour
	// escape.
	EchoFailed      = regexp.MustCompile(`Echo stream failed: ([^\x1b]*)`)
	ConnectionEnded = regexp.MustCompile(`Connection ended: ([^\x1b]*)`)

	// Banner is our firmware's first line: "irohconf-fw <version> boot <n> (reset reason: <r>)".
	Banner = regexp.MustCompile(`irohconf-fw (\S+) boot (\d+) \(reset reason: ([a-z_]+)\)`)
	// Status is our firmware's machine-readable line: "STATUS {json}".
	Status = regexp.MustCompile(`^STATUS (\{.*\})\s*$`)
	// Heap answers the heap command: "HEAP {json}" (HeapInfo).
	Heap = regexp.MustCompile(`^HEAP (\{.*\})\s*$`)
	// Dial is the one result line of a dial command: "DIAL {json}", the peer contract's result.
	Dial           = regexp.MustCompile(`^DIAL (\{.*\})\s*$`)
	Restarting     = regexp.MustCompile(`^Restarting\.\.\.`)
	UnknownCommand = regexp.MustCompile(`^unknown command: (.*) \(try help\)`)
)

// BannerInfo is the parsed boot banner.
type BannerInfo struct {
	Version     string
	Boot        int    // boots since power-on, counted by the firmware
	ResetReason string // poweron, software, panic, int_wdt, task_wdt, wdt, brownout, ...
}

// ParseBanner parses a banner line's text.
func ParseBanner(text string) (BannerInfo, error) {
	m := Banner.FindStringSubmatch(text)
	if m == nil {
		return BannerInfo{}, fmt.Errorf("not a boot banner: %q", text)
	}
	n, err := strconv.Atoi(m[2])
	if err != nil {
		return BannerInfo{}, fmt.Errorf("boot banner %q: boot count: %w", text, err)
	}
	return BannerInfo{Version: m[1], Boot: n, ResetReason: m[3]}, nil
}

// StatusInfo is our firmware's STATUS line (the suites' framework.BoardStatus). Heap figures are
// nil where the platform does not know them (the virtual board without a heap budget).
type StatusInfo struct {
	UptimeMillis      uint64  `json:"uptime_ms"`
	OpenConnections   uint64  `json:"open_connections"`
	ConnectionsServed uint64  `json:"connections_served"`
	BytesEchoed       uint64  `json:"bytes_echoed"`
	HeapFree          *uint64 `json:"heap_free"`
	HeapMin           *uint64 `json:"heap_min"`
}

// ParseStatus parses a STATUS line's text. Every field must be present (heap fields may be
// null); unknown fields are an error, so a firmware that changes the format is noticed.
func ParseStatus(text string) (StatusInfo, error) {
	var st StatusInfo
	err := parseJSONLine(text, "STATUS", Status, &st, "uptime_ms", "open_connections", "connections_served", "bytes_echoed", "heap_free", "heap_min")
	return st, err
}

// HeapInfo is our firmware's HEAP line, the answer to the heap command. A heap window runs from
// one heap command (or the boot) to the next: WindowMin is the lowest free heap in it,
// WindowPeak how far below the window's starting free heap that went (the most heap the work in
// the window took). Figures are nil where the platform does not know them.
type HeapInfo struct {
	HeapFree   *uint64 `json:"heap_free"`
	HeapMin    *uint64 `json:"heap_min"`
	WindowMin  *uint64 `json:"window_min"`
	WindowPeak *uint64 `json:"window_peak"`
}

// ParseHeap parses a HEAP line's text, as strictly as ParseStatus.
func ParseHeap(text string) (HeapInfo, error) {
	var h HeapInfo
	err := parseJSONLine(text, "HEAP", Heap, &h, "heap_free", "heap_min", "window_min", "window_peak")
	return h, err
}

// ParseDial parses a DIAL line's text: the peer contract's result object.
func ParseDial(text string) (peercontract.Result, error) {
	var r peercontract.Result
	err := parseJSONLine(text, "DIAL", Dial, &r, "event", "ok", "endpoint_id", "remote_id", "alpn", "echo_ms", "bytes", "error", "error_code")
	if err == nil && r.Event != "result" {
		err = fmt.Errorf("DIAL line %q: event %q, want result", text, r.Event)
	}
	return r, err
}

// parseJSONLine decodes the JSON object of a "WORD {json}" line into v: the fields named must be
// present, and no field v does not know may be.
func parseJSONLine(text, word string, re *regexp.Regexp, v any, fields ...string) error {
	m := re.FindStringSubmatch(text)
	if m == nil {
		return fmt.Errorf("not a %s line: %q", word, text)
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m[1]), &present); err != nil {
		return fmt.Errorf("%s line %q: %w", word, text, err)
	}
	for _, field := range fields {
		if _, ok := present[field]; !ok {
			return fmt.Errorf("%s line %q: field %q missing", word, text, field)
		}
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(m[1])))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s line %q: %w", word, text, err)
	}
	return nil
}

// ParseListeningOn parses the address of a "Listening on:" line.
func ParseListeningOn(text string) (netip.AddrPort, error) {
	m := ListeningOn.FindStringSubmatch(text)
	if m == nil {
		return netip.AddrPort{}, fmt.Errorf("not a \"Listening on:\" line: %q", text)
	}
	ap, err := netip.ParseAddrPort(m[1])
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("\"Listening on:\" line %q: %w", text, err)
	}
	return ap, nil
}

// ParseCopied parses the byte count of a "Copied over N byte(s)" line.
func ParseCopied(text string) (uint64, error) {
	m := Copied.FindStringSubmatch(text)
	if m == nil {
		return 0, fmt.Errorf("not a \"Copied over\" line: %q", text)
	}
	return strconv.ParseUint(m[1], 10, 64)
}

// Event is one parsed board line.
type Event interface{ event() }

type (
	EndpointBoundEvent    struct{}
	ListeningOnEvent      struct{ Addr netip.AddrPort }
	EndpointIDEvent       struct{ ID string }
	ShortTicketEvent      struct{ Ticket string }
	LongTicketEvent       struct{ Ticket string }
	RouterStartedEvent    struct{}
	AcceptedEvent         struct{ Remote string }
	CopiedEvent           struct{ Bytes uint64 }
	ConnectionClosedEvent struct{}
	EchoFailedEvent       struct{ Reason string }
	ConnectionEndedEvent  struct{ Reason string }
	BannerEvent           struct{ BannerInfo }
	StatusEvent           struct{ StatusInfo }
	HeapEvent             struct{ HeapInfo }
	DialEvent             struct{ Result peercontract.Result }
	RestartingEvent       struct{}
	UnknownCommandEvent   struct{ Command string }
)

func (EndpointBoundEvent) event()    {}
func (ListeningOnEvent) event()      {}
func (EndpointIDEvent) event()       {}
func (ShortTicketEvent) event()      {}
func (LongTicketEvent) event()       {}
func (RouterStartedEvent) event()    {}
func (AcceptedEvent) event()         {}
func (CopiedEvent) event()           {}
func (ConnectionClosedEvent) event() {}
func (EchoFailedEvent) event()       {}
func (ConnectionEndedEvent) event()  {}
func (BannerEvent) event()           {}
func (StatusEvent) event()           {}
func (HeapEvent) event()             {}
func (DialEvent) event()             {}
func (RestartingEvent) event()       {}
func (UnknownCommandEvent) event()   {}

// Parse turns a line's text into an event. It returns nil, nil for lines outside the
// vocabulary, and an error for a line that is in it but malformed (a STATUS line with bad JSON,
// an unparsable address).
func Parse(text string) (Event, error) {
	switch {
	case Banner.MatchString(text):
		b, err := ParseBanner(text)
		return BannerEvent{b}, err
	case Status.MatchString(text):
		st, err := ParseStatus(text)
		return StatusEvent{st}, err
	case Heap.MatchString(text):
		h, err := ParseHeap(text)
		return HeapEvent{h}, err
	case Dial.MatchString(text):
		r, err := ParseDial(text)
		return DialEvent{r}, err
	case EndpointBound.MatchString(text):
		return EndpointBoundEvent{}, nil
	case ListeningOn.MatchString(text):
		ap, err := ParseListeningOn(text)
		return ListeningOnEvent{ap}, err
	case RouterStarted.MatchString(text):
		return RouterStartedEvent{}, nil
	case Closed.MatchString(text):
		return ConnectionClosedEvent{}, nil
	case Restarting.MatchString(text):
		return RestartingEvent{}, nil
	}
	if m := EndpointID.FindStringSubmatch(text); m != nil {
		return EndpointIDEvent{m[1]}, nil
	}
	if m := ShortTicket.FindStringSubmatch(text); m != nil {
		return ShortTicketEvent{m[1]}, nil
	}
	if m := LongTicket.FindStringSubmatch(text); m != nil {
		return LongTicketEvent{m[1]}, nil
	}
	if m := Accepted.FindStringSubmatch(text); m != nil {
		return AcceptedEvent{m[1]}, nil
	}
	if m := EchoFailed.FindStringSubmatch(text); m != nil {
		return EchoFailedEvent{m[1]}, nil
	}
	if m := ConnectionEnded.FindStringSubmatch(text); m != nil {
		return ConnectionEndedEvent{m[1]}, nil
	}
	if m := Copied.FindStringSubmatch(text); m != nil {
		n, err := strconv.ParseUint(m[1], 10, 64)
		return CopiedEvent{n}, err
	}
	if m := UnknownCommand.FindStringSubmatch(text); m != nil {
		return UnknownCommandEvent{m[1]}, nil
	}
	return nil, nil
}
