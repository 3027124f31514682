package main

import (
	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
)

// commandBuilders are the subcommands. Each command file registers its builder from an init
// function, so adding a command touches no other file:
//
//	func init() { register(newServeCommand) }
var commandBuilders []func() *cobra.Command

func register(build func() *cobra.Command) { commandBuilders = append(commandBuilders, build) }

// newRootCommand builds a fresh command tree (tests build one per run).
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "irohconf",
		Short: "Go peer of the irohconf conformance suite (keys, tickets, echo server and client)",
		Long: "irohconf speaks iroh 1.0's direct-path protocol from Go. Every command prints JSON lines on\n" +
			"stdout and diagnostics on stderr; exit codes: 0 ok, 1 failed, 2 invalid input, 127 unsupported.",
	}
	cli.Group(root)
	root.CompletionOptions.DisableDefaultCmd = true
	for _, build := range commandBuilders {
		root.AddCommand(build())
	}
	return root
}
