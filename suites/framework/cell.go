package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/irohconf/irohconf/peercontract"
)

// Case is one entry of the catalogue: written once, run for every pair whose peers declare
// what it needs.
type Case struct {
	Name        string
	Abbr        string
	Description string
	// ClientNeeds and ServerNeeds are the features the case needs of each side: a side that
	// does not declare one makes the cell unsupported without running it, and the spec is
	// labelled needs:<feature> for each.
	ClientNeeds, ServerNeeds []Feature
	// Needs, when set, checks what else the pair must declare (an ALPN, a payload size); a
	// non-nil error (made with NotDeclared) makes the cell unsupported.
	Needs func(client, server Manifest) error
	// Run runs the case in one cell. Errors made with Testbed end the cell as error, others as
	// failed.
	Run func(ctx context.Context, c *Cell) error
	// Timeout bounds the whole cell.
	Timeout time.Duration
	// Waits is how long the case waits on purpose with nothing to do (the idle case): such
	// cells start first in every other pair, so that their waits overlap other pairs' work.
	Waits time.Duration
	// Profile, when set, is the fault profile (wire/faults) of the cell's relay: the network the
	// case runs over. Its specs are labelled net:<profile> (see faults.go).
	Profile string
}

// Cell is one (client, server, case) run: what a case sees of its peers, and where it writes.
type Cell struct {
	Client    ClientPeer
	Server    Server
	ServerLog *Tap
	ClientLog *Tap
	// LogDir is the cell's own folder: logs/<client>__<server>/<case>/.
	LogDir string
	// ServerPeer is the server's peer (for its manifest).
	ServerPeer ServerPeer

	// wire is the cell's relay and capture (wire.go); announced is the server as it announced
	// itself, before the relay took its place in Server.
	wire      *cellWire
	announced Server
	// path is what the cell's relay does to its datagrams (faults.go), once it started.
	path    *WirePath
	keyLogs int // client key logs handed out (dialKeyLog)

	mu      sync.Mutex
	metrics map[string]float64
	notes   []string
}

// ClientManifest and ServerManifest are what the two peers declared.
func (c *Cell) ClientManifest() Manifest { return c.Client.Manifest() }
func (c *Cell) ServerManifest() Manifest { return c.ServerPeer.Manifest() }

// Record keeps a measurement for the report (handshake_ms, throughput_mbps, boot_ms, ...).
func (c *Cell) Record(name string, v float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics == nil {
		c.metrics = map[string]float64{}
	}
	c.metrics[name] = v
}

// Metrics returns a copy of what was recorded.
func (c *Cell) Metrics() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]float64, len(c.metrics))
	for k, v := range c.metrics {
		out[k] = v
	}
	return out
}

// Notef adds a line to the cell's own notes (cell.log).
func (c *Cell) Notef(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, time.Now().UTC().Format("15:04:05.000000")+" "+fmt.Sprintf(format, args...))
}

// KeyLogPath is where the client of this cell writes its TLS key log.
func (c *Cell) KeyLogPath(name string) string {
	return filepath.Join(c.LogDir, "keylog-"+name+".txt")
}

// Dial runs one dial with the cell's client, logging the request and result.
func (c *Cell) Dial(ctx context.Context, req DialRequest) (peercontract.Result, error) {
	if req.KeyLog == "" {
		req.KeyLog = c.dialKeyLog()
	}
	c.Notef("dial alpn=%s size=%d count=%d streams=%d idle=%s", req.ALPN, req.Size, req.Count, req.Streams, req.Idle)
	res, err := c.Client.Dial(ctx, req, c.ClientLog)
	if err != nil {
		c.Notef("dial: test bed error: %v", err)
		return res, Testbed(err)
	}
	c.Notef("dial result: ok=%v remote=%s handshake=%.2fms bytes=%d error=%q", res.OK, res.RemoteID, res.HandshakeMS, res.Bytes, res.Error)
	return res, nil
}

func (c *Cell) writeNotes(outcome Outcome, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.Create(filepath.Join(c.LogDir, "cell.log"))
	if err != nil {
		return err
	}
	for _, n := range c.notes {
		fmt.Fprintln(f, n)
	}
	fmt.Fprintf(f, "outcome: %s\n", outcome)
	if reason != "" {
		fmt.Fprintf(f, "reason: %s\n", reason)
	}
	return f.Close()
}
func (k Case) needs(client, server Manifest) error {
	if !client.HasRole(RoleClient) {
		return NotDeclared(client.Name, "%s does not declare the client role", client.Name)
	}
	if !server.HasRole(RoleServer) {
		return NotDeclared(server.Name, "%s does not declare the server role", server.Name)
	}
	for _, f := range k.ClientNeeds {
		if !client.Has(f) {
			return NotDeclared(client.Name, "client %s does not declare %s", client.Name, f)
		}
	}
	for _, f := range k.ServerNeeds {
		if !server.Has(f) {
			return NotDeclared(server.Name, "server %s does not declare %s", server.Name, f)
		}
	}
	if k.Needs == nil {
		return nil
	}
	return k.Needs(client, server)
}

// labels are the spec's labels of the case: case:<name> and needs:<feature>.
func (k Case) labels() []string {
	labels := []string{"case:" + k.Name}
	if k.Profile != "" {
		labels = append(labels, ProfileLabel(k.Profile))
	}
	for _, f := range append(slices.Clone(k.ClientNeeds), k.ServerNeeds...) {
		if l := "needs:" + string(f); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

func (k Case) timeout() time.Duration {
	if k.Timeout > 0 {
		return k.Timeout
	}
	return 30 * time.Second
}
