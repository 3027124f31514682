package dissect

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/irohconf/irohconf/wire/faults"
)

// datagram is one frame of the capture as tshark dissected it.
type datagram struct {
	N        int
	Time     time.Time
	Src, Dst netip.AddrPort
	By       Side // who sent it
	Size     int  // UDP payload bytes
	Relay    string
	Decision faults.Decision
	Packets  []*packet
}

// packet is one QUIC packet of a datagram (datagrams may coalesce several).
type packet struct {
	Conn      int
	Type      string // Initial, 0-RTT, Handshake, Retry, 1-RTT, VersionNegotiation
	PN        int64  // -1 when unknown (not decrypted)
	Length    int
	Decrypted bool
	Frames    []qframe
	Handshake []node // TLS handshake messages completed in this packet
	n         node
}

type qframe struct {
	Type uint64
	n    node
}

var longTypes = [...]string{"Initial", "0-RTT", "Handshake", "Retry"}

// parseDatagram reads one frame of tshark's output.
func parseDatagram(layers node, server netip.AddrPort) (*datagram, error) {
	fr := nodes(layers, "frame")
	if len(fr) == 0 {
		return nil, fmt.Errorf("dissect: a frame without frame fields")
	}
	n, _ := num(fr[0], "frame.number")
	d := &datagram{N: int(n)}
	epoch := str(fr[0], "frame.time_epoch")
	t, err := parseEpoch(epoch)
	if err != nil {
		return nil, fmt.Errorf("dissect: frame %d: time %q: %w", d.N, epoch, err)
	}
	d.Time = t
	var src, dst netip.Addr
	if ip := nodes(layers, "ip"); len(ip) > 0 {
		src, _ = netip.ParseAddr(str(ip[0], "ip.src"))
		dst, _ = netip.ParseAddr(str(ip[0], "ip.dst"))
	} else if ip := nodes(layers, "ipv6"); len(ip) > 0 {
		src, _ = netip.ParseAddr(str(ip[0], "ipv6.src"))
		dst, _ = netip.ParseAddr(str(ip[0], "ipv6.dst"))
	}
	udp := nodes(layers, "udp")
	if len(udp) == 0 {
		return nil, fmt.Errorf("dissect: frame %d is not UDP", d.N)
	}
	sp, _ := num(udp[0], "udp.srcport")
	dp, _ := num(udp[0], "udp.dstport")
	ulen, _ := num(udp[0], "udp.length")
	d.Src, d.Dst = netip.AddrPortFrom(src, uint16(sp)), netip.AddrPortFrom(dst, uint16(dp))
	d.Size = int(ulen) - 8
	d.By = Server
	if d.Dst == server {
		d.By = Client
	}
	if c := nodes(layers, "pkt_comment"); len(c) > 0 {
		d.Relay = str(c[0], "frame.comment")
		if d.Decision, err = faults.ParseDecision(d.Relay); err != nil {
			return nil, fmt.Errorf("dissect: frame %d: the relay's comment: %w", d.N, err)
		}
	}
	conn := -1
	for _, q := range nodes(layers, "quic") {
		p := parsePacket(q)
		if p.Conn >= 0 {
			conn = p.Conn
		}
		p.Conn = conn
		d.Packets = append(d.Packets, p)
	}
	return d, nil
}

func parseEpoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	frac = (frac + "000000000")[:9]
	nanos, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(secs, nanos).UTC(), nil
}

func parsePacket(q node) *packet {
	p := &packet{Conn: -1, PN: -1, n: q}
	for _, ci := range nodes(q, "QUIC Connection information") {
		if c, ok := num(ci, "quic.connection.number"); ok {
			p.Conn = int(c)
		}
	}
	if l, ok := num(q, "quic.packet_length"); ok {
		p.Length = int(l)
	}
	hdr := q
	if sh := nodes(q, "quic.short"); len(sh) > 0 {
		p.Type, hdr = "1-RTT", sh[0]
	} else if v := str(q, "quic.version"); v == "0x00000000" {
		p.Type = "VersionNegotiation"
	} else if lt, ok := num(q, "quic.long.packet_type"); ok && lt < uint64(len(longTypes)) {
		p.Type = longTypes[lt]
	} else {
		p.Type = "unknown"
	}
	if pn, ok := num(hdr, "quic.packet_number"); ok {
		p.PN = int64(pn)
	}
	for _, f := range nodes(q, "quic.frame") {
		if t, ok := num(f, "quic.frame_type"); ok {
			p.Frames = append(p.Frames, qframe{Type: t, n: f})
			if strings.HasPrefix(frameName(t), "FRAME_") {
				// tshark does not know its length (a QUIC extension's frame, e.g. multipath's
				// PATH_ACK): what it reads after it is not frames.
				break
			}
		}
	}
	failed := len(findAll(q, "quic.decryption_failed")) > 0
	p.Decrypted = !failed && (len(p.Frames) > 0 || p.Type == "VersionNegotiation" || p.Type == "Retry")
	if !p.Decrypted {
		p.PN = -1 // its header protection may not have been removed either
	}
	p.Handshake = findAll(q, "tls.handshake.type")
	return p
}

// frameName is a QUIC frame type's name (RFC 9000 §19, RFC 9221).
func frameName(t uint64) string {
	switch {
	case t >= 0x08 && t <= 0x0f:
		return "STREAM"
	case t == 0x30 || t == 0x31:
		return "DATAGRAM"
	}
	if n, ok := map[uint64]string{
		0x00: "PADDING", 0x01: "PING", 0x02: "ACK", 0x03: "ACK", 0x04: "RESET_STREAM",
		0x05: "STOP_SENDING", 0x06: "CRYPTO", 0x07: "NEW_TOKEN", 0x10: "MAX_DATA",
		0x11: "MAX_STREAM_DATA", 0x12: "MAX_STREAMS", 0x13: "MAX_STREAMS", 0x14: "DATA_BLOCKED",
		0x15: "STREAM_DATA_BLOCKED", 0x16: "STREAMS_BLOCKED", 0x17: "STREAMS_BLOCKED",
		0x18: "NEW_CONNECTION_ID", 0x19: "RETIRE_CONNECTION_ID", 0x1a: "PATH_CHALLENGE",
		0x1b: "PATH_RESPONSE", 0x1c: "CONNECTION_CLOSE", 0x1d: "CONNECTION_CLOSE",
		0x1e: "HANDSHAKE_DONE",
	}[t]; ok {
		return n
	}
	return fmt.Sprintf("FRAME_%#x", t)
}

// handshakeName is a TLS handshake message type's name.
func handshakeName(t uint64) string {
	if n, ok := map[uint64]string{
		1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
		8: "EncryptedExtensions", 11: "Certificate", 13: "CertificateRequest",
		15: "CertificateVerify", 20: "Finished", 24: "KeyUpdate",
	}[t]; ok {
		return n
	}
	return fmt.Sprintf("Handshake(%d)", t)
}

// streamFrame reads a STREAM frame.
func streamFrame(f qframe) (id, off, length uint64, fin bool) {
	id, _ = num(f.n, "quic.stream.stream_id")
	off, _ = num(f.n, "quic.stream.offset")
	if l, ok := num(f.n, "quic.stream.length"); ok {
		length = l
	} else if s := str(f.n, "quic.stream_data"); s != "" {
		length = uint64(len(s)+1) / 3 // "aa:bb:cc"
	}
	return id, off, length, f.Type&0x01 != 0
}

// label is a frame in a few characters for the frame log.
func (f qframe) label() string {
	name := frameName(f.Type)
	switch name {
	case "STREAM":
		id, off, l, fin := streamFrame(f)
		s := fmt.Sprintf("STREAM(%d@%d+%d", id, off, l)
		if fin {
			s += ",FIN"
		}
		return s + ")"
	case "ACK":
		if la, ok := num(f.n, "quic.ack.largest_acknowledged"); ok {
			return fmt.Sprintf("ACK(%d)", la)
		}
	case "CONNECTION_CLOSE":
		c := closeOf(f)
		return fmt.Sprintf("CONNECTION_CLOSE(%#x %#x %q)", c.FrameType, c.Code, c.Reason)
	case "CRYPTO":
		var msgs []string
		for _, h := range findAll(f.n, "tls.handshake.type") {
			t, _ := num(h, "tls.handshake.type")
			msgs = append(msgs, handshakeName(t))
		}
		if len(msgs) > 0 {
			return "CRYPTO(" + strings.Join(msgs, ",") + ")"
		}
	}
	return name
}

// closeOf reads a CONNECTION_CLOSE frame.
func closeOf(f qframe) Close {
	c := Close{FrameType: f.Type, TLSAlert: -1, Reason: str(f.n, "quic.cc.reason_phrase")}
	if f.Type == 0x1d {
		c.Code, _ = num(f.n, "quic.cc.error_code.app")
	} else {
		c.Code, _ = num(f.n, "quic.cc.error_code")
		c.TriggerFrameType, _ = num(f.n, "quic.cc.frame_type")
		if c.Code >= 0x100 && c.Code <= 0x1ff {
			c.TLSAlert = int(c.Code - 0x100)
		}
	}
	return c
}

// logLine is the datagram's line in the frame log.
func (d *datagram) logLine(start time.Time) string {
	var b strings.Builder
	dir := "c>s"
	if d.By == Server {
		dir = "s>c"
	}
	fmt.Fprintf(&b, "%6d %10.6f %s %5d ", d.N, d.Time.Sub(start).Seconds(), dir, d.Size)
	for i, p := range d.Packets {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(p.Type)
		if p.PN >= 0 {
			fmt.Fprintf(&b, "#%d", p.PN)
		}
		if !p.Decrypted {
			b.WriteString(" [not decrypted]")
			continue
		}
		var labels []string
		for _, f := range p.Frames {
			labels = append(labels, f.label())
		}
		b.WriteString(" [" + strings.Join(collapse(labels), " ") + "]")
	}
	if d.Relay != "" {
		b.WriteString("  << relay: " + d.Relay)
	}
	return b.String()
}

// collapse writes runs of the same label once with a count.
func collapse(labels []string) []string {
	var out []string
	for i := 0; i < len(labels); {
		j := i
		for j < len(labels) && labels[j] == labels[i] {
			j++
		}
		if j-i > 1 {
			out = append(out, fmt.Sprintf("%s x%d", labels[i], j-i))
		} else {
			out = append(out, labels[i])
		}
		i = j
	}
	return out
}
