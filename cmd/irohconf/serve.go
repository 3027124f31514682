package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/iroh/contract"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/iroh/key"
)

func init() { register(newServeCommand) }

func newServeCommand() *cobra.Command {
	var (
		bind, secret, keylog string
		alpns                []string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve iroh echo until SIGINT or SIGTERM, printing a ready line and one line per connection",
		Long: `Serve iroh echo on a UDP address (loopback by default) with raw public keys.

The first stdout line is {"event":"ready",...} with the endpoint id, ticket and address; then one
{"event":"connection",...} line per finished or refused connection. SIGINT or SIGTERM closes every
connection with code 0 and the endpoint, and the program exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := contract.ServeConfig{Bind: bind, ALPNs: alpns, Version: peerVersion()}
			if secret != "" {
				sk, err := key.ParseSecretKey(secret)
				if err != nil {
					return usageError(fmt.Errorf("--secret: %w", err))
				}
				cfg.Secret = &sk
			}
			if _, err := netip.ParseAddrPort(bind); err != nil {
				return usageError(fmt.Errorf("--bind: want IP:PORT: %w", err))
			}
			for _, a := range alpns {
				if a == "" {
					return usageError(fmt.Errorf("--alpn: an empty ALPN cannot be served"))
				}
			}
			if keylog != "" {
				f, err := openKeyLog(keylog)
				if err != nil {
					return usageError(err)
				}
				defer f.Close()
				cfg.KeyLog = f
			}
			if n, ok := serveProcs(os.Getenv("GOMAXPROCS"), runtime.NumCPU()); ok {
				runtime.GOMAXPROCS(n)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cli.Stdout(cmd)
			var writeErr error
			emit := func(v any) { // Serve never calls emit concurrently
				if err := out.Line(v); err != nil && writeErr == nil {
					writeErr = failure(fmt.Errorf("writing to stdout: %w", err))
				}
			}
			if err := contract.Serve(ctx, cfg, emit); err != nil {
				return failure(err)
			}
			return writeErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&bind, "bind", endpoint.DefaultBind, "UDP address to listen on")
	f.StringArrayVar(&alpns, "alpn", nil, "ALPN to serve echo on, or upload on irohconf/upload/0 (repeatable; default echo/0 and iroh-example/echo/0)")
	f.StringVar(&secret, "secret", "", "the endpoint's secret key, 64 hex characters (default: a fresh key)")
	f.StringVar(&keylog, "keylog", "", "append the TLS key log (SSLKEYLOGFILE format) to this file")
	return cmd
}

// serveProcs is how many threads run the server's Go code at once (GOMAXPROCS), unless the
// GOMAXPROCS environment variable (env) chooses: half the machine's cpus, at least one. The
// server shares its machine with the peer that dials it (every pair here runs on one machine).
// With a thread per core (Go's default), quic-go's goroutines (socket reader, server, connection,
// TLS handshake, send queue) spread over all the cores and wake each other across them, on the
// core the dialing peer needs next. On 2 cores (one thread), with upstream iroh 1.4.1 dialing on
// loopback, the handshake median went from 1.92 ms to 1.65 ms (upstream's server: 1.56 ms), and
// 64 MiB echo and upload did not get slower (docs/go-peer.md).
func serveProcs(env string, cpus int) (n int, set bool) {
	if env != "" {
		return 0, false
	}
	return max(1, cpus/2), true
}

// openKeyLog opens a key log for appending, as SSLKEYLOGFILE consumers expect.
func openKeyLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--keylog: %w", err)
	}
	return f, nil
}

// peerVersion is the ready line's version: the binary's version, its QUIC library and Go.
func peerVersion() string {
	b := cli.CurrentBuild()
	return fmt.Sprintf("%s (quic-go %s, %s)", b.Version, b.QUICGo, b.Go)
}
