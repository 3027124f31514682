// Package tickettest holds the ticket corpus (fixtures/tickets/corpus.jsonl) and a deterministic
// mutation generator over it, for differential tests of ticket decoders.
package tickettest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/irohconf/irohconf/internal/repo"
	"os"
)

// Entry is one line of the corpus.
type Entry struct {
	Name   string `json:"name"`
	Ticket string `json:"ticket"`
	Valid  bool   `json:"valid"`
	// Decoded is the peer contract's decode output, for valid tickets.
	Decoded json.RawMessage `json:"decoded,omitempty"`
	// Canonical tells whether re-encoding a valid ticket gives back the same text (iroh writes
	// sorted, deduplicated addresses, shortest varints, lowercase, normalized relay URLs).
	Canonical *bool `json:"canonical,omitempty"`
	// CustomEncoding is "current" or "legacy" for valid tickets with custom addresses.
	CustomEncoding string `json:"custom_encoding,omitempty"`
	// AcceptedBy names the iroh versions meant to read the ticket ("none" for invalid ones).
	AcceptedBy string `json:"accepted_by"`
	// ErrorKind is the ticket package's error kind for invalid tickets.
	ErrorKind string `json:"error_kind,omitempty"`
	// Note explains what the case is about, or where iroh may differ.
	Note string `json:"note,omitempty"`
}

// CorpusFile is the corpus path relative to the module root.
const CorpusFile = "fixtures/tickets/corpus.jsonl"

// CorpusPath is the corpus in this checkout.
func CorpusPath() (string, error) { return repo.Path(CorpusFile) }

// LoadCorpus reads a JSON-lines corpus.
func LoadCorpus(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if e.Name == "" {
			return nil, fmt.Errorf("%s:%d: entry without a name", path, line)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// LoadDefaultCorpus loads the corpus of this repository.
func LoadDefaultCorpus() ([]Entry, error) {
	p, err := CorpusPath()
	if err != nil {
		return nil, err
	}
	return LoadCorpus(p)
}
