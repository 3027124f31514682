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

func TestParseHeapAndDial(t *testing.T) {
	h, err := ParseHeap(`HEAP {"heap_free":201000,"heap_min":150000,"window_min":160000,"window_peak":41000}`)
	if err != nil || *h.HeapFree != 201000 || *h.HeapMin != 150000 || *h.WindowMin != 160000 || *h.WindowPeak != 41000 {
		t.Errorf("HEAP: %+v %v", h, err)
	}
	h, err = ParseHeap(`HEAP {"heap_free":null,"heap_min":null,"window_min":null,"window_peak":null}`)
	if err != nil || h.HeapFree != nil || h.WindowPeak != nil {
		t.Errorf("HEAP without a budget: %+v %v", h, err)
	}
	for _, bad := range []string{
		`HEAP {"heap_free":1,"heap_min":1,"window_min":1}`,
		`HEAP {"heap_free":1,"heap_min":1,"window_min":1,"window_peak":1,"largest":1}`,
		`HEAP {"heap_free":-1,"heap_min":1,"window_min":1,"window_peak":1}`,
	} {
		if _, err := ParseHeap(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}

	line := `DIAL {"event":"result","ok":false,"endpoint_id":"` + strings.Repeat("a", 64) + `","remote_id":"` + strings.Repeat("b", 64) +
		`","alpn":"echo/0","handshake_ms":null,"echo_ms":[],"bytes":0,"error":"connect: the server's key is not the ticket's id","error_code":298}`
	r, err := ParseDial(line)
	if err != nil || r.OK || r.ErrorCode == nil || *r.ErrorCode != 298 || r.HandshakeMS != 0 || r.ALPN != "echo/0" {
		t.Errorf("DIAL refused: %+v %v", r, err)
	}
	r, err = ParseDial(`DIAL {"event":"result","ok":true,"endpoint_id":"a","remote_id":"b","alpn":"echo/0","handshake_ms":12.5,"echo_ms":[1.5,2],"bytes":26,"error":"","error_code":null}`)
	if err != nil || !r.OK || r.HandshakeMS != 12.5 || len(r.EchoMS) != 2 || r.Bytes != 26 || r.ErrorCode != nil {
		t.Errorf("DIAL ok: %+v %v", r, err)
	}
	if _, err := ParseDial(`DIAL {"event":"started","ok":true}`); err == nil {
		t.Error("a DIAL line without the result's fields was accepted")
	}
	if ev, err := Parse(line); err != nil {
		t.Errorf("Parse(DIAL): %v", err)
	} else if d, ok := ev.(DialEvent); !ok || d.Result.OK || d.Result.RemoteID != strings.Repeat("b", 64) {
		t.Errorf("Parse(DIAL): %#v", ev)
	}
}
