// Package capture writes the datagrams that cross an in-path relay as a pcapng file that
// Wireshark and tshark read like a capture on the wire: each UDP payload gets an IPv4 (or IPv6)
// and UDP header with the real addresses and ports, its arrival time, and a comment saying what
// the relay did with it. The section header carries the capture's Meta (server address, fault
// profile, seed) so that the file explains itself.
//
// Datagrams are written as the server sees the path: the client's address is the one the relay
// sends from towards the server (it changes when a fault profile rebinds the client).
package capture
