// Package peercontract is the peer contract (docs/peer-contract.md) as data: the JSON lines a
// peer prints, how to find them in its output and wait for them, the batch ticket decode, and
// the QUIC and TLS error codes the lines carry, with their names. It depends on no QUIC or TLS
// library, so the suites, containers/ and the Go peer (iroh/contract) all read and write the
// lines through these types.
package peercontract
