package relay_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
	"github.com/irohconf/irohconf/wire/relay"
)

// benchSize is one echo's payload: well past every flow-control window, long enough for the
// congestion controller to reach its rate.
const benchSize = 16 << 20

// benchmarkEcho measures a bulk echo Go to Go as a cell makes it: per iteration a new
// connection (and, through a relay, a new relay writing its capture to a file), one echo of
// benchSize timed, then everything closed untimed (the relay's Close writes out the capture).
// MB/s is payload one way; compare the variants with benchstat over several -count runs.
func benchmarkEcho(b *testing.B, via string) {
	ctx := context.Background()
	srv, err := endpoint.Listen(ctx, endpoint.Config{Handlers: (&echo.Server{}).Handlers()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	cl, err := endpoint.Listen(ctx, endpoint.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	payload := make([]byte, benchSize)
	dir := b.TempDir()
	var datagrams, reads int64
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		addr := srv.Addr()
		var r *relay.Relay
		var capFile *os.File
		if via != "direct" {
			cfg := relay.Config{Target: srv.Addr()}
			if via == "relay+capture" {
				if capFile, err = os.Create(filepath.Join(dir, "wire.pcapng")); err != nil {
					b.Fatal(err)
				}
				cfg.Capture = capFile
			}
			if r, err = relay.Start(cfg); err != nil {
				b.Fatal(err)
			}
			addr = r.Addr()
		}
		c, err := cl.Dial(ctx, srv.ID(), addr, echo.ALPN, endpoint.DialOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := echo.Echo(ctx, c, payload); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = c.Close(0, echo.CloseReason)
		if r != nil {
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			datagrams += int64(len(r.Records()))
			reads += r.Reads()
		}
		if capFile != nil {
			_ = capFile.Close()
		}
		b.StartTimer()
	}
	if reads > 0 {
		b.ReportMetric(float64(datagrams)/float64(reads), "datagrams/read")
	}
}

func BenchmarkEcho16MiB(b *testing.B) {
	for _, via := range []string{"direct", "relay", "relay+capture"} {
		b.Run(via, func(b *testing.B) { benchmarkEcho(b, via) })
	}
}
