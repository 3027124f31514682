package reports

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// evilReason is what a reason may look like when it quotes a peer's output: markup, quotes,
// control characters, a CDATA end, Markdown table and fence characters, line breaks.
const evilReason = "echo mismatch at byte 17: <script>alert(\"x\")</script> & ]]> | ``` \x1b[31mred\x1b[0m\x00\nsecond line 'quoted'"

func ptr(f float64) *float64 { return &f }

// sampleRun builds a run in a fresh reports root, with a log file in every cell's log folder,
// covering every outcome, a pair without cells and a server-only peer.
func sampleRun(t testing.TB) (root, runDir string, run Run) {
	t.Helper()
	root = t.TempDir()
	start := time.Date(2026, 11, 27, 4, 15, 0, 0, time.UTC)
	runDir, err := NewRunDir(root, start)
	if err != nil {
		t.Fatal(err)
	}
	run = Run{
		Suite: "interop",
		Start: start,
		End:   start.Add(93 * time.Second),
		Host:  map[string]string{"os": "linux", "arch": "amd64", "hostname": "ci<1>"},
		Peers: []Peer{
			{Name: "go", Kind: KindGo, Version: "v0.1.0", Runtime: RuntimeInProcess, Roles: []string{RoleClient, RoleServer},
				Manifest: map[string]any{"alpns": []string{"echo/0"}, "max_bidi_streams": 100}},
			{Name: "upstream-1.4.1", Kind: KindUpstream, Version: "1.4.1", Runtime: RuntimeDocker, Roles: []string{RoleClient, RoleServer}},
			{Name: "virtual-board", Kind: KindVirtualBoard, Version: "fw 0.3.0 (abc123)", Runtime: RuntimePTY,
				Roles: []string{RoleServer, RoleConsole}, Unsupported: []string{"echo-concurrent"}},
		},
		Cases: []Case{
			{Name: "handshake", Abbr: "H", Description: "the client dials the server's ticket; both see each other's id"},
			{Name: "echo-small", Abbr: "E", Description: "a 1 KiB payload comes back identical"},
			{Name: "echo-concurrent", Abbr: "EC", Description: "four concurrent streams echo"},
			{Name: "ticket", Abbr: "T", Description: "the printed ticket parses & <names> the peer"},
		},
	}
	add := func(client, server, kase string, o Outcome, reason string) {
		dir, err := CellLogDir(runDir, client, server, kase)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "output.txt"), []byte("log of "+kase+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := Cell{Client: client, Server: server, Case: kase, Outcome: o, Reason: reason,
			Start: start.Add(time.Duration(len(run.Cells)) * time.Second), DurationMS: 120.5 + float64(len(run.Cells)),
			Logs: CellLogPath(client, server, kase)}
		if kase == "handshake" && o == Succeeded {
			c.HandshakeMS = ptr(3.25)
		}
		if kase == "echo-small" && o == Succeeded {
			c.ThroughputMbps = ptr(42.5)
			c.Metrics = map[string]float64{"bytes": 1024}
		}
		if server == "virtual-board" {
			c.PeerVersions = map[string]string{"virtual-board": "fw 0.3.0 (abc123)"}
		}
		run.Cells = append(run.Cells, c)
	}
	for _, client := range []string{"go", "upstream-1.4.1"} {
		for _, server := range []string{"go", "upstream-1.4.1", "virtual-board"} {
			if client == "upstream-1.4.1" && server == "upstream-1.4.1" {
				continue // a pair without cells
			}
			add(client, server, "handshake", Succeeded, "")
			switch {
			case client == "go" && server == "upstream-1.4.1":
				add(client, server, "echo-small", Failed, evilReason)
			case client == "upstream-1.4.1" && server == "virtual-board":
				add(client, server, "echo-small", Error, "board did not answer within 10s")
			default:
				add(client, server, "echo-small", Succeeded, "")
			}
			if server == "virtual-board" {
				add(client, server, "echo-concurrent", Unsupported, "virtual-board declares echo-concurrent unsupported")
			} else {
				add(client, server, "echo-concurrent", Succeeded, "")
			}
		}
	}
	return root, runDir, run
}
