package framework

import (
	"net"
	"sync"
)

// Servers of two peers that both open direct paths listen on IPv6 loopback (PairServerBind), and
// every client dials the cell's relay on IPv4 loopback from a socket bound to 127.0.0.1. iroh advertises a server's bound address
// in-band (QUIC NAT traversal, multipath) and its clients open a direct path to it as soon as
// they can: a server on 127.0.0.1 would then be reached around the relay, and the cell's capture
// would miss the traffic after the handshake. [::1] cannot be reached from an IPv4 socket, so
// the relay stays the only path. Where IPv6 loopback is missing, servers fall back to
// 127.0.0.1 and the run says so once.
const (
	ipv6ServerBind = "[::1]:0"
	ipv4ServerBind = "127.0.0.1:0"
)

var serverBind = sync.OnceValue(func() string {
	c, err := net.ListenPacket("udp6", ipv6ServerBind)
	if err != nil {
		progress("irohconf: no IPv6 loopback (" + err.Error() + "): servers bind 127.0.0.1, and iroh clients may reach them around the cell's relay")
		return ipv4ServerBind
	}
	c.Close()
	return ipv6ServerBind
})

// ServerBind is the address servers on this machine bind: [::1]:0 where IPv6 loopback works.
func ServerBind() string { return serverBind() }

// PairServerBind is where the server of a pair binds: [::1] (ServerBind) when both peers open
// direct paths (their manifests' direct_paths), else 127.0.0.1, where the relay can also move a
// client to another address (the rebind-addr fault profile: IPv6 loopback has one address).
func PairServerBind(client, server Manifest) string {
	if client.DirectPaths && server.DirectPaths {
		return ServerBind()
	}
	return ipv4ServerBind
}
