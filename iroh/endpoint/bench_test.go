package endpoint_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/echo"
	"github.com/irohconf/irohconf/iroh/endpoint"
)

// BenchmarkHandshake measures a full mutual raw-public-key handshake Go to Go on loopback: dial,
// handshake, close with code 0.
func BenchmarkHandshake(b *testing.B) {
	srv := listen(b, endpoint.Config{Handlers: (&echo.Server{}).Handlers()})
	cl := client(b)
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU(b)
	for b.Loop() {
		c, err := cl.Dial(ctx, srv.ID(), srv.Addr(), echo.ALPN, endpoint.DialOptions{})
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Close(0, echo.CloseReason)
	}
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

func benchmarkEcho(b *testing.B, size int) {
	srv := listen(b, endpoint.Config{Handlers: (&echo.Server{}).Handlers()})
	cl := client(b)
	ctx := context.Background()
	c, err := cl.Dial(ctx, srv.ID(), srv.Addr(), echo.ALPN, endpoint.DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(0, echo.CloseReason)
	payload := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu := processCPU(b)
	for b.Loop() {
		if _, err := echo.Echo(ctx, c, payload); err != nil {
			b.Fatal(err)
		}
	}
	// On a shared machine wall time swings with the load; the CPU both sides spent per MB of
	// payload (one way) does much less.
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(time.Millisecond)/(float64(b.N)*float64(size)/1e6), "cpu-ms/MB")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The echo benchmarks run one echo (one stream) per iteration on one connection; the bytes
// counted are the payload one way.
func BenchmarkEcho13B(b *testing.B)   { benchmarkEcho(b, 13) }
func BenchmarkEcho64KiB(b *testing.B) { benchmarkEcho(b, 64<<10) }
func BenchmarkEcho1MiB(b *testing.B)  { benchmarkEcho(b, 1<<20) }
func BenchmarkEcho16MiB(b *testing.B) { benchmarkEcho(b, 16<<20) }
