// Package contract runs the Go peer's side of the peer contract (docs/peer-contract.md): serve
// and dial, printing the lines of package peercontract. The irohconf CLI prints them; the
// suites can call the same functions in their own process.
package contract

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/peercontract"
)

// ConnectionOf turns an endpoint record into its serve line.
func ConnectionOf(r endpoint.Record) peercontract.Connection {
	c := peercontract.Connection{
		Event:         peercontract.EventConnection,
		ALPN:          r.ALPN,
		Bytes:         int64(r.PayloadSent),
		Streams:       r.Streams,
		CloseReason:   r.Close.Reason,
		CloseKind:     string(r.Close.Kind),
		CloseByRemote: r.Close.Remote,
		RemoteAddr:    r.RemoteAddr,
		HandshakeMS:   ms(r.Handshake),
		CipherSuite:   r.TLS.CipherSuiteName(),
		Group:         r.TLS.GroupName(),
		BytesIn:       r.PayloadReceived,
		BytesOut:      r.PayloadSent,
		WireIn:        r.WireReceived,
		WireOut:       r.WireSent,
	}
	if r.Authenticated {
		c.RemoteID = r.RemoteID.String()
	} else {
		c.CipherSuite, c.Group = "", "" // nothing was negotiated
	}
	if r.Close.HasCode() {
		code := r.Close.Code
		c.CloseCode = &code
	}
	if r.Err != nil {
		c.Error = r.Err.Error()
	}
	return c
}

// Version names this peer for the ready line: the project's Go peer, its QUIC library and Go.
func Version() string {
	v := "irohconf-go"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/quic-go/quic-go" {
				v += " quic-go/" + d.Version
			}
		}
	}
	return v + " " + runtime.Version()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
