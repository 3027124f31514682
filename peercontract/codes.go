package peercontract

import "fmt"

// Code is a QUIC transport error code (RFC 9000 section 20.1). A TLS alert ends a handshake as
// CRYPTO_ERROR, 0x0100 plus the alert (RFC 9001 section 4.8). It prints with its name, as
// `no_application_protocol (0x178)`.
type Code uint64

// The transport error codes of RFC 9000.
const (
	NoError                 Code = 0x0
	InternalError           Code = 0x1
	ConnectionRefused       Code = 0x2
	FlowControlError        Code = 0x3
	StreamLimitError        Code = 0x4
	StreamStateError        Code = 0x5
	FinalSizeError          Code = 0x6
	FrameEncodingError      Code = 0x7
	TransportParameterError Code = 0x8
	ConnectionIDLimitError  Code = 0x9
	ProtocolViolation       Code = 0xa
	InvalidToken            Code = 0xb
	ApplicationError        Code = 0xc
	CryptoBufferExceeded    Code = 0xd
	KeyUpdateError          Code = 0xe
	AEADLimitReached        Code = 0xf
	NoViablePath            Code = 0x10
	// CryptoError is the first of the codes that carry a TLS alert.
	CryptoError Code = 0x100
)

// Alert is a TLS alert (RFC 8446 section 6).
type Alert uint8

// The TLS alerts a handshake can end with.
const (
	AlertCloseNotify            Alert = 0
	AlertUnexpectedMessage      Alert = 10
	AlertBadRecordMAC           Alert = 20
	AlertRecordOverflow         Alert = 22
	AlertHandshakeFailure       Alert = 40
	AlertBadCertificate         Alert = 42
	AlertUnsupportedCertificate Alert = 43
	AlertCertificateRevoked     Alert = 44
	AlertCertificateExpired     Alert = 45
	AlertCertificateUnknown     Alert = 46
	AlertIllegalParameter       Alert = 47
	AlertUnknownCA              Alert = 48
	AlertAccessDenied           Alert = 49
	AlertDecodeError            Alert = 50
	AlertDecryptError           Alert = 51
	AlertProtocolVersion        Alert = 70
	AlertInsufficientSecurity   Alert = 71
	AlertInternalError          Alert = 80
	AlertInappropriateFallback  Alert = 86
	AlertUserCanceled           Alert = 90
	AlertMissingExtension       Alert = 109
	AlertUnsupportedExtension   Alert = 110
	AlertUnrecognizedName       Alert = 112
	AlertBadCertificateStatus   Alert = 113
	AlertUnknownPSKIdentity     Alert = 115
	AlertCertificateRequired    Alert = 116
	AlertNoApplicationProtocol  Alert = 120
)

// The codes of the refusals iroh makes during the handshake.
const (
	HandshakeFailure      = CryptoError + Code(AlertHandshakeFailure)      // 0x128
	BadCertificate        = CryptoError + Code(AlertBadCertificate)        // 0x12a
	UnknownCA             = CryptoError + Code(AlertUnknownCA)             // 0x130
	CertificateRequired   = CryptoError + Code(AlertCertificateRequired)   // 0x174
	NoApplicationProtocol = CryptoError + Code(AlertNoApplicationProtocol) // 0x178
)

// CryptoErrorOf is the transport error code of a TLS alert.
func CryptoErrorOf(a Alert) Code { return CryptoError + Code(a) }

// Alert returns the TLS alert a CRYPTO_ERROR code carries.
func (c Code) Alert() (Alert, bool) {
	if c < CryptoError || c > CryptoError+0xff {
		return 0, false
	}
	return Alert(c - CryptoError), true
}

var transportNames = map[Code]string{
	NoError: "NO_ERROR", InternalError: "INTERNAL_ERROR", ConnectionRefused: "CONNECTION_REFUSED",
	FlowControlError: "FLOW_CONTROL_ERROR", StreamLimitError: "STREAM_LIMIT_ERROR",
	StreamStateError: "STREAM_STATE_ERROR", FinalSizeError: "FINAL_SIZE_ERROR",
	FrameEncodingError: "FRAME_ENCODING_ERROR", TransportParameterError: "TRANSPORT_PARAMETER_ERROR",
	ConnectionIDLimitError: "CONNECTION_ID_LIMIT_ERROR", ProtocolViolation: "PROTOCOL_VIOLATION",
	InvalidToken: "INVALID_TOKEN", ApplicationError: "APPLICATION_ERROR",
	CryptoBufferExceeded: "CRYPTO_BUFFER_EXCEEDED", KeyUpdateError: "KEY_UPDATE_ERROR",
	AEADLimitReached: "AEAD_LIMIT_REACHED", NoViablePath: "NO_VIABLE_PATH",
}

var alertNames = map[Alert]string{
	AlertCloseNotify: "close_notify", AlertUnexpectedMessage: "unexpected_message",
	AlertBadRecordMAC: "bad_record_mac", AlertRecordOverflow: "record_overflow",
	AlertHandshakeFailure: "handshake_failure", AlertBadCertificate: "bad_certificate",
	AlertUnsupportedCertificate: "unsupported_certificate", AlertCertificateRevoked: "certificate_revoked",
	AlertCertificateExpired: "certificate_expired", AlertCertificateUnknown: "certificate_unknown",
	AlertIllegalParameter: "illegal_parameter", AlertUnknownCA: "unknown_ca",
	AlertAccessDenied: "access_denied", AlertDecodeError: "decode_error",
	AlertDecryptError: "decrypt_error", AlertProtocolVersion: "protocol_version",
	AlertInsufficientSecurity: "insufficient_security", AlertInternalError: "internal_error",
	AlertInappropriateFallback: "inappropriate_fallback", AlertUserCanceled: "user_canceled",
	AlertMissingExtension: "missing_extension", AlertUnsupportedExtension: "unsupported_extension",
	AlertUnrecognizedName: "unrecognized_name", AlertBadCertificateStatus: "bad_certificate_status_response",
	AlertUnknownPSKIdentity: "unknown_psk_identity", AlertCertificateRequired: "certificate_required",
	AlertNoApplicationProtocol: "no_application_protocol",
}

// Name is the code's name: the transport error's (RFC 9000), the TLS alert's for a
// CRYPTO_ERROR, "" for a code without one.
func (c Code) Name() string {
	if n, ok := transportNames[c]; ok {
		return n
	}
	if a, ok := c.Alert(); ok {
		if n, ok := alertNames[a]; ok {
			return n
		}
		return fmt.Sprintf("CRYPTO_ERROR alert %d", a)
	}
	return ""
}

// String prints the code as `no_application_protocol (0x178)`, or `0x42` without a name.
func (c Code) String() string {
	if n := c.Name(); n != "" {
		return fmt.Sprintf("%s (%#x)", n, uint64(c))
	}
	return fmt.Sprintf("%#x", uint64(c))
}

func (a Alert) String() string {
	if n, ok := alertNames[a]; ok {
		return n
	}
	return fmt.Sprintf("alert %d", uint8(a))
}

// CodeOf prints an optional code of a line (ErrorCode, CloseCode): the code, or "none".
func CodeOf(c *uint64) string {
	if c == nil {
		return "none"
	}
	return Code(*c).String()
}
