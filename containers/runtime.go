package containers

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// Runtime is how upstream runs.
type Runtime string

const (
	// Docker runs upstream in containers (testcontainers-go), with the host's network.
	Docker Runtime = "docker"
	// Process runs the same static binary as a local process: the fallback where no Docker
	// engine answers.
	Process Runtime = "process"
)

// Environment variables read here.
const (
	// EnvRequireDocker set to 1 makes a missing Docker engine an error instead of a fallback.
	EnvRequireDocker = "IROHCONF_REQUIRE_DOCKER"
	// EnvRuntime set to docker or process chooses the runtime outright.
	EnvRuntime = "IROHCONF_UPSTREAM_RUNTIME"
)

// dockerPingTimeout bounds asking the engine whether it is there.
const dockerPingTimeout = 5 * time.Second

var (
	detectMu sync.Mutex
	// detected caches DetectRuntime's answer per environment, so the fallback line is said once.
	detected = map[string]Runtime{}
)

// FallbackRuntime is how reports name Process chosen because no Docker engine answered (as
// opposed to Process chosen on purpose).
const FallbackRuntime = "process-fallback"

// DetectRuntime picks Docker when an engine answers at DOCKER_HOST (or the default socket).
// Otherwise it says so in one line on stderr (and on log) and picks Process, unless
// IROHCONF_REQUIRE_DOCKER=1, when it returns an error. IROHCONF_UPSTREAM_RUNTIME overrides.
func DetectRuntime(ctx context.Context, log io.Writer) (Runtime, error) {
	r, _, err := detectRuntime(ctx, log)
	return r, err
}

// detectRuntime is DetectRuntime, also telling whether Process is a fallback.
func detectRuntime(ctx context.Context, log io.Writer) (r Runtime, fellBack bool, err error) {
	switch r := Runtime(os.Getenv(EnvRuntime)); r {
	case Docker, Process:
		return r, false, nil
	case "":
	default:
		return "", false, fmt.Errorf("%s=%q: want docker or process", EnvRuntime, r)
	}
	host := dockerHost()
	require := os.Getenv(EnvRequireDocker) == "1"
	cacheKey := fmt.Sprintf("%s|%t", host, require)

	detectMu.Lock()
	defer detectMu.Unlock()
	if r, ok := detected[cacheKey]; ok {
		return r, r == Process, nil
	}
	err = pingDocker(ctx)
	switch {
	case err == nil:
		detected[cacheKey] = Docker
		return Docker, false, nil
	case require:
		return "", false, fmt.Errorf("no Docker engine answers at %s: %w (%s=1: upstream must run in Docker)", host, err, EnvRequireDocker)
	}
	line := fmt.Sprintf("irohconf: no Docker engine answers at %s: %v; running upstream iroh as a local process\n", host, err)
	fmt.Fprint(os.Stderr, line)
	if log != nil && log != os.Stderr {
		fmt.Fprint(log, line)
	}
	detected[cacheKey] = Process
	return Process, true, nil
}

// dockerHost is where the Docker client looks: DOCKER_HOST or the platform's default.
func dockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return client.DefaultDockerHost
}

// newDockerClient connects as the docker CLI does (DOCKER_HOST, DOCKER_TLS_VERIFY, ...),
// speaking whatever API version the engine has (Debian's 20.10 speaks 1.41).
func newDockerClient() (*client.Client, error) {
	return client.New(client.FromEnv, client.WithAPIVersionNegotiation())
}

func pingDocker(ctx context.Context) error {
	cli, err := newDockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	_, err = cli.Ping(ctx, client.PingOptions{})
	return err
}
