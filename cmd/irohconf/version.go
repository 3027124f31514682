package main

import (
	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
)

func init() { register(newVersionCommand) }

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: `Print {"version":..,"go":..,"quic_go":..}`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cli.Stdout(cmd).Line(cli.CurrentBuild())
		},
	}
}
