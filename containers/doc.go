// Package containers runs upstream iroh, from crates.io, as a peer of the suites: the program in
// containers/upstream (the peer contract of docs/peer-contract.md on a pinned iroh version),
// statically linked and packaged in an image FROM scratch, run through testcontainers-go with
// the host's network.
//
// Where no Docker engine answers, the same binary runs as a local process, after one line on
// stderr that says so; IROHCONF_REQUIRE_DOCKER=1 makes that an error instead (CI sets it).
// Every container and process started here is stopped and removed, also when a case fails:
// Ryuk, testcontainers' reaper, is off (it needs an image from a registry), so this package
// cleans up itself.
//
// The binaries come from `make upstream` (containers/upstream/build.sh), in build/bin as
// iroh-upstream-<version>.
package containers

import "os"

func init() {
	// Ryuk needs an image pulled from Docker Hub, and no registry is reachable. testcontainers
	// reads its configuration once, on first use, so this must be set before any.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
}
