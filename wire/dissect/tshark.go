package dissect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// ErrNoTshark is returned when tshark is not installed.
var ErrNoTshark = errors.New("dissect: tshark is not installed (Debian package tshark: apt-get install tshark)")

// tsharkPath finds tshark on PATH.
func tsharkPath() (string, error) {
	p, err := exec.LookPath("tshark")
	if err != nil {
		return "", ErrNoTshark
	}
	return p, nil
}

// TsharkVersion is the first line of `tshark --version`, asked once per tshark binary (each
// run of tshark costs a fifth of a second, and every cell dissects).
func TsharkVersion(ctx context.Context) (string, error) {
	p, err := tsharkPath()
	if err != nil {
		return "", err
	}
	versionMu.Lock()
	defer versionMu.Unlock()
	if v, ok := versions[p]; ok {
		return v, nil
	}
	out, err := exec.CommandContext(ctx, p, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("dissect: tshark --version: %w", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	versions[p] = strings.TrimSpace(line)
	return versions[p], nil
}

var (
	versionMu sync.Mutex
	versions  = map[string]string{}
)

// mergeKeyLogs writes every key log into one file for tshark; the caller removes it. Missing
// files are an error: a key log the caller names but that does not exist is a broken test bed.
func mergeKeyLogs(dir string, paths []string) (string, error) {
	f, err := os.CreateTemp(dir, "keylog-merged-*.txt")
	if err != nil {
		return "", fmt.Errorf("dissect: %w", err)
	}
	defer f.Close()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			_ = os.Remove(f.Name())
			return "", fmt.Errorf("dissect: key log: %w", err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b, '\n')
		}
		if _, err := f.Write(b); err != nil {
			_ = os.Remove(f.Name())
			return "", fmt.Errorf("dissect: %w", err)
		}
	}
	return f.Name(), nil
}

// runTshark dissects the capture with QUIC decoded on serverPort and calls each with the
// layers of every frame, in order.
func runTshark(ctx context.Context, pcap, keylog string, serverPort uint16, each func(layers node) error) error {
	p, err := tsharkPath()
	if err != nil {
		return err
	}
	args := []string{"-n", "-r", pcap,
		"-d", fmt.Sprintf("udp.port==%d,quic", serverPort),
		"-T", "json", "--no-duplicate-keys",
		"-J", "frame ip ipv6 udp quic pkt_comment"}
	if keylog != "" {
		args = append(args, "-o", "tls.keylog_file:"+keylog)
	}
	cmd := exec.CommandContext(ctx, p, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("dissect: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dissect: starting tshark: %w", err)
	}
	parseErr := decodeFrames(bufio.NewReaderSize(out, 1<<20), each)
	if parseErr != nil {
		_, _ = io.Copy(io.Discard, out) // let tshark finish writing before Wait
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("dissect: tshark on %s: %w", pcap, ctx.Err())
	}
	if waitErr != nil {
		return fmt.Errorf("dissect: tshark on %s: %w: %s", pcap, waitErr, lastLines(stderr.String(), 5))
	}
	return parseErr
}

// decodeFrames reads tshark's JSON array one frame at a time.
func decodeFrames(r io.Reader, each func(layers node) error) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("dissect: tshark output: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("dissect: tshark output does not start with an array (%v)", tok)
	}
	for dec.More() {
		var pkt struct {
			Source struct {
				Layers node `json:"layers"`
			} `json:"_source"`
		}
		if err := dec.Decode(&pkt); err != nil {
			return fmt.Errorf("dissect: tshark output: %w", err)
		}
		if err := each(pkt.Source.Layers); err != nil {
			return err
		}
	}
	return nil
}

func lastLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.Contains(l, "Running as user") { // tshark's root warning
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "; ")
}

// embedKeyLog rewrites the capture with keylog in a Decryption Secrets Block.
func embedKeyLog(ctx context.Context, pcap, keylog string) error {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		return errors.New("dissect: editcap is not installed (it comes with Debian's tshark, in wireshark-common)")
	}
	tmp := pcap + ".keys.tmp"
	out, err := exec.CommandContext(ctx, editcap, "--inject-secrets", "tls,"+keylog, pcap, tmp).CombinedOutput()
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("dissect: embedding the key logs in %s: %w: %s", pcap, err, lastLines(string(out), 5))
	}
	if err := os.Rename(tmp, pcap); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("dissect: %w", err)
	}
	return nil
}
