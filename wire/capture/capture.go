package capture

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
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
	out *spool
	buf gopacket.SerializeBuffer
	raw []byte
}

// DefaultMemory is how much of a capture a Writer holds in memory before it writes to its
// io.Writer: a test's transfer is captured without a file write on its path; a longer one is
// written through once it passes this.
const DefaultMemory = 64 << 20

// NewWriter writes the section header with meta and one raw-IP interface to w, holding up to
// DefaultMemory bytes in memory until Flush.
func NewWriter(w io.Writer, meta Meta) (*Writer, error) {
	return NewWriterMemory(w, meta, DefaultMemory)
}

// NewWriterMemory is NewWriter holding up to memory bytes.
func NewWriterMemory(w io.Writer, meta Meta, memory int) (*Writer, error) {
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
	out := &spool{w: w, limit: memory}
	ng, err := pcapgo.NewNgWriterInterface(out, intf, opts)
	if err != nil {
		return nil, fmt.Errorf("capture: writing the pcapng header: %w", err)
	}
	return &Writer{ng: ng, out: out, buf: gopacket.NewSerializeBuffer()}, nil
}

// Write appends one packet.
func (w *Writer) Write(p Packet) error {
	if p.Src.Addr().Is4() != p.Dst.Addr().Is4() {
		return fmt.Errorf("capture: %s -> %s mixes address families", p.Src, p.Dst)
	}
	if len(p.Data) > 65535-48 {
		return fmt.Errorf("capture: a %d-byte datagram does not fit a UDP packet", len(p.Data))
	}
	// The headers are built by hand (the relay writes every datagram of a bulk transfer):
	// IPv4 with its header checksum and a UDP checksum of zero (none, which IPv4 allows);
	// IPv6, whose UDP checksum is mandatory, through gopacket.
	var data []byte
	if p.Src.Addr().Is4() {
		data = w.ipv4(p)
	} else {
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.Src.Port()), DstPort: layers.UDPPort(p.Dst.Port())}
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
			SrcIP: p.Src.Addr().AsSlice(), DstIP: p.Dst.Addr().AsSlice()}
		_ = udp.SetNetworkLayerForChecksum(ip6)
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(w.buf, opts, ip6, udp, gopacket.Payload(p.Data)); err != nil {
			return fmt.Errorf("capture: building the headers of %s -> %s: %w", p.Src, p.Dst, err)
		}
		data = w.buf.Bytes()
	}
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

// ipv4 builds an IPv4 and UDP header in front of p.Data.
func (w *Writer) ipv4(p Packet) []byte {
	total := 28 + len(p.Data)
	b := append(w.raw[:0], make([]byte, 28)...)
	b[0], b[8], b[9] = 0x45, 64, 17 // version 4, 20-byte header; TTL; UDP
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	src, dst := p.Src.Addr().As4(), p.Dst.Addr().As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(b[20:], p.Src.Port())
	binary.BigEndian.PutUint16(b[22:], p.Dst.Port())
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(p.Data)))
	b = append(b, p.Data...)
	w.raw = b
	return b
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if err := w.ng.Flush(); err != nil {
		return err
	}
	return w.out.flush()
}

// spool holds what is written in memory, in chunks (a growing slice would copy itself over and
// over), up to limit; past it, it writes through in chunk-sized writes.
type spool struct {
	w      io.Writer
	limit  int
	chunks [][]byte
	held   int
	err    error
}

const chunkSize = 1 << 20

// chunks are reused across captures: fresh memory costs a page fault per page, which a bulk
// transfer's capture would pay on its forwarding path.
var chunks = sync.Pool{New: func() any { return make([]byte, 0, chunkSize) }}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(p)
	for len(p) > 0 {
		if len(s.chunks) == 0 || len(s.chunks[len(s.chunks)-1]) == chunkSize {
			if s.held >= s.limit {
				if err := s.flush(); err != nil {
					return 0, err
				}
			}
			s.chunks = append(s.chunks, chunks.Get().([]byte)[:0])
		}
		last := &s.chunks[len(s.chunks)-1]
		k := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:k]...)
		s.held += k
		p = p[k:]
	}
	return n, nil
}

func (s *spool) flush() error {
	for _, c := range s.chunks {
		if s.err == nil {
			_, s.err = s.w.Write(c)
		}
		chunks.Put(c)
	}
	s.chunks, s.held = s.chunks[:0], 0
	return s.err
}

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
