//go:build !linux

// Package udpgro lets quic-go receive with UDP generic receive offload on Linux; elsewhere Wrap
// leaves the socket as it is.
package udpgro

import (
	"errors"
	"net"
)

// Wrap returns c: GRO is a Linux socket option.
func Wrap(c *net.UDPConn) net.PacketConn { return c }

// Enable fails: GRO is a Linux socket option.
func Enable(*net.UDPConn) error { return errors.ErrUnsupported }

// Segment is 0: without GRO a read holds one datagram.
func Segment([]byte) int { return 0 }
