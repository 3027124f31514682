package dissect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/irohconf/irohconf/wire/capture"
)

// The files Dissect's result is written to, next to the capture.
const (
	JSONFile     = "wire.json"
	FrameLogFile = "wire.txt"
)

// Input is a relay's capture and the key logs that decrypt it.
type Input struct {
	// Capture is the path of a pcapng written by wire/relay.
	Capture string
	// KeyLogs are SSLKEYLOGFILE files of either or both sides (one side's suffices to decrypt
	// both directions). A named file that does not exist is an error; an empty one is not (a
	// refused handshake logs no secrets).
	KeyLogs []string
	// EmbedKeyLogs rewrites the capture with the key logs in it (a pcapng Decryption Secrets
	// Block, editcap --inject-secrets), so that Wireshark opens it decrypted with no settings.
	EmbedKeyLogs bool
	// MaxFrames bounds the frames dissected: a longer capture is dissected by its first two
	// thirds and last third of MaxFrames, and Wire.Elided names the middle left out (a bulk
	// transfer's middle is stream data; what the checks read is in the handshake and the end).
	// Zero means DefaultMaxFrames; negative, no bound.
	MaxFrames int
}

// DefaultMaxFrames keeps one dissection within a second: tshark's JSON of a QUIC datagram full
// of stream data is about 15 KB, and a 16 MiB echo is some 25,000 datagrams. The longest
// capture of the matrix whose middle a check reads (echo-streams-concurrent: when each stream
// was open) is under 1000 frames; the bulk echoes' checks read the handshake and the close.
const DefaultMaxFrames = 1500

// Result is a dissected capture.
type Result struct {
	Wire *Wire
	// FrameLog is the readable frame log: a header, then one line per datagram.
	FrameLog []string
}

// Dissect decrypts and dissects the capture with tshark.
func Dissect(ctx context.Context, in Input) (*Result, error) {
	f, err := os.Open(in.Capture)
	if err != nil {
		return nil, fmt.Errorf("dissect: %w", err)
	}
	meta, err := capture.ReadMeta(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dissect: %s: %w", in.Capture, err)
	}
	version, err := TsharkVersion(ctx)
	if err != nil {
		return nil, err
	}
	keylog := ""
	if len(in.KeyLogs) > 0 {
		if keylog, err = mergeKeyLogs("", in.KeyLogs); err != nil {
			return nil, err
		}
		defer os.Remove(keylog)
	}
	w := newWire(in.Capture, meta)
	w.Tshark = version
	for _, k := range in.KeyLogs {
		w.KeyLogs = append(w.KeyLogs, filepath.Base(k))
	}
	dissected, elided, frames, err := elide(in.Capture, meta, in.MaxFrames)
	if err != nil {
		return nil, err
	}
	if dissected != in.Capture {
		defer os.Remove(dissected)
		w.Elided = elided
	}
	a := newAnalyzer(w)
	var lines []string
	err = dissectFrames(ctx, dissected, keylog, meta.Server.Port(), frames, func(layers node) error {
		d, err := parseDatagram(layers, meta.Server)
		if err != nil {
			return err
		}
		if w.Elided != nil && d.N >= w.Elided.From {
			d.N += w.Elided.Count // the number of the frame in the whole capture
		}
		a.add(d)
		lines = append(lines, d.logLine(w.Start))
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.finish()
	if in.EmbedKeyLogs && keylog != "" {
		if err := embedKeyLog(ctx, in.Capture, keylog); err != nil {
			return nil, err
		}
	}
	return &Result{Wire: w, FrameLog: append(frameLogHeader(w), lines...)}, nil
}

func newWire(capturePath string, meta capture.Meta) *Wire {
	return &Wire{
		Capture: filepath.Base(capturePath), Server: meta.Server.String(), Relay: meta.Relay.String(),
		Profile: meta.Profile, Seed: meta.Seed,
		RelayActions: map[string]map[string]int{}, Connections: []*Connection{},
	}
}

func frameLogHeader(w *Wire) []string {
	tshark := w.Tshark
	if tshark == "" {
		tshark = "not dissected"
	}
	header := []string{
		fmt.Sprintf("# %s: server %s through the relay at %s, fault profile %s (seed %d); %s",
			w.Capture, w.Server, w.Relay, orNone(w.Profile), w.Seed, tshark),
		fmt.Sprintf("# key logs: %s; %d of the QUIC packets not decrypted", orNone(strings.Join(w.KeyLogs, ", ")), w.Undecrypted),
		"# frame   time(s) dir bytes packet#number [frames]   << what the relay did, when not simply forwarded",
	}
	if w.Elided != nil {
		header = append(header, fmt.Sprintf("# frames %d-%d (%d) are in the capture but not dissected here (bulk stream data)", w.Elided.From, w.Elided.To, w.Elided.Count))
	}
	return header
}

// Empty is the dissection of a capture the relay wrote no datagram into (the client never
// dialed): a valid Wire with no frames, made without tshark.
func Empty(capturePath string) (*Result, error) {
	f, err := os.Open(capturePath)
	if err != nil {
		return nil, fmt.Errorf("dissect: %w", err)
	}
	defer f.Close()
	meta, pkts, err := capture.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("dissect: %s: %w", capturePath, err)
	}
	if len(pkts) > 0 {
		return nil, fmt.Errorf("dissect: %s holds %d datagrams, it is not empty", capturePath, len(pkts))
	}
	w := newWire(capturePath, meta)
	return &Result{Wire: w, FrameLog: frameLogHeader(w)}, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// WriteFiles writes wire.json and wire.txt into dir.
func (r *Result) WriteFiles(dir string) error {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // "client->server" stays readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(r.Wire); err != nil {
		return fmt.Errorf("dissect: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, JSONFile), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("dissect: %w", err)
	}
	log := strings.Join(r.FrameLog, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, FrameLogFile), []byte(log), 0o644); err != nil {
		return fmt.Errorf("dissect: %w", err)
	}
	return nil
}

// Files dissects the capture, writes wire.json and wire.txt next to it, and embeds the key logs
// in the capture: what a cell does after its relay closed.
func Files(ctx context.Context, capturePath string, keyLogs ...string) (*Wire, error) {
	r, err := Dissect(ctx, Input{Capture: capturePath, KeyLogs: keyLogs, EmbedKeyLogs: true})
	if err != nil {
		return nil, err
	}
	if err := r.WriteFiles(filepath.Dir(capturePath)); err != nil {
		return nil, err
	}
	return r.Wire, nil
}

// Load reads a wire.json.
func Load(path string) (*Wire, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dissect: %w", err)
	}
	var w Wire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("dissect: %s: %w", path, err)
	}
	return &w, nil
}

// Handshaken is the first connection whose handshake reached the ServerHello, or else the
// first connection; nil when the capture has none.
func (w *Wire) Handshaken() *Connection {
	for _, c := range w.Connections {
		if c.Handshake.ServerHelloFrame != 0 {
			return c
		}
	}
	if len(w.Connections) > 0 {
		return w.Connections[0]
	}
	return nil
}

// CloseBy is the first CONNECTION_CLOSE side sent; nil when it sent none.
func (c *Connection) CloseBy(side Side) *Close {
	for i := range c.Closes {
		if c.Closes[i].By == side {
			return &c.Closes[i]
		}
	}
	return nil
}
