package main

import (
	"encoding/hex"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/iroh/key"
)

func init() { register(newKeyCommand) }

func newKeyCommand() *cobra.Command {
	cmd := cli.Group(&cobra.Command{
		Use:   "key",
		Short: "Endpoint keys: generate, derive, inspect",
	})
	cmd.AddCommand(newKeyGenerateCommand(), newKeyPublicCommand(), newKeyInspectCommand())
	return cmd
}

func newKeyGenerateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: `Print a new key pair: {"secret":"<64 hex seed>","endpoint_id":"<64 hex>"}`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sk, err := key.GenerateSecretKey()
			if err != nil {
				return err
			}
			return cli.Stdout(cmd).Line(map[string]string{"secret": sk.Hex(), "endpoint_id": sk.Public().String()})
		},
	}
}

func newKeyPublicCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "public SECRET",
		Short: `Derive the endpoint id of a secret key (64 hex or 52 base32): {"endpoint_id":..}`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sk, err := key.ParseSecretKey(args[0])
			if err != nil {
				return cli.Invalid(err)
			}
			return cli.Stdout(cmd).Line(map[string]string{"endpoint_id": sk.Public().String()})
		},
	}
}

func newKeyInspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect ENDPOINT_ID",
		Short: "Show an endpoint id (64 hex or 52 base32) in iroh's other forms",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pk, err := key.ParsePublicKey(args[0])
			if err != nil {
				return cli.Invalid(err)
			}
			return cli.Stdout(cmd).Line(map[string]string{
				"endpoint_id":     pk.String(),
				"short":           pk.Short(),
				"tls_server_name": pk.TLSServerName(),
				"spki":            hex.EncodeToString(pk.SPKI()),
			})
		},
	}
}
