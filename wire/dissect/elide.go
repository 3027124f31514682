package dissect

import (
	"fmt"
	"os"

	"github.com/irohconf/irohconf/wire/capture"
)

// elide returns the capture to dissect and how many frames it holds: the capture itself when it
// holds at most max frames, else a temporary copy (the caller removes it) of its first two thirds and last third of max
// frames, with the middle it left out. tshark decrypts the end without the middle: the 1-RTT keys
// come from the handshake, key updates are tried in turn, and packet numbers are decoded against
// the largest seen with a window far wider than any gap a transfer here leaves.
func elide(path string, meta capture.Meta, max int) (string, *Elided, int, error) {
	if max == 0 {
		max = DefaultMaxFrames
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, 0, fmt.Errorf("dissect: %w", err)
	}
	_, pkts, err := capture.ReadAll(f)
	f.Close()
	if err != nil {
		return "", nil, 0, fmt.Errorf("dissect: %s: %w", path, err)
	}
	if max < 0 || len(pkts) <= max {
		return path, nil, len(pkts), nil
	}
	head := max * 2 / 3
	tail := max - head
	out, err := os.CreateTemp("", "irohconf-elided-*.pcapng")
	if err != nil {
		return "", nil, 0, fmt.Errorf("dissect: %w", err)
	}
	w, err := capture.NewWriter(out, meta)
	if err == nil {
		for _, p := range append(pkts[:head:head], pkts[len(pkts)-tail:]...) {
			if err = w.Write(p); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", nil, 0, fmt.Errorf("dissect: writing the elided capture: %w", err)
	}
	return out.Name(), &Elided{From: head + 1, To: len(pkts) - tail, Count: len(pkts) - max}, max, nil
}
