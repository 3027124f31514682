package dissect

import "time"

// Side is one end of a connection.
type Side string

const (
	Client Side = "client"
	Server Side = "server"
)

// Wire is the dissection of one capture (wire.json). Times are seconds since Start; frame
// numbers are the capture's (and the relay's record numbers).
type Wire struct {
	Capture string    `json:"capture"`
	Server  string    `json:"server"`
	Relay   string    `json:"relay"`
	Profile string    `json:"profile,omitempty"`
	Seed    uint64    `json:"seed"`
	Tshark  string    `json:"tshark"`
	KeyLogs []string  `json:"key_logs"`
	Start   time.Time `json:"start"`
	Frames  int       `json:"frames"`
	// RelayActions counts the relay's actions per direction ("client->server") and action.
	RelayActions map[string]map[string]int `json:"relay_actions"`
	// Undecrypted counts QUIC packets tshark could not decrypt (no key log, or a packet the relay
	// corrupted on purpose is not one of them: the capture holds what the sender sent);
	// UndecryptedFrames lists the first of their frames.
	Undecrypted       int   `json:"undecrypted_packets"`
	UndecryptedFrames []int `json:"undecrypted_frames,omitempty"`
	// Elided, when set, is the middle of a long capture that was not dissected (Input.MaxFrames):
	// frame counts, bytes and relay actions then cover the dissected frames only.
	Elided      *Elided       `json:"elided,omitempty"`
	Connections []*Connection `json:"connections"`
}

// Elided is a run of frames left out of the dissection; the capture still holds them.
type Elided struct {
	From  int `json:"from"`
	To    int `json:"to"`
	Count int `json:"count"`
}

// Connection is one QUIC connection as tshark tells them apart (by connection ids).
type Connection struct {
	Number     int     `json:"number"`
	FirstFrame int     `json:"first_frame"`
	LastFrame  int     `json:"last_frame"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	// Version is the QUIC version of the client's first packet, e.g. "0x00000001".
	Version string `json:"version"`
	// ClientAddrs are the client's addresses as the server saw them, in order; more than one
	// after a rebinding.
	ClientAddrs []AddrSeen `json:"client_addrs"`

	Handshake           Handshake                     `json:"handshake"`
	TransportParameters map[Side]*TransportParameters `json:"transport_parameters"`
	Closes              []Close                       `json:"closes"`
	Streams             []*Stream                     `json:"streams"`
	// MaxConcurrentStreams is the most streams whose first and last frames overlapped in time.
	MaxConcurrentStreams int                 `json:"max_concurrent_streams"`
	Pings                []Event             `json:"pings"`
	PathChallenges       []Event             `json:"path_challenges,omitempty"`
	PathResponses        []Event             `json:"path_responses,omitempty"`
	ZeroRTT              Count               `json:"zero_rtt"`
	Datagrams            map[Side]*Datagrams `json:"datagrams"`
	// Retransmitted and RetransmittedCrypto count STREAM and CRYPTO frames that resent data
	// their sender had sent before (loss recovery, PTO probes).
	Retransmitted       map[Side]int            `json:"retransmitted_stream_frames"`
	RetransmittedCrypto map[Side]int            `json:"retransmitted_crypto_frames"`
	AddressValidation   AddressValidation       `json:"address_validation"`
	FrameCounts         map[Side]map[string]int `json:"frame_counts"`
	// Undecrypted counts the packets tshark gave this connection but could not decrypt.
	Undecrypted int `json:"undecrypted_packets,omitempty"`
}

// AddrSeen is an address and the first frame it was seen in.
type AddrSeen struct {
	Addr  string `json:"addr"`
	Frame int    `json:"frame"`
}

// Handshake is what the TLS handshake offered and negotiated. Names are Go's crypto/tls names
// (TLS_AES_128_GCM_SHA256, X25519, Ed25519); certificate types are RFC 7250's numbers
// (0 X.509, 2 raw public key).
type Handshake struct {
	ClientHelloFrame       int      `json:"client_hello_frame,omitempty"`
	SNI                    string   `json:"sni,omitempty"`
	OfferedALPNs           []string `json:"offered_alpns,omitempty"`
	OfferedCipherSuites    []string `json:"offered_cipher_suites,omitempty"`
	OfferedGroups          []string `json:"offered_groups,omitempty"`
	KeyShares              []string `json:"key_shares,omitempty"`
	OfferedSignatures      []string `json:"offered_signature_schemes,omitempty"`
	OfferedClientCertTypes []int    `json:"offered_client_certificate_types,omitempty"`
	OfferedServerCertTypes []int    `json:"offered_server_certificate_types,omitempty"`
	// ClientHelloCryptoFrames is how many CRYPTO frames carried the ClientHello: more than one
	// when it spans several Initial packets (a large key share).
	ClientHelloCryptoFrames int `json:"client_hello_crypto_frames,omitempty"`

	HelloRetryRequest bool   `json:"hello_retry_request,omitempty"`
	ServerHelloFrame  int    `json:"server_hello_frame,omitempty"`
	CipherSuite       string `json:"cipher_suite,omitempty"`
	Group             string `json:"group,omitempty"`

	EncryptedExtensionsFrame int `json:"encrypted_extensions_frame,omitempty"`
	// ALPN is the protocol the server selected (EncryptedExtensions).
	ALPN string `json:"alpn,omitempty"`
	// ClientCertType and ServerCertType are the types in EncryptedExtensions; -1 when the
	// extension is absent (X.509 by default).
	ClientCertType int `json:"client_certificate_type"`
	ServerCertType int `json:"server_certificate_type"`
	// CertificateRequestSignatures are the schemes of the server's CertificateRequest.
	CertificateRequestSignatures []string `json:"certificate_request_signature_schemes,omitempty"`
	// ServerKey and ClientKey are the Ed25519 keys (hex) of raw-public-key certificates; the
	// endpoint ids.
	ServerKey string `json:"server_key,omitempty"`
	ClientKey string `json:"client_key,omitempty"`
	// ServerCertificateFrame and ClientCertificateFrame carry each side's Certificate (and, in
	// the same flight, its CertificateVerify); 0 when none was seen.
	ServerCertificateFrame int `json:"server_certificate_frame,omitempty"`
	ClientCertificateFrame int `json:"client_certificate_frame,omitempty"`
	// ServerSignature and ClientSignature are the CertificateVerify schemes.
	ServerSignature string `json:"server_signature,omitempty"`
	ClientSignature string `json:"client_signature,omitempty"`
	ServerFinished  bool   `json:"server_finished"`
	ClientFinished  bool   `json:"client_finished"`
	// DoneFrame is the server's HANDSHAKE_DONE; 0 when none was seen.
	DoneFrame int `json:"handshake_done_frame,omitempty"`
}

// TransportParameters are one side's QUIC transport parameters (RFC 9000 §18.2 and
// extensions). Absent parameters are nil.
type TransportParameters struct {
	Frame                          int     `json:"frame"`
	MaxIdleTimeout                 *uint64 `json:"max_idle_timeout,omitempty"`
	MaxUDPPayloadSize              *uint64 `json:"max_udp_payload_size,omitempty"`
	InitialMaxData                 *uint64 `json:"initial_max_data,omitempty"`
	InitialMaxStreamDataBidiLocal  *uint64 `json:"initial_max_stream_data_bidi_local,omitempty"`
	InitialMaxStreamDataBidiRemote *uint64 `json:"initial_max_stream_data_bidi_remote,omitempty"`
	InitialMaxStreamDataUni        *uint64 `json:"initial_max_stream_data_uni,omitempty"`
	InitialMaxStreamsBidi          *uint64 `json:"initial_max_streams_bidi,omitempty"`
	InitialMaxStreamsUni           *uint64 `json:"initial_max_streams_uni,omitempty"`
	AckDelayExponent               *uint64 `json:"ack_delay_exponent,omitempty"`
	MaxAckDelay                    *uint64 `json:"max_ack_delay,omitempty"`
	DisableActiveMigration         bool    `json:"disable_active_migration,omitempty"`
	ActiveConnectionIDLimit        *uint64 `json:"active_connection_id_limit,omitempty"`
	MaxDatagramFrameSize           *uint64 `json:"max_datagram_frame_size,omitempty"`
	// Others are the parameters not named above (connection ids, tokens, GREASE, extensions),
	// with their id and value in hex.
	Others []Parameter `json:"others,omitempty"`
}

// Parameter is a transport parameter by id.
type Parameter struct {
	ID    uint64 `json:"id"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// Close is one CONNECTION_CLOSE frame.
type Close struct {
	Frame int     `json:"frame"`
	Time  float64 `json:"time"`
	By    Side    `json:"by"`
	// Packet is the packet type that carried it: Initial, Handshake, 1-RTT.
	Packet string `json:"packet"`
	// FrameType is 0x1c (transport error) or 0x1d (application error).
	FrameType uint64 `json:"frame_type"`
	Code      uint64 `json:"code"`
	// TLSAlert is the alert of a crypto error (code 0x100 + alert); -1 otherwise.
	TLSAlert int `json:"tls_alert"`
	// TriggerFrameType is the frame type that caused a transport error (0 when unknown).
	TriggerFrameType uint64 `json:"trigger_frame_type,omitempty"`
	Reason           string `json:"reason"`
	// Relay is what the relay did with the datagram when it did more than forward it.
	Relay string `json:"relay,omitempty"`
}

// Delivered reports whether the relay let the close through.
func (c Close) Delivered() bool { return c.Relay == "" || !isDrop(c.Relay) }

// Stream is one stream's frames.
type Stream struct {
	ID         uint64  `json:"id"`
	Initiator  Side    `json:"initiator"`
	Bidi       bool    `json:"bidi"`
	FirstFrame int     `json:"first_frame"`
	LastFrame  int     `json:"last_frame"`
	First      float64 `json:"first"`
	Last       float64 `json:"last"`
	// Bytes is the highest stream offset each side sent data up to.
	Bytes map[Side]uint64 `json:"bytes"`
	Fin   map[Side]bool   `json:"fin"`
	// Resets are RESET_STREAM and STOP_SENDING frames on the stream.
	Resets []StreamSignal `json:"resets,omitempty"`
}

// StreamSignal is a RESET_STREAM or STOP_SENDING.
type StreamSignal struct {
	Frame int    `json:"frame"`
	By    Side   `json:"by"`
	Kind  string `json:"kind"`
	Code  uint64 `json:"code"`
}

// Event is a frame of interest: who sent it and when.
type Event struct {
	Frame int     `json:"frame"`
	Time  float64 `json:"time"`
	By    Side    `json:"by"`
}

// Count is packets and their bytes.
type Count struct {
	Packets int `json:"packets"`
	Bytes   int `json:"bytes"`
}

// Datagrams are one side's UDP datagrams (payload sizes).
type Datagrams struct {
	Count int `json:"count"`
	Bytes int `json:"bytes"`
	Min   int `json:"min"`
	Max   int `json:"max"`
	// Dropped are the datagrams the relay did not deliver.
	Dropped int `json:"dropped"`
}

// AddressValidation is RFC 9000 §8.1's anti-amplification limit, seen from the path: until
// the server has received a Handshake packet from the client, it may send at most three times
// the bytes it received.
type AddressValidation struct {
	// ValidatedFrame is the first client datagram with a Handshake packet that the relay
	// delivered; 0 when there was none.
	ValidatedFrame int `json:"validated_frame"`
	// ServerBytes and ClientBytes are the UDP payload bytes the server sent and received before
	// then (client bytes counted when the relay delivered them).
	ServerBytes int `json:"server_bytes"`
	ClientBytes int `json:"client_bytes"`
	// ExceededFrame is the first server datagram that took the server past three times what it
	// had received; 0 when the limit held.
	ExceededFrame int `json:"exceeded_frame"`
}
