// Package faults decides, packet by packet, what an in-path relay does to the datagrams between a
// client and a server: forward, drop, delay, duplicate, corrupt, or move the client to a new
// address. A Profile names one network condition (loss, handshake-loss, burst-loss, reorder,
// duplicate, corrupt, delay, blackhole, rebind-port, rebind-addr, mtu-1200, asymmetric, none);
// an Injector applies it with a seed.
//
// Decisions are reproducible: each direction draws from its own random stream derived from the
// seed, so the same seed and the same sequence of packets in a direction give the same
// decisions, whatever the other direction does. Triggers that wait for the middle of a transfer
// (blackhole, rebinding) count bytes, not time, unless a profile asks for a time.
//
// The package knows nothing about sockets; wire/relay carries the decisions out.
package faults
