package containers

import (
	"context"
	"io"
	"testing"

	"github.com/moby/moby/client"
)

// Benchmarks of what a matrix cell costs: building or checking the image, starting and stopping
// a server, one dial. `go test -run '^$' -bench . ./containers/`.

func benchUpstream(b *testing.B, rt Runtime) *Upstream {
	b.Helper()
	if rt == Docker {
		if r, err := DetectRuntime(context.Background(), io.Discard); err != nil || r != Docker {
			b.Skip("needs a Docker engine")
		}
	}
	u, err := New(context.Background(), Pinned[0], Options{Runtime: rt})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { u.Close() })
	return u
}

// BenchmarkImageBuild: the image built from scratch each time (a new binary). It uses a tag of
// its own, so tests running meanwhile keep theirs.
func BenchmarkImageBuild(b *testing.B) {
	u := benchUpstream(b, Docker)
	ctx := context.Background()
	const tag Version = "benchmark"
	remove := func() {
		if _, err := u.docker.ImageRemove(ctx, ImageTag(tag), client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := ensureImage(ctx, u.docker, tag, u.binary, io.Discard); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		remove()
		b.StartTimer()
	}
}

// BenchmarkImageCheck: the image already holds this binary (hash it, inspect the image).
func BenchmarkImageCheck(b *testing.B) {
	u := benchUpstream(b, Docker)
	for b.Loop() {
		if _, err := ensureImage(context.Background(), u.docker, u.version, u.binary, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkServeStop(b *testing.B) {
	for _, rt := range []Runtime{Docker, Process} {
		b.Run(string(rt), func(b *testing.B) {
			u := benchUpstream(b, rt)
			ctx := context.Background()
			for b.Loop() {
				s, err := u.Serve(ctx, ServeOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Stop(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDial: one dial with one 13-byte echo, the program started by docker exec or as a
// process each time (handshake included).
func BenchmarkDial(b *testing.B) {
	for _, rt := range []Runtime{Docker, Process} {
		b.Run(string(rt), func(b *testing.B) {
			u := benchUpstream(b, rt)
			ctx := context.Background()
			s, err := u.Serve(ctx, ServeOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop(ctx)
			for b.Loop() {
				res, err := u.Dial(ctx, DialOptions{Ticket: s.Ready.Ticket})
				if err != nil || !res.OK {
					b.Fatalf("%v %+v", err, res)
				}
			}
		})
	}
}
