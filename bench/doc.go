// Package bench is the benchmark matrix (make bench-matrix): every client × server pair of the
// interop matrix (handshake time, connection rate, one-way upload, echo, concurrent streams, CPU
// per MB) beside the machine's limits (AES-128-GCM seal+open of one core, UDP loopback), measured
// side by side: every peer is up for the whole run, and each measure is taken in rounds that
// sample every pair and limit once, in an order that rotates from round to round (schedule.go).
// Ratios and shares of the limit are taken round by round (ratios.go). The run is written to
// reports/bench/<UTC>/ as bench.json and a page.
//
// Peers run as the programs of the peer contract (docs/peer-contract.md): the irohconf binary,
// upstream iroh through containers/ (Docker or processes), the virtual board through hil/board.
// The measures use the contract's dial flags --connections, --duration and the upload ALPN.
package bench
