package containers

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
)

// Ryuk, testcontainers' reaper, removes a killed test's containers; it is off here (its image
// would come from a registry). Instead every container is labelled with the process that owns
// it, and New removes the containers whose owner is gone: a run that was killed (Ctrl-C, a CI
// timeout) leaves nothing behind for longer than the next run's start.

const labelOwner = "org.irohconf.owner"

// owner names this process: pid and start time (so a reused pid is not mistaken for it).
var owner = processOwner(os.Getpid())

func processOwner(pid int) string {
	return strconv.Itoa(pid) + ":" + processStartTime(pid)
}

// processStartTime is field 22 of /proc/<pid>/stat (clock ticks since boot), or "" when the
// process does not exist.
func processStartTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; it ends at the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// ownerAlive tells whether the process a label names is still running.
func ownerAlive(label string) bool {
	pid, start, ok := strings.Cut(label, ":")
	if !ok {
		return false
	}
	n, err := strconv.Atoi(pid)
	if err != nil {
		return false
	}
	return start != "" && processStartTime(n) == start
}

// sweepOrphans removes upstream containers whose owning process is gone.
func sweepOrphans(ctx context.Context, cli *client.Client, log io.Writer) error {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", "org.irohconf.peer=upstream"),
	})
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	for _, c := range list.Items {
		if ownerAlive(c.Labels[labelOwner]) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			fmt.Fprintf(log, "upstream: removing orphaned container %.12s: %v\n", c.ID, err)
			continue
		}
		fmt.Fprintf(log, "upstream: removed container %.12s left by a process that is gone (%s)\n", c.ID, c.Labels[labelOwner])
	}
	return nil
}
