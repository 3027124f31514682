// Command irohconf is the Go peer of the conformance suite: keys, tickets, and (in serve.go and
// dial.go) an iroh-compatible echo server and client. Its subcommands, flags, JSON lines and exit
// codes follow docs/peer-contract.md.
package main

import "github.com/irohconf/irohconf/internal/cli"

func main() {
	cli.Main(newRootCommand())
}
