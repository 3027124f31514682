package boardlines

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const id = "8a3f5c0e7d1b2a94c6e0f13579bdf2468ace13579bdf02468ace13579bdf0246"

func TestParse(t *testing.T) {
	heap := uint64(131220)
	for text, want := range map[string]Event{
		"Iroh endpoint bound":                                              EndpointBoundEvent{},
		"  Listening on: 192.168.1.77:49731":                               ListeningOnEvent{netip.MustParseAddrPort("192.168.1.77:49731")},
		"  Listening on: [::1]:4433":                                       ListeningOnEvent{netip.MustParseAddrPort("[::1]:4433")},
		"  Endpoint ID: " + id:                                             EndpointIDEvent{id},
		"  Long ticket:  endpointabc234":                                   LongTicketEvent{"endpointabc234"},
		"  Short ticket: endpointxyz":                                      ShortTicketEvent{"endpointxyz"},
		"Router started, accepting connections":                            RouterStartedEvent{},
		"Accepted connection from " + id + " [heap free=1 largest_8bit=2]": AcceptedEvent{id},
		"Copied over 20000 byte(s)":                                        CopiedEvent{20000},
		"Connection closed":                                                ConnectionClosedEvent{},
		"Connection ended: timed out":                                      ConnectionEndedEvent{"timed out"},
		"Echo stream failed: reading the stream: connection lost":          EchoFailedEvent{"reading the stream: connection lost"},
		"Connection ended: aborted by peer: x\x1b[0m":                      ConnectionEndedEvent{"aborted by peer: x"},
		"Restarting...":                                                    RestartingEvent{},
		"unknown command: frob (try help)":                                 UnknownCommandEvent{"frob"},
		"irohconf-fw 0.1.0-3-gabc boot 7 (reset reason: software)":         BannerEvent{BannerInfo{"0.1.0-3-gabc", 7, "software"}},
		`STATUS {"uptime_ms":5,"open_connections":1,"connections_served":2,"bytes_echoed":3,"heap_free":131220,"heap_min":null}`: StatusEvent{StatusInfo{5, 1, 2, 3, &heap, nil}},
		"WiFi connected": nil,
	} {
		got, err := Parse(text)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, want %#v", text, got, want)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for text, want := range map[string]string{
		`STATUS {"uptime_ms":5}`: `field "open_connections" missing`,
		`STATUS {"uptime_ms":5,"open_connections":1,"connections_served":2,"bytes_echoed":3,"heap_free":null,"heap_min":null,"extra":1}`: `unknown field "extra"`,
		`STATUS {"uptime_ms":-5,"open_connections":1,"connections_served":2,"bytes_echoed":3,"heap_free":null,"heap_min":null}`:          "uptime_ms",
		`STATUS {not json}`:           "invalid character",
		"  Listening on: wifi-not-up": "Listening on",
	} {
		_, err := Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want it to say %q", text, err, want)
		}
	}
}

func TestPatternsNeedWholeValues(t *testing.T) {
	if EndpointID.MatchString("Endpoint ID: " + id[:63]) {
		t.Error("a 63-digit id matched")
	}
	if EndpointID.MatchString("Endpoint ID: " + id + "0") {
		t.Error("a 65-digit id matched")
	}
	if Status.MatchString(`I (1) x: STATUS {}`) {
		t.Error("STATUS matched inside a line that still has its prefix")
	}
}
