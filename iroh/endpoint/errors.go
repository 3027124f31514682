package endpoint

import (
	"context"
	"errors"
	"net"

	"github.com/quic-go/quic-go"
)

// The QUIC error codes iroh's refusals carry: CRYPTO_ERROR 0x0100 + TLS alert (RFC 9001 §4.8).
const (
	CodeHandshakeFailure      uint64 = 0x0128 // alert 40: no raw public key offered
	CodeBadCertificate        uint64 = 0x012a // alert 42: a client refusing a server key it did not dial
	CodeUnknownCA             uint64 = 0x0130 // alert 48: iroh's answer to an unexpected server key
	CodeDecryptError          uint64 = 0x0133 // alert 51: a CertificateVerify that does not verify
	CodeCertificateRequired   uint64 = 0x0174 // alert 116: client sent no key
	CodeNoApplicationProtocol uint64 = 0x0178 // alert 120: no common ALPN
	CodeConnectionRefused     uint64 = 0x02   // transport CONNECTION_REFUSED
)

// CodeDialRefused is the application code Dial closes a completed handshake with when it refuses
// the connection after all (no raw public key, not the dialed id).
const CodeDialRefused uint64 = 0x01

// CloseKind says what ended a connection.
type CloseKind string

const (
	// CloseApplication: a CONNECTION_CLOSE with an application error code (0x1d).
	CloseApplication CloseKind = "application"
	// CloseTransport: a CONNECTION_CLOSE with a transport error code (0x1c), TLS alerts included.
	CloseTransport CloseKind = "transport"
	// CloseIdleTimeout: no packet within the idle timeout.
	CloseIdleTimeout CloseKind = "idle_timeout"
	// CloseHandshakeTimeout: the handshake did not finish in time.
	CloseHandshakeTimeout CloseKind = "handshake_timeout"
	// CloseStatelessReset: the peer sent a stateless reset.
	CloseStatelessReset CloseKind = "stateless_reset"
	// CloseVersionNegotiation: no common QUIC version.
	CloseVersionNegotiation CloseKind = "version_negotiation"
	// CloseLocal: this side gave up (context, endpoint closed) without a code on the wire.
	CloseLocal CloseKind = "local"
)

// CloseInfo is how a connection ended.
type CloseInfo struct {
	Kind CloseKind
	// Code is the application or transport error code; meaningful for those two kinds only.
	Code   uint64
	Reason string
	// Remote says the peer closed (or refused) the connection; false when this side did.
	Remote bool
}

// HasCode says whether Code carries a QUIC error code.
func (ci CloseInfo) HasCode() bool {
	return ci.Kind == CloseApplication || ci.Kind == CloseTransport
}

// Normal says the connection ended the way iroh ends one that went well: application code 0.
func (ci CloseInfo) Normal() bool {
	return ci.Kind == CloseApplication && ci.Code == 0
}

// CloseInfoOf classifies the error that ended a connection (context.Cause of its Context, or
// a dial error).
func CloseInfoOf(err error) CloseInfo {
	var (
		appErr   *quic.ApplicationError
		trErr    *quic.TransportError
		idleErr  *quic.IdleTimeoutError
		hsErr    *quic.HandshakeTimeoutError
		resetErr *quic.StatelessResetError
		vnErr    *quic.VersionNegotiationError
	)
	switch {
	case err == nil:
		return CloseInfo{}
	case errors.As(err, &appErr):
		return CloseInfo{Kind: CloseApplication, Code: uint64(appErr.ErrorCode), Reason: appErr.ErrorMessage, Remote: appErr.Remote}
	case errors.As(err, &trErr):
		return CloseInfo{Kind: CloseTransport, Code: uint64(trErr.ErrorCode), Reason: transportReason(trErr), Remote: trErr.Remote}
	case errors.As(err, &idleErr):
		return CloseInfo{Kind: CloseIdleTimeout, Reason: err.Error()}
	case errors.As(err, &hsErr):
		return CloseInfo{Kind: CloseHandshakeTimeout, Reason: err.Error()}
	case errors.As(err, &resetErr):
		return CloseInfo{Kind: CloseStatelessReset, Reason: err.Error(), Remote: true}
	case errors.As(err, &vnErr):
		return CloseInfo{Kind: CloseVersionNegotiation, Reason: err.Error(), Remote: true}
	default:
		return CloseInfo{Kind: CloseLocal, Reason: err.Error()}
	}
}

// transportReason is the reason phrase of a transport close: the peer's reason phrase, or for
// our own TLS alerts the TLS error quic-go wraps, or the code's standard message.
func transportReason(e *quic.TransportError) string {
	if e.ErrorMessage != "" {
		return e.ErrorMessage
	}
	for _, u := range e.Unwrap() {
		if u != nil && u != net.ErrClosed {
			return u.Error()
		}
	}
	return e.ErrorCode.Message()
}

// ErrorCode extracts the QUIC error code from a dial or connection error: the transport error
// code (TLS alerts as 0x0100+alert) or the application error code. ok is false when the error
// carries none (timeouts, local errors).
func ErrorCode(err error) (code uint64, ok bool) {
	ci := CloseInfoOf(err)
	return ci.Code, ci.HasCode()
}

// IsTimeout says whether err is a handshake or idle timeout, or a context deadline.
func IsTimeout(err error) bool {
	var (
		idleErr *quic.IdleTimeoutError
		hsErr   *quic.HandshakeTimeoutError
		netErr  net.Error
	)
	return errors.As(err, &idleErr) || errors.As(err, &hsErr) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}
