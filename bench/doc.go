// Package bench is the benchmark matrix (make bench-matrix): every client × server pair of the
// interop matrix measured one pair at a time (handshake time, connection rate, one-way upload,
// echo, concurrent streams, CPU per MB), beside the machine's limits (AES-128-GCM seal+open of one
// core, UDP loopback), written to reports/bench/<UTC>/ as bench.json and a page.
//
// Peers run as the programs of the peer contract (docs/peer-contract.md): the irohconf binary,
// upstream iroh through containers/ (Docker or processes), the virtual board through hil/board.
// The measures use the contract's dial flags --connections, --duration and the upload ALPN.
package bench
