package capture

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Meta describes a capture; it is written into the section header.
type Meta struct {
	// Server is the address the relay forwards to. Its port is where tshark must decode QUIC.
	Server netip.AddrPort `json:"server"`
	// Relay is the address the client dials.
	Relay netip.AddrPort `json:"relay"`
	// Profile and Seed are the fault profile and its seed.
	Profile string `json:"profile"`
	Seed    uint64 `json:"seed"`
}

// metaPrefix starts the section comment; the JSON of Meta follows it.
const metaPrefix = "irohconf relay capture "

// Packet is one datagram.
type Packet struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Data     []byte
	// Comment is what the relay did (faults.Decision.String).
	Comment string
}

// Writer writes packets to a pcapng stream. It is not safe for concurrent use.
type Writer struct {
	ng  *pcapgo.NgWriter
	buf gopacket.SerializeBuffer
}

// NewWriter writes the section header with meta and one raw-IP interface to w.
func NewWriter(w io.Writer, meta Meta) (*Writer, error) {
	js, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	opts := pcapgo.DefaultNgWriterOptions
	opts.SectionInfo.Application = "irohconf wire/relay"
	opts.SectionInfo.Comment = metaPrefix + string(js)
	intf := pcapgo.DefaultNgInterface
	intf.Name = "relay"
	intf.Description = fmt.Sprintf("datagrams between a client and the server %s, as the server sees the path", meta.Server)
	intf.LinkType = layers.LinkTypeRaw
	ng, err := pcapgo.NewNgWriterInterface(w, intf, opts)
	if err != nil {
		return nil, fmt.Errorf("capture: writing the pcapng header: %w", err)
	}
	return &Writer{ng: ng, buf: gopacket.NewSerializeBuffer()}, nil
}

// Write appends one packet.
func (w *Writer) Write(p Packet) error {
	if p.Src.Addr().Is4() != p.Dst.Addr().Is4() {
		return fmt.Errorf("capture: %s -> %s mixes address families", p.Src, p.Dst)
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(p.Src.Port()), DstPort: layers.UDPPort(p.Dst.Port())}
	var ip gopacket.SerializableLayer
	if p.Src.Addr().Is4() {
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: p.Src.Addr().AsSlice(), DstIP: p.Dst.Addr().AsSlice()}
		_ = udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: p.Src.Addr().AsSlice(), DstIP: p.Dst.Addr().AsSlice()}
		_ = udp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(w.buf, opts, ip, udp, gopacket.Payload(p.Data)); err != nil {
		return fmt.Errorf("capture: building the headers of %s -> %s: %w", p.Src, p.Dst, err)
	}
	data := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(data), Length: len(data)}
	var popts pcapgo.NgPacketOptions
	if p.Comment != "" {
		popts.Comments = []string{p.Comment}
	}
	if err := w.ng.WritePacketWithOptions(ci, data, popts); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error { return w.ng.Flush() }

// ReadMeta reads the Meta from the section header of a capture written by Writer.
func ReadMeta(r io.Reader) (Meta, error) {
	_, m, err := open(r)
	return m, err
}

func open(r io.Reader) (*pcapgo.NgReader, Meta, error) {
	ng, err := pcapgo.NewNgReader(r, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("capture: not a pcapng file: %w", err)
	}
	js, ok := strings.CutPrefix(ng.SectionInfo().Comment, metaPrefix)
	if !ok {
		return nil, Meta{}, errors.New("capture: the section header has no relay description (not written by wire/relay)")
	}
	var m Meta
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		return nil, Meta{}, fmt.Errorf("capture: the relay description: %w", err)
	}
	return ng, m, nil
}

// ReadAll reads back every packet of a capture written by Writer, with its Meta.
func ReadAll(r io.Reader) (Meta, []Packet, error) {
	ng, m, err := open(r)
	if err != nil {
		return Meta{}, nil, err
	}
	var pkts []Packet
	for {
		data, ci, opts, err := ng.ReadPacketDataWithOptions()
		if errors.Is(err, io.EOF) {
			return m, pkts, nil
		}
		if err != nil {
			return m, pkts, fmt.Errorf("capture: packet %d: %w", len(pkts)+1, err)
		}
		p, err := decode(data)
		if err != nil {
			return m, pkts, fmt.Errorf("capture: packet %d: %w", len(pkts)+1, err)
		}
		p.Time = ci.Timestamp
		if len(opts.Comments) > 0 {
			p.Comment = opts.Comments[0]
		}
		pkts = append(pkts, p)
	}
}

// decode takes the addresses and payload out of a raw IPv4 or IPv6 UDP packet.
func decode(data []byte) (Packet, error) {
	first := layers.LayerTypeIPv4
	if len(data) > 0 && data[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	pkt := gopacket.NewPacket(data, first, gopacket.Default)
	udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if udp == nil {
		return Packet{}, errors.New("not a UDP packet")
	}
	var src, dst netip.Addr
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	}
	return Packet{
		Src:  netip.AddrPortFrom(src, uint16(udp.SrcPort)),
		Dst:  netip.AddrPortFrom(dst, uint16(udp.DstPort)),
		Data: udp.Payload,
	}, nil
}
