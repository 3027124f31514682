package dissect

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"sort"
	"time"

	"github.com/irohconf/irohconf/wire/faults"
)

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom, _ = hex.DecodeString("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

// ed25519SPKIPrefix starts the DER SubjectPublicKeyInfo of an Ed25519 key (44 bytes in all).
var ed25519SPKIPrefix, _ = hex.DecodeString("302a300506032b6570032100")

// analyzer builds the connections from the datagrams, in capture order.
type analyzer struct {
	w     *Wire
	conns map[int]*connState
	order []int
}

type connState struct {
	c *Connection
	// streamEnd is the highest offset each side sent on each stream, cryptoEnd in each packet
	// number space's CRYPTO stream: for retransmissions.
	streamEnd map[Side]map[uint64]uint64
	cryptoEnd map[Side]map[string]uint64
	streams   map[uint64]*Stream
	addrs     map[string]bool
	// amp: datagrams for the address validation check, in capture order.
	amp []ampEvent
}

type ampEvent struct {
	frame     int
	by        Side
	at        time.Time // sent (server) or delivered (client)
	bytes     int
	delivered bool
	handshake bool // a client datagram with a Handshake packet
}

func newAnalyzer(w *Wire) *analyzer {
	return &analyzer{w: w, conns: map[int]*connState{}}
}

func (a *analyzer) rel(t time.Time) float64 { return t.Sub(a.w.Start).Seconds() }

func (a *analyzer) add(d *datagram) {
	w := a.w
	if w.Frames == 0 {
		w.Start = d.Time
	}
	w.Frames++
	dir := faults.ClientToServer.String()
	if d.By == Server {
		dir = faults.ServerToClient.String()
	}
	if w.RelayActions[dir] == nil {
		w.RelayActions[dir] = map[string]int{}
	}
	w.RelayActions[dir][d.Decision.Action().String()]++
	for _, p := range d.Packets {
		if !p.Decrypted {
			w.Undecrypted++
			if len(w.UndecryptedFrames) < 20 && (len(w.UndecryptedFrames) == 0 || w.UndecryptedFrames[len(w.UndecryptedFrames)-1] != d.N) {
				w.UndecryptedFrames = append(w.UndecryptedFrames, d.N)
			}
		}
	}
	if len(d.Packets) == 0 {
		return
	}
	for _, p := range d.Packets {
		if !p.Decrypted {
			a.conn(p.Conn, d).c.Undecrypted++
		}
	}
	cs := a.conn(d.Packets[0].Conn, d)
	c := cs.c
	c.LastFrame, c.End = d.N, a.rel(d.Time)
	if d.By == Client && !cs.addrs[d.Src.String()] {
		cs.addrs[d.Src.String()] = true
		c.ClientAddrs = append(c.ClientAddrs, AddrSeen{Addr: d.Src.String(), Frame: d.N})
	}
	dg := c.Datagrams[d.By]
	if dg.Count == 0 || d.Size < dg.Min {
		dg.Min = d.Size
	}
	dg.Count++
	dg.Bytes += d.Size
	dg.Max = max(dg.Max, d.Size)
	delivered := !d.Decision.Drop
	if !delivered {
		dg.Dropped++
	}
	ev := ampEvent{frame: d.N, by: d.By, at: d.Time, bytes: d.Size, delivered: delivered}
	if d.By == Client {
		ev.at = d.Time.Add(d.Decision.Delay)
	}
	for _, p := range d.Packets {
		if p.Type == "Handshake" && d.By == Client {
			ev.handshake = true
		}
		if p.Type == "0-RTT" {
			c.ZeroRTT.Packets++
			c.ZeroRTT.Bytes += p.Length
		}
		if c.Version == "" && d.By == Client && p.Type == "Initial" {
			c.Version = "0x00000001"
		}
		for _, h := range p.Handshake {
			a.handshake(c, d, p, h)
		}
		for _, f := range p.Frames {
			a.frame(cs, d, p, f)
		}
	}
	cs.amp = append(cs.amp, ev)
}

func (a *analyzer) conn(n int, d *datagram) *connState {
	if cs, ok := a.conns[n]; ok {
		return cs
	}
	cs := &connState{
		c: &Connection{
			Number: n, FirstFrame: d.N, Start: a.rel(d.Time),
			TransportParameters: map[Side]*TransportParameters{},
			Datagrams:           map[Side]*Datagrams{Client: {}, Server: {}},
			Retransmitted:       map[Side]int{Client: 0, Server: 0},
			RetransmittedCrypto: map[Side]int{Client: 0, Server: 0},
			FrameCounts:         map[Side]map[string]int{Client: {}, Server: {}},
			Handshake:           Handshake{ClientCertType: -1, ServerCertType: -1},
		},
		streamEnd: map[Side]map[uint64]uint64{Client: {}, Server: {}},
		cryptoEnd: map[Side]map[string]uint64{Client: {}, Server: {}},
		streams:   map[uint64]*Stream{},
		addrs:     map[string]bool{},
	}
	a.conns[n] = cs
	a.order = append(a.order, n)
	return cs
}

func (a *analyzer) frame(cs *connState, d *datagram, p *packet, f qframe) {
	c := cs.c
	c.FrameCounts[d.By][frameName(f.Type)]++
	ev := Event{Frame: d.N, Time: a.rel(d.Time), By: d.By}
	switch name := frameName(f.Type); name {
	case "PING":
		c.Pings = append(c.Pings, ev)
	case "PATH_CHALLENGE":
		c.PathChallenges = append(c.PathChallenges, ev)
	case "PATH_RESPONSE":
		c.PathResponses = append(c.PathResponses, ev)
	case "CRYPTO":
		off, _ := num(f.n, "quic.crypto.offset")
		l, _ := num(f.n, "quic.crypto.length")
		space := p.Type
		if prev, ok := cs.cryptoEnd[d.By][space]; ok && off < prev && l > 0 {
			c.RetransmittedCrypto[d.By]++
		}
		cs.cryptoEnd[d.By][space] = max(cs.cryptoEnd[d.By][space], off+l)
	case "HANDSHAKE_DONE":
		if c.Handshake.DoneFrame == 0 {
			c.Handshake.DoneFrame = d.N
		}
	case "CONNECTION_CLOSE":
		cl := closeOf(f)
		cl.Frame, cl.Time, cl.By, cl.Packet = d.N, ev.Time, d.By, p.Type
		if d.Decision.Action() != faults.Forwarded || d.Decision.Reason != "" {
			cl.Relay = d.Relay
		}
		c.Closes = append(c.Closes, cl)
	case "STREAM":
		id, off, l, fin := streamFrame(f)
		st := cs.stream(id, d, ev.Time)
		st.LastFrame, st.Last = d.N, ev.Time
		end := off + l
		if prev, ok := cs.streamEnd[d.By][id]; ok && off < prev && l > 0 {
			c.Retransmitted[d.By]++
		}
		cs.streamEnd[d.By][id] = max(cs.streamEnd[d.By][id], end)
		st.Bytes[d.By] = max(st.Bytes[d.By], end)
		if fin {
			st.Fin[d.By] = true
		}
	case "RESET_STREAM", "STOP_SENDING":
		key, codeKey, kind := "quic.rsts.stream_id", "quic.rsts.application_error_code", "reset"
		if name == "STOP_SENDING" {
			key, codeKey, kind = "quic.ss.stream_id", "quic.ss.application_error_code", "stop_sending"
		}
		id, _ := num(f.n, key)
		code, _ := num(f.n, codeKey)
		st := cs.stream(id, d, ev.Time)
		st.LastFrame, st.Last = d.N, ev.Time
		st.Resets = append(st.Resets, StreamSignal{Frame: d.N, By: d.By, Kind: kind, Code: code})
	}
}

func (cs *connState) stream(id uint64, d *datagram, t float64) *Stream {
	if st, ok := cs.streams[id]; ok {
		return st
	}
	st := &Stream{ID: id, Initiator: Client, Bidi: id&0x2 == 0, FirstFrame: d.N, First: t,
		Bytes: map[Side]uint64{}, Fin: map[Side]bool{}}
	if id&0x1 != 0 {
		st.Initiator = Server
	}
	cs.streams[id] = st
	cs.c.Streams = append(cs.c.Streams, st)
	return st
}

// handshake reads one TLS handshake message.
func (a *analyzer) handshake(c *Connection, d *datagram, p *packet, msg node) {
	h := &c.Handshake
	t, _ := num(msg, "tls.handshake.type")
	exts := extensions(msg)
	switch t {
	case 1: // ClientHello
		if h.ClientHelloFrame != 0 {
			return // a retransmission or the second ClientHello after a HelloRetryRequest
		}
		h.ClientHelloFrame = d.N
		h.ClientHelloCryptoFrames = 1
		if frag := findAll(p.n, "quic.crypto.fragment.count"); len(frag) > 0 {
			if n, ok := num(frag[0], "quic.crypto.fragment.count"); ok {
				h.ClientHelloCryptoFrames = int(n)
			}
		}
		for _, cs := range findAll(msg, "tls.handshake.ciphersuite") {
			for _, s := range strs(cs, "tls.handshake.ciphersuite") {
				if v, ok := parseNum(s); ok {
					h.OfferedCipherSuites = append(h.OfferedCipherSuites, tls.CipherSuiteName(uint16(v)))
				}
			}
		}
		for typ, ext := range exts {
			switch typ {
			case 0:
				h.SNI = firstStr(ext, "tls.handshake.extensions_server_name")
			case 16:
				h.OfferedALPNs = allStrs(ext, "tls.handshake.extensions_alpn_str")
			case 10:
				for _, s := range allStrs(ext, "tls.handshake.extensions_supported_group") {
					h.OfferedGroups = append(h.OfferedGroups, groupName(s))
				}
			case 51:
				for _, s := range allStrs(ext, "tls.handshake.extensions_key_share_group") {
					h.KeyShares = append(h.KeyShares, groupName(s))
				}
			case 13:
				for _, s := range allStrs(ext, "tls.handshake.sig_hash_alg") {
					h.OfferedSignatures = append(h.OfferedSignatures, sigName(s))
				}
			case 19:
				h.OfferedClientCertTypes = certTypes(ext)
			case 20:
				h.OfferedServerCertTypes = certTypes(ext)
			case 57:
				c.TransportParameters[Client] = transportParameters(ext, d.N)
			}
		}
	case 2: // ServerHello or HelloRetryRequest
		if bytes.Equal(hexBytes(str(msg, "tls.handshake.random")), helloRetryRandom) {
			h.HelloRetryRequest = true
			return
		}
		if h.ServerHelloFrame != 0 {
			return
		}
		h.ServerHelloFrame = d.N
		if v, ok := num(msg, "tls.handshake.ciphersuite"); ok {
			h.CipherSuite = tls.CipherSuiteName(uint16(v))
		}
		if ext, ok := exts[51]; ok {
			h.Group = groupName(firstStr(ext, "tls.handshake.extensions_key_share_group"))
		}
	case 8: // EncryptedExtensions
		if h.EncryptedExtensionsFrame != 0 {
			return
		}
		h.EncryptedExtensionsFrame = d.N
		if ext, ok := exts[16]; ok {
			h.ALPN = firstStr(ext, "tls.handshake.extensions_alpn_str")
		}
		if ext, ok := exts[19]; ok {
			if ts := certTypes(ext); len(ts) > 0 {
				h.ClientCertType = ts[0]
			}
		}
		if ext, ok := exts[20]; ok {
			if ts := certTypes(ext); len(ts) > 0 {
				h.ServerCertType = ts[0]
			}
		}
		if ext, ok := exts[57]; ok {
			c.TransportParameters[Server] = transportParameters(ext, d.N)
		}
	case 13: // CertificateRequest
		if ext, ok := exts[13]; ok && h.CertificateRequestSignatures == nil {
			for _, s := range allStrs(ext, "tls.handshake.sig_hash_alg") {
				h.CertificateRequestSignatures = append(h.CertificateRequestSignatures, sigName(s))
			}
		}
	case 11: // Certificate
		cert := hexBytes(str(msg, "tls.handshake.certificate"))
		var key string
		if len(cert) == 44 && bytes.HasPrefix(cert, ed25519SPKIPrefix) {
			key = hex.EncodeToString(cert[12:])
		}
		if d.By == Server {
			h.ServerKey, h.ServerCertificateFrame = key, d.N
		} else {
			h.ClientKey, h.ClientCertificateFrame = key, d.N
		}
	case 15: // CertificateVerify
		s := sigName(str(msg, "tls.handshake.sig_hash_alg"))
		if d.By == Server {
			h.ServerSignature = s
		} else {
			h.ClientSignature = s
		}
	case 20: // Finished
		if d.By == Server {
			h.ServerFinished = true
		} else {
			h.ClientFinished = true
		}
	}
}

// extensions maps a handshake message's extensions by type.
func extensions(msg node) map[uint64]node {
	out := map[uint64]node{}
	for _, v := range msg {
		for _, e := range list(v) {
			if en, ok := e.(node); ok {
				if t, ok := num(en, "tls.handshake.extension.type"); ok {
					out[t] = en
				}
			}
		}
	}
	return out
}

func firstStr(v any, key string) string {
	if s := allStrs(v, key); len(s) > 0 {
		return s[0]
	}
	return ""
}

func allStrs(v any, key string) []string {
	var out []string
	for _, n := range findAll(v, key) {
		out = append(out, strs(n, key)...)
	}
	return out
}

func certTypes(ext node) []int {
	var out []int
	for _, s := range allStrs(ext, "tls.handshake.cert_type.type") {
		if v, ok := parseNum(s); ok {
			out = append(out, int(v))
		}
	}
	return out
}

func groupName(s string) string {
	v, ok := parseNum(s)
	if !ok {
		return s
	}
	return tls.CurveID(v).String()
}

func sigName(s string) string {
	v, ok := parseNum(s)
	if !ok {
		return s
	}
	return tls.SignatureScheme(v).String()
}

// transportParameterNames names the parameters kept in Others.
var transportParameterNames = map[uint64]string{
	0x00: "original_destination_connection_id", 0x02: "stateless_reset_token",
	0x0d: "preferred_address", 0x0f: "initial_source_connection_id",
	0x10: "retry_source_connection_id", 0x11: "version_information",
	0x2ab2: "grease_quic_bit", 0x3e: "initial_max_path_id", 0xff04de1b: "min_ack_delay",
	0x3d7f91120401: "n0_nat_traversal",
}

func transportParameters(ext node, frame int) *TransportParameters {
	tp := &TransportParameters{Frame: frame}
	for _, p := range findAll(ext, "tls.quic.parameter.type") {
		id, _ := num(p, "tls.quic.parameter.type")
		raw := str(p, "tls.quic.parameter.value")
		val := hexBytes(raw)
		field := map[uint64]**uint64{
			0x01: &tp.MaxIdleTimeout, 0x03: &tp.MaxUDPPayloadSize, 0x04: &tp.InitialMaxData,
			0x05: &tp.InitialMaxStreamDataBidiLocal, 0x06: &tp.InitialMaxStreamDataBidiRemote,
			0x07: &tp.InitialMaxStreamDataUni, 0x08: &tp.InitialMaxStreamsBidi,
			0x09: &tp.InitialMaxStreamsUni, 0x0a: &tp.AckDelayExponent, 0x0b: &tp.MaxAckDelay,
			0x0e: &tp.ActiveConnectionIDLimit, 0x20: &tp.MaxDatagramFrameSize,
		}[id]
		if field != nil {
			if v, ok := varint(val); ok {
				*field = &v
				continue
			}
		}
		if id == 0x0c {
			tp.DisableActiveMigration = true
			continue
		}
		name := transportParameterNames[id]
		if name == "" && id >= 27 && (id-27)%31 == 0 {
			name = "GREASE"
		}
		tp.Others = append(tp.Others, Parameter{ID: id, Name: name, Value: hex.EncodeToString(val)})
	}
	sort.SliceStable(tp.Others, func(i, j int) bool { return tp.Others[i].ID < tp.Others[j].ID })
	return tp
}

// varint decodes a whole QUIC variable-length integer (RFC 9000 §16).
func varint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 1 << (b[0] >> 6)
	if len(b) != n {
		return 0, false
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:] {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// finish completes what needs the whole capture.
func (a *analyzer) finish() {
	for _, n := range a.order {
		cs := a.conns[n]
		c := cs.c
		c.MaxConcurrentStreams = maxOverlap(c.Streams)
		c.AddressValidation = addressValidation(cs.amp)
		a.w.Connections = append(a.w.Connections, c)
	}
}

// maxOverlap is the most streams active at once, a stream being active from its first to its
// last frame.
func maxOverlap(streams []*Stream) int {
	type edge struct {
		t     float64
		delta int
	}
	var edges []edge
	for _, s := range streams {
		edges = append(edges, edge{s.First, 1}, edge{s.Last, -1})
	}
	// At equal times a start comes before an end: streams that touch overlap.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].t == edges[j].t {
			return edges[i].delta > edges[j].delta
		}
		return edges[i].t < edges[j].t
	})
	best, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// addressValidation replays the datagrams in time order (client ones when the relay delivered
// them) until the server received a Handshake packet from the client.
func addressValidation(evs []ampEvent) AddressValidation {
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].at.Equal(evs[j].at) {
			return evs[i].by == Client && evs[j].by == Server // received first: the lenient order
		}
		return evs[i].at.Before(evs[j].at)
	})
	var av AddressValidation
	for _, e := range evs {
		if e.by == Client {
			if !e.delivered {
				continue
			}
			av.ClientBytes += e.bytes
			if e.handshake {
				av.ValidatedFrame = e.frame
				return av
			}
			continue
		}
		av.ServerBytes += e.bytes
		if av.ExceededFrame == 0 && av.ServerBytes > 3*av.ClientBytes {
			av.ExceededFrame = e.frame
		}
	}
	return av
}

func isDrop(relay string) bool {
	d, err := faults.ParseDecision(relay)
	return err == nil && d.Drop
}
