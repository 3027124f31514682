// Package dissect turns a relay's capture and the peers' TLS key logs into what happened on the
// wire: tshark decrypts and dissects the QUIC packets (tshark -T json), and this package reads
// its output into a Wire (written as wire.json): per connection, the TLS handshake (offered and
// negotiated ALPN, cipher suite, group, signature schemes, certificate types, raw keys), each
// side's transport parameters, CONNECTION_CLOSE frames (who, code, frame type, reason), streams
// and their overlap, PINGs, path validation, 0-RTT, datagram sizes, and the bytes each way before
// the client's address was validated (RFC 9000 §8.1). A frame log (wire.txt) gives one line per
// datagram with its packets, their frames, and what the relay did to it. Files also embeds the
// key logs in the capture (editcap --inject-secrets), so that Wireshark opens wire.pcapng
// decrypted, the relay's decisions shown as packet comments.
//
// tshark comes from Debian's tshark package (Wireshark 4.0 or later); without it Dissect
// returns ErrNoTshark.
package dissect
