package framework

import (
	"fmt"
	"sort"
	"strings"

	"github.com/irohconf/irohconf/wire/dissect"
)

// transportParameters are the transport parameters a manifest may declare, by their RFC 9000
// (§18.2) and RFC 9221 names: how to read each from the wire, and its default when absent.
var transportParameters = map[string]struct {
	get func(*dissect.TransportParameters) *uint64
	def uint64
}{
	"max_idle_timeout":                    {func(t *dissect.TransportParameters) *uint64 { return t.MaxIdleTimeout }, 0},
	"max_udp_payload_size":                {func(t *dissect.TransportParameters) *uint64 { return t.MaxUDPPayloadSize }, 65527},
	"initial_max_data":                    {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxData }, 0},
	"initial_max_stream_data_bidi_local":  {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxStreamDataBidiLocal }, 0},
	"initial_max_stream_data_bidi_remote": {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxStreamDataBidiRemote }, 0},
	"initial_max_stream_data_uni":         {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxStreamDataUni }, 0},
	"initial_max_streams_bidi":            {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxStreamsBidi }, 0},
	"initial_max_streams_uni":             {func(t *dissect.TransportParameters) *uint64 { return t.InitialMaxStreamsUni }, 0},
	"ack_delay_exponent":                  {func(t *dissect.TransportParameters) *uint64 { return t.AckDelayExponent }, 3},
	"max_ack_delay":                       {func(t *dissect.TransportParameters) *uint64 { return t.MaxAckDelay }, 25},
	"active_connection_id_limit":          {func(t *dissect.TransportParameters) *uint64 { return t.ActiveConnectionIDLimit }, 2},
	"max_datagram_frame_size":             {func(t *dissect.TransportParameters) *uint64 { return t.MaxDatagramFrameSize }, 0},
}

// TransportParameterNames are the names a manifest may declare, sorted.
func TransportParameterNames() []string {
	names := make([]string, 0, len(transportParameters))
	for n := range transportParameters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TransportParameter is a parameter's value as sent (its RFC default when the sender left it
// out) and whether it was sent.
func TransportParameter(tp *dissect.TransportParameters, name string) (v uint64, sent bool, err error) {
	p, ok := transportParameters[name]
	if !ok {
		return 0, false, fmt.Errorf("unknown transport parameter %q", name)
	}
	if got := p.get(tp); got != nil {
		return *got, true, nil
	}
	return p.def, false, nil
}

// Certificate types a manifest may declare (RFC 7250 numbers).
var certificateTypes = map[string]int{"x509": 0, "raw-public-key": 2}

// CertificateTypeNumbers are the RFC 7250 numbers of the certificate types the peer declares
// (raw-public-key when it declares none).
func (c Crypto) CertificateTypeNumbers() []int {
	names := c.CertificateTypes
	if len(names) == 0 {
		names = []string{"raw-public-key"}
	}
	var out []int
	for _, n := range names {
		out = append(out, certificateTypes[n])
	}
	return out
}

// validateWire checks what a manifest declares about the wire.
func (m Manifest) validateWire() error {
	for name := range m.TransportParameters {
		if _, ok := transportParameters[name]; !ok {
			return fmt.Errorf("manifest %s: unknown transport parameter %q (known: %s)", m.Name, name, strings.Join(TransportParameterNames(), ", "))
		}
	}
	for _, t := range m.Crypto.CertificateTypes {
		if _, ok := certificateTypes[t]; !ok {
			return fmt.Errorf("manifest %s: unknown certificate type %q (raw-public-key, x509)", m.Name, t)
		}
	}
	return nil
}
