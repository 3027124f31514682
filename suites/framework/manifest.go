// Package framework is what the interop and hil suites stand on: peers and what they declare,
// the matrix of cells, per-cell logs, and the outcome of each cell. Cases (suites/cases) are
// written against it once and run for every (client, server) pair; peer drivers
// (suites/peers) implement its interfaces. No case knows how a peer is started.
package framework

import (
	"bytes"
	"fmt"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Role is what a peer can be in a cell.
type Role string

const (
	RoleClient Role = "client"
	RoleServer Role = "server"
)

// Feature is a capability a peer declares beyond dialing and serving echo.
type Feature string

const (
	// FeatureTicketDecoder: the peer decodes tickets (`ticket decode`), for differential tests.
	FeatureTicketDecoder Feature = "ticket-decoder"
	// FeatureMisbehavingClient: the peer can dial with an unserved ALPN,
	// plain X.509 TLS or no client key, for the refusal cases.
	FeatureMisbehavingClient Feature = "misbehaving-client"
	// FeatureSNIControl: the client can send no SNI or iroh <= 1.0.3's synthetic name.
	FeatureSNIControl Feature = "sni-control"
	// FeatureKeyShareControl: the client can offer a post-quantum key share (X25519MLKEM768),
	// which makes its ClientHello span two QUIC Initial packets.
	FeatureKeyShareControl Feature = "key-share-control"
	// FeatureIdleDial: the client can hold a connection idle before echoing (`dial --idle`).
	FeatureIdleDial Feature = "idle-dial"
	// FeatureConsole: the peer is a board with console commands (help, id, ticket, status, reset).
	FeatureConsole Feature = "console"
	// FeatureReset: the board can be reset by the suite (reset lines or a console command).
	FeatureReset Feature = "reset"
	// FeatureHeap: the board reports its free heap (STATUS heap_free and heap_min, the heap
	// command's windows), so leak bounds are checked and each cell's peak heap recorded.
	FeatureHeap Feature = "heap"
	// FeatureFixedSecret: the peer can be given its secret key, so its id survives restarts.
	FeatureFixedSecret Feature = "fixed-secret"
)

// Manifest is what one peer declares about itself. A case a peer does not declare is
// unsupported for that cell: unsupported is declared, never inferred from a failure.
type Manifest struct {
	Name        string   `yaml:"name"`
	Kind        string   `yaml:"kind"` // go, upstream, virtual-board, board
	Description string   `yaml:"description"`
	Roles       []Role   `yaml:"roles"`
	ALPNs       []string `yaml:"alpns"`
	Crypto      Crypto   `yaml:"crypto"`
	Limits      Limits   `yaml:"limits"`
	// TransportParameters are the QUIC transport parameters (RFC 9000 §18.2 names) the peer
	// declares it sends, checked on the wire; parameters not listed are not checked. One the
	// peer leaves out counts with its RFC default (0 for the limits; max_datagram_frame_size 0:
	// no datagrams).
	TransportParameters map[string]uint64 `yaml:"transport_parameters,omitempty"`
	Features            []Feature         `yaml:"features"`
	// CustomAddrEncodings are the layouts of custom ticket addresses the peer's decoder reads
	// ("legacy": iroh 0.97 to 1.0.3, "current": later), by version; "default" for any version
	// not listed. iroh changed the layout after 1.0.3, so two decoders may rightly disagree on
	// tickets with custom addresses.
	CustomAddrEncodings map[string][]string `yaml:"custom_addr_encodings,omitempty"`
	// DirectPaths: the peer advertises its own addresses inside a connection and opens paths to
	// the addresses its peer advertises (iroh 1.x: QUIC multipath with NAT traversal). Between
	// two such peers the traffic leaves an in-path relay once the handshake is done.
	DirectPaths bool `yaml:"direct_paths,omitempty"`
	// Firmware is what a board runs: irohconf-fw (ours) or iroh-esp32-example (n0's examples);
	// empty for peers that are programs. IrohVersion is the iroh release the peer is built on
	// (an expanded upstream peer: its version); empty when unknown. Expected failures match
	// boards by both (ExpectedFailure).
	Firmware    string `yaml:"firmware,omitempty"`
	IrohVersion string `yaml:"iroh_version,omitempty"`
	// Versions expands one manifest into one peer per version (upstream-1.0.0, upstream-1.4.1).
	Versions []string `yaml:"versions,omitempty"`
	// Version is set for each expanded peer.
	Version string `yaml:"-"`
}

// Crypto is the TLS profile a peer offers.
type Crypto struct {
	CipherSuites []string `yaml:"cipher_suites"`
	Groups       []string `yaml:"groups"`
	Signatures   []string `yaml:"signatures"`
	// CertificateTypes are the certificate types (RFC 7250) the peer uses on either side:
	// raw-public-key (iroh) or x509. Undeclared means raw-public-key, iroh's only kind.
	CertificateTypes []string `yaml:"certificate_types,omitempty"`
}

// Limits are the peer's flow-control and stream limits; 0 means no limit is declared.
type Limits struct {
	ConcurrentBidiStreams int `yaml:"concurrent_bidi_streams"`
	StreamReceiveWindow   int `yaml:"stream_receive_window"`
	ConnectionWindow      int `yaml:"connection_window"`
	MaxEchoPayload        int `yaml:"max_echo_payload"`
	// StreamsPerConnection is how many streams the peer serves on one connection in all (the
	// iroh ESP32 examples' handler accepts one, then waits for the close); 0: no limit.
	StreamsPerConnection int `yaml:"streams_per_connection"`
}

func (m Manifest) HasRole(r Role) bool      { return slices.Contains(m.Roles, r) }
func (m Manifest) Has(f Feature) bool       { return slices.Contains(m.Features, f) }
func (m Manifest) ServesALPN(a string) bool { return slices.Contains(m.ALPNs, a) }

// CustomEncodings returns the custom address layouts this peer (at its version) reads, sorted.
func (m Manifest) CustomEncodings() []string {
	enc, ok := m.CustomAddrEncodings[m.Version]
	if !ok {
		enc = m.CustomAddrEncodings["default"]
	}
	enc = slices.Clone(enc)
	slices.Sort(enc)
	return enc
}

// ParseManifest reads one manifest strictly: unknown fields are errors, so a typo in a
// declaration cannot silently turn a case unsupported.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// LoadManifest reads a manifest file.
func LoadManifest(path string) (Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func (m Manifest) validate() error {
	if m.Name == "" {
		return fmt.Errorf("manifest: name is missing")
	}
	if len(m.Roles) == 0 {
		return fmt.Errorf("manifest %s: no roles declared", m.Name)
	}
	for _, r := range m.Roles {
		if r != RoleClient && r != RoleServer {
			return fmt.Errorf("manifest %s: unknown role %q (client, server)", m.Name, r)
		}
	}
	if m.HasRole(RoleServer) && len(m.ALPNs) == 0 {
		return fmt.Errorf("manifest %s: a server must declare the ALPNs it serves", m.Name)
	}
	for _, f := range m.Features {
		if !knownFeature(f) {
			return fmt.Errorf("manifest %s: unknown feature %q", m.Name, f)
		}
	}
	return m.validateWire()
}

// Expand returns one manifest per declared version (or the manifest itself when it has none),
// named <name>-<version>.
func (m Manifest) Expand() []Manifest {
	if len(m.Versions) == 0 {
		return []Manifest{m}
	}
	out := make([]Manifest, 0, len(m.Versions))
	for _, v := range m.Versions {
		c := m
		c.Name = m.Name + "-" + v
		c.Version = v
		c.Versions = nil
		if c.Kind == "upstream" && c.IrohVersion == "" {
			c.IrohVersion = v // upstream peers are iroh itself, at that release
		}
		out = append(out, c)
	}
	return out
}
