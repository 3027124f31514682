package dissect

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tshark costs a third of a CPU-second before it reads the first frame (it registers every
// dissector and reads its data files), more than dissecting a small capture: a matrix of
// hundreds of cells spent most of its CPU there. sharkd is the same dissection engine as a
// long-lived process that loads one capture after another on request (Debian's tshark package
// ships it), so a process of the suites pays that start once. It dissects each frame twice (a
// pass when it loads the capture, one per frame asked for) and its trees carry labels and byte
// ranges, so a long capture is still cheaper with tshark -T json: Dissect picks sharkd up to
// sharkdMaxFrames frames.

// sharkdMaxFrames is the longest capture dissected with sharkd: past it tshark's start costs
// less than sharkd's second pass and larger trees. Measured on a 1 MiB echo's capture: sharkd
// about 1.3 ms of CPU per frame (its own and decoding its answers), tshark 0.3 s to start and
// 0.6 ms per frame.
const sharkdMaxFrames = 400

// sharkdIdle is how long an unused sharkd process stays up for the next capture: longer than a
// matrix cell that dissects nothing for a while (the idle case, 35 s).
const sharkdIdle = time.Minute

// sharkdPath finds sharkd next to tshark.
func sharkdPath() (string, error) {
	p, err := exec.LookPath("sharkd")
	if err != nil {
		return "", errors.New("dissect: sharkd is not installed (Debian package tshark: apt-get install tshark)")
	}
	return p, nil
}

// CheckTools checks that tshark and sharkd are installed.
func CheckTools(ctx context.Context) error {
	if _, err := TsharkVersion(ctx); err != nil {
		return err
	}
	_, err := sharkdPath()
	return err
}

// sharkd is one sharkd process, talked to in JSON-RPC lines on its stdin and stdout.
type sharkd struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *os.File // an unlinked temporary file: sharkd logs every load there
	id     int
	idle   *time.Timer
}

// sharkds are the idle sharkd processes of this process.
var sharkds struct {
	mu   sync.Mutex
	idle []*sharkd
}

// getSharkd returns an idle sharkd process (reused) or starts one.
func getSharkd() (s *sharkd, reused bool, err error) {
	sharkds.mu.Lock()
	for len(sharkds.idle) > 0 {
		s := sharkds.idle[len(sharkds.idle)-1]
		sharkds.idle = sharkds.idle[:len(sharkds.idle)-1]
		if s.idle.Stop() { // else its idle timer is closing it
			sharkds.mu.Unlock()
			return s, true, nil
		}
	}
	sharkds.mu.Unlock()
	s, err = startSharkd()
	return s, false, err
}

// putSharkd keeps s for the next capture, closing it after sharkdIdle unused.
func putSharkd(s *sharkd) {
	sharkds.mu.Lock()
	defer sharkds.mu.Unlock()
	sharkds.idle = append(sharkds.idle, s)
	s.idle.Reset(sharkdIdle)
}

// CloseSharkd stops the idle sharkd processes now (they also stop after sharkdIdle unused, and
// when this process exits: their stdin closes).
func CloseSharkd() {
	sharkds.mu.Lock()
	idle := sharkds.idle
	sharkds.idle = nil
	sharkds.mu.Unlock()
	for _, s := range idle {
		if s.idle.Stop() {
			s.close()
		}
	}
}

func startSharkd() (*sharkd, error) {
	p, err := sharkdPath()
	if err != nil {
		return nil, err
	}
	stderr, err := os.CreateTemp("", "irohconf-sharkd-*.log")
	if err != nil {
		return nil, fmt.Errorf("dissect: %w", err)
	}
	os.Remove(stderr.Name())
	cmd := exec.Command(p, "-")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("dissect: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("dissect: %w", err)
	}
	if err := cmd.Start(); err != nil {
		stderr.Close()
		return nil, fmt.Errorf("dissect: starting sharkd: %w", err)
	}
	s := &sharkd{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 1<<20), stderr: stderr}
	s.idle = time.AfterFunc(time.Hour, s.closeIdle)
	s.idle.Stop()
	return s, nil
}

// closeIdle is the idle timer's: it takes s out of the idle list and stops it.
func (s *sharkd) closeIdle() {
	sharkds.mu.Lock()
	for i, x := range sharkds.idle {
		if x == s {
			sharkds.idle = append(sharkds.idle[:i], sharkds.idle[i+1:]...)
			break
		}
	}
	sharkds.mu.Unlock()
	s.close()
}

// close ends the process: sharkd exits when its stdin closes; it is killed if it does not
// within a second.
func (s *sharkd) close() {
	s.stdin.Close()
	done := make(chan struct{})
	kill := time.AfterFunc(time.Second, func() {
		select {
		case <-done:
		default:
			_ = s.cmd.Process.Kill()
		}
	})
	_ = s.cmd.Wait()
	close(done)
	kill.Stop()
	s.stderr.Close()
}

// sharkdError is an error sharkd answered a request with.
type sharkdError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// call sends one request and reads its answer into result. Any error but one sharkd answered
// leaves the process in an unknown state: the caller closes it.
func (s *sharkd) call(ctx context.Context, method string, params any, result any) (answered error, err error) {
	s.id++
	r := map[string]any{"jsonrpc": "2.0", "id": s.id, "method": method}
	if params != nil {
		r["params"] = params
	}
	req, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.cmd.Process.Kill() })
	defer stop()
	if _, err := s.stdin.Write(append(req, '\n')); err != nil {
		return nil, s.failed(ctx, err)
	}
	line, err := s.stdout.ReadBytes('\n')
	if err != nil {
		return nil, s.failed(ctx, err)
	}
	var resp struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *sharkdError    `json:"error"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("dissect: sharkd's answer to %s: %w", method, err)
	}
	if resp.ID != s.id {
		return nil, fmt.Errorf("dissect: sharkd answered request %d, not %d", resp.ID, s.id)
	}
	if resp.Error != nil {
		return fmt.Errorf("dissect: sharkd %s: %s (%d)", method, resp.Error.Message, resp.Error.Code), nil
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return nil, fmt.Errorf("dissect: sharkd's answer to %s: %w", method, err)
		}
	}
	return nil, nil
}

func (s *sharkd) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("dissect: sharkd: %w", ctx.Err())
	}
	var log []byte
	if st, serr := s.stderr.Stat(); serr == nil {
		from := max(st.Size()-2048, 0)
		log = make([]byte, st.Size()-from)
		n, _ := s.stderr.ReadAt(log, from)
		log = log[:n]
	}
	return fmt.Errorf("dissect: sharkd: %w: %s", err, lastLines(string(log), 5))
}

// sharkdDissect dissects the capture in a sharkd process, with the key log (or none), and calls
// each with every frame's layers as tshark -T json would give them.
func sharkdDissect(ctx context.Context, pcap, keylog string, each func(layers node) error) error {
	s, reused, err := getSharkd()
	if err != nil {
		return err
	}
	frames := 0
	counted := func(layers node) error {
		frames++
		return each(layers)
	}
	answered, err := s.dissect(ctx, pcap, keylog, counted)
	if err != nil && reused && frames == 0 && ctx.Err() == nil {
		// A process kept from an earlier capture may have ended since (killed, out of memory):
		// once more with a new one, since nothing was read yet.
		s.close()
		if s, err = startSharkd(); err != nil {
			return err
		}
		answered, err = s.dissect(ctx, pcap, keylog, counted)
	}
	if err != nil {
		s.close()
		return err
	}
	putSharkd(s)
	return answered
}

// dissect returns sharkd's refusal or the caller's error as answered (the process is fine
// afterwards), and anything else as err.
func (s *sharkd) dissect(ctx context.Context, pcap, keylog string, each func(layers node) error) (answered error, err error) {
	// A file with no secrets when there is no key log: the setting stays from the last capture.
	if keylog == "" {
		keylog = os.DevNull
	}
	if answered, err := s.call(ctx, "setconf", map[string]string{"name": "tls.keylog_file", "value": keylog}, nil); answered != nil || err != nil {
		return answered, err
	}
	if answered, err := s.call(ctx, "load", map[string]string{"file": pcap}, nil); answered != nil || err != nil {
		return answered, err
	}
	var status struct {
		Frames int `json:"frames"`
	}
	if answered, err := s.call(ctx, "status", nil, &status); answered != nil || err != nil {
		return answered, err
	}
	for i := 1; i <= status.Frames; i++ {
		var fr struct {
			Tree []treeItem `json:"tree"`
		}
		answered, err := s.call(ctx, "frame", map[string]any{"frame": i, "proto": true}, &fr)
		if answered != nil || err != nil {
			return answered, err
		}
		if err := each(layersOf(fr.Tree)); err != nil {
			return err, nil
		}
	}
	return nil, nil
}

// treeItem is one item of sharkd's protocol tree: its label, its display filter ("field ==
// value", or the field alone when it has no value; none for a text item) and its children.
type treeItem struct {
	Label    string     `json:"l"`
	Filter   string     `json:"f"`
	Children []treeItem `json:"n"`
}

// layersOf turns a frame's tree into the layers tshark -T json --no-duplicate-keys -J "frame ip
// ipv6 udp quic pkt_comment" prints: a field is "name": "value", its children "name_tree"; a
// protocol or a field without a value is "name": {children}; a text item is keyed by its label;
// a repeated key holds an array.
func layersOf(tree []treeItem) node {
	layers := node{}
	for _, it := range tree {
		name, _, _ := fieldOf(it)
		switch name {
		case "frame", "ip", "ipv6", "udp", "quic", "pkt_comment":
			addItem(layers, it)
		}
	}
	return layers
}

func treeNode(items []treeItem) node {
	n := node{}
	for _, it := range items {
		addItem(n, it)
	}
	return n
}

func addItem(n node, it treeItem) {
	name, value, hasValue := fieldOf(it)
	if strings.HasPrefix(name, "frame[") || (name == it.Label && len(it.Children) > 0) {
		// A field without a value of its own (FT_NONE) shows its bytes or nothing: the few the
		// analysis asks for by name are known by their first child.
		if n, ok := noneField(it); ok {
			name, hasValue = n, false
		} else if it.Filter != "text" {
			// Others keep their order under one key (tshark names them all the same, e.g.
			// key share entries); only text items are looked up by their label.
			name, hasValue = otherNone, false
		}
	}
	switch {
	case len(it.Children) == 0:
		addKey(n, name, value)
	case hasValue:
		addKey(n, name, value)
		addKey(n, name+"_tree", treeNode(it.Children))
	default:
		addKey(n, name, treeNode(it.Children))
	}
}

// addKey adds a value under key, making an array of a repeated key.
func addKey(n node, key string, v any) {
	switch old := n[key].(type) {
	case nil:
		n[key] = v
	case []any:
		n[key] = append(old, v)
	default:
		n[key] = []any{old, v}
	}
}

// otherNone holds, in order, the fields without a value that noneField does not name.
const otherNone = "_none"

// noneField names the fields without a value that the analysis looks up by name or needs in
// order: QUIC frames, a short header, TLS handshake messages, transport parameters (each known
// by its first child).
func noneField(it treeItem) (string, bool) {
	if len(it.Children) == 0 {
		return "", false
	}
	first, _, _ := fieldOf(it.Children[0])
	switch {
	case first == "quic.frame_type":
		return "quic.frame", true
	case first == "quic.header_form" && strings.HasPrefix(it.Label, "QUIC Short Header"):
		return "quic.short", true
	case first == "tls.handshake.type":
		return "tls.handshake", true // in order: a flight's messages
	case first == "tls.quic.parameter.type":
		return "tls.quic.parameter", true
	}
	return "", false
}

// fieldOf splits a tree item's filter into the field's name and value; a text item's name is
// its label.
func fieldOf(it treeItem) (name, value string, hasValue bool) {
	if it.Filter == "" || it.Filter == "text" {
		return it.Label, "", false
	}
	name, value, hasValue = strings.Cut(it.Filter, " == ")
	if hasValue && strings.HasPrefix(value, `"`) {
		if s, err := strconv.Unquote(value); err == nil {
			value = s
		} else {
			value = strings.Trim(value, `"`)
		}
	}
	return name, value, hasValue
}

// engine, when set, is the only way captures are dissected ("tshark" or "sharkd"): for tests
// that compare the two.
var engine string

// dissectFrames dissects the capture of frames frames with sharkd or tshark (see sharkdMaxFrames).
func dissectFrames(ctx context.Context, pcap, keylog string, serverPort uint16, frames int, each func(layers node) error) error {
	if engine == "sharkd" || (engine == "" && frames <= sharkdMaxFrames) {
		return sharkdDissect(ctx, pcap, keylog, each)
	}
	return runTshark(ctx, pcap, keylog, serverPort, each)
}
