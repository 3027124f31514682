package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// needDocker skips when no engine answers (the process fallback is tested separately); with
// IROHCONF_REQUIRE_DOCKER=1 (CI) DetectRuntime fails instead, and so does the test.
func needDocker(t *testing.T) {
	t.Helper()
	rt, err := DetectRuntime(context.Background(), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if rt != Docker {
		t.Skip("needs a Docker engine (none answers; the process fallback runs instead)")
	}
}

func runContainers(t *testing.T, cli *client.Client, runID string) []string {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", "org.irohconf.test-run="+runID),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Items {
		ids = append(ids, c.ID[:12]+" "+string(c.State))
	}
	return ids
}

// TestNoContainerLeftBehind: after servers, a failed dial, a server that exits at once and one
// whose ready wait times out, nothing of this run remains in the engine.
func TestNoContainerLeftBehind(t *testing.T) {
	needDocker(t)
	cli, err := newDockerClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	runBytes := make([]byte, 8)
	rand.Read(runBytes)
	runID := hex.EncodeToString(runBytes)
	labels := map[string]string{"org.irohconf.test-run": runID}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	u, err := New(ctx, Pinned[0], Options{Log: testLog{t}, Labels: labels, Runtime: Docker})
	if err != nil {
		t.Fatal(err)
	}
	server, err := u.Serve(ctx, ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, ALPN: "not-served/0", Timeout: 3 * time.Second})
	if err != nil || res.OK {
		t.Fatalf("a dial on an unserved ALPN must fail: %v %+v", err, res)
	}
	if _, err := u.Serve(ctx, ServeOptions{Extra: []string{"--no-such-flag"}}); err == nil {
		t.Error("a server with a bad flag became ready")
	} else if !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("the error does not show the server's output: %v", err)
	}
	impatient, err := New(ctx, Pinned[0], Options{Log: testLog{t}, Labels: labels, Runtime: Docker, ReadyTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impatient.Serve(ctx, ServeOptions{}); err == nil {
		t.Error("a server became ready within 1 ms")
	}

	// The label finds this run's containers: the server and the exec container are there.
	if running := runContainers(t, cli, runID); len(running) != 2 {
		t.Errorf("while running: %d containers of this run (%v), want the server and the exec container", len(running), running)
	}
	if err := u.Close(); err != nil {
		t.Error(err)
	}
	if err := impatient.Close(); err != nil {
		t.Error(err)
	}
	if left := runContainers(t, cli, runID); len(left) != 0 {
		t.Errorf("containers left behind: %v", left)
	}
	if err := server.Stop(ctx); err != nil {
		t.Errorf("stopping an already stopped server again: %v", err)
	}
}

// TestNoDockerFallsBackToProcess: with DOCKER_HOST on a dead socket, upstream runs as local
// processes (and they are gone after Close); with IROHCONF_REQUIRE_DOCKER=1 that is an error
// naming the host.
func TestNoDockerFallsBackToProcess(t *testing.T) {
	dead := "unix://" + t.TempDir() + "/no-engine.sock"
	t.Setenv("DOCKER_HOST", dead)
	t.Setenv(EnvRuntime, "")

	t.Run("fallback", func(t *testing.T) {
		t.Setenv(EnvRequireDocker, "")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ups := upstreams(t, Options{})
		for _, u := range ups {
			if u.Runtime() != Process || u.RuntimeName() != FallbackRuntime || u.Image() != "" {
				t.Fatalf("%s runs on %q (image %q), want the process runtime", u.name(), u.Runtime(), u.Image())
			}
		}
		server, err := ups[Pinned[1]].Serve(ctx, ServeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(server.Where, "pid "))
		if err != nil {
			t.Fatalf("server runs at %q, want a pid", server.Where)
		}
		res, err := ups[Pinned[0]].Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, Count: 2})
		if err != nil || !res.OK {
			t.Fatalf("dial: %v %+v", err, res)
		}
		if _, err := server.WaitConnection(ctx, res.EndpointID); err != nil {
			t.Fatal(err)
		}
		if err := ups[Pinned[1]].Close(); err != nil {
			t.Fatal(err)
		}
		if server.ExitCode() != 0 {
			t.Errorf("server exited with %d after SIGTERM, want 0", server.ExitCode())
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("server process %d is still there after Close", pid)
		}
	})
	t.Run("docker-required", func(t *testing.T) {
		t.Setenv(EnvRequireDocker, "1")
		_, err := New(context.Background(), Pinned[0], Options{Log: testLog{t}})
		if err == nil {
			t.Fatal("New succeeded without a Docker engine although Docker is required")
		}
		if !strings.Contains(err.Error(), "no Docker engine answers at "+dead) || !strings.Contains(err.Error(), EnvRequireDocker) {
			t.Errorf("the error does not say what is missing and why it matters: %v", err)
		}
	})
}

// childProcesses lists this process's children whose command name starts with prefix.
func childProcesses(t *testing.T, prefix string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) && strings.HasPrefix(s[open+1:end], prefix) {
			found = append(found, e.Name()+" "+s[open+1:end]+" "+fields[0])
		}
	}
	return found
}

// TestNoProcessLeftBehind: the process runtime leaves no process after servers, a failed dial,
// a server that exits at once and one whose ready wait times out.
func TestNoProcessLeftBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := New(ctx, Pinned[0], Options{Log: testLog{t}, Runtime: Process})
	if err != nil {
		t.Fatal(err)
	}
	server, err := u.Serve(ctx, ServeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Dial(ctx, DialOptions{Ticket: server.Ready.Ticket, ALPN: "not-served/0", Timeout: 3 * time.Second}); err != nil || res.OK {
		t.Fatalf("a dial on an unserved ALPN must fail: %v %+v", err, res)
	}
	if _, err := u.Serve(ctx, ServeOptions{Extra: []string{"--no-such-flag"}}); err == nil {
		t.Error("a server with a bad flag became ready")
	}
	impatient, err := New(ctx, Pinned[0], Options{Log: testLog{t}, Runtime: Process, ReadyTimeout: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := impatient.Serve(ctx, ServeOptions{}); err == nil {
		t.Error("a server became ready within 1 µs")
	}
	if running := childProcesses(t, "iroh-upstream"); len(running) != 1 {
		t.Errorf("while serving: %v, want the one server", running)
	}
	if err := u.Close(); err != nil {
		t.Error(err)
	}
	if err := impatient.Close(); err != nil {
		t.Error(err)
	}
	if left := childProcesses(t, "iroh-upstream"); len(left) != 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
