//go:build !linux

// Package udpgro lets quic-go receive with UDP generic receive offload on Linux; elsewhere Wrap
// leaves the socket as it is.
package udpgro

import "net"

// Wrap returns c: GRO is a Linux socket option.
func Wrap(c *net.UDPConn) net.PacketConn { return c }
