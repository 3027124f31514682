package ticket_test

import (
	"encoding/json"
	"testing"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
)

// seedMutations adds a deterministic handful of mutations to the corpus seeds, so the fuzzer
// starts next to every error path.
const seedMutations = 300

func fuzzSeeds(f *testing.F) []string {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Ticket)
	}
	for _, m := range tickettest.Mutate(entries, seedMutations, 1) {
		out = append(out, m.Ticket)
	}
	return out
}

// checkAccepted holds for every ticket Parse or FromBytes accepts: the canonical re-encoding reads
// back to the same value in the same custom encoding, is a fixed point, and JSON round-trips.
func checkAccepted(t *testing.T, tk ticket.Ticket) {
	s := tk.String()
	again, err := ticket.Parse(s)
	if err != nil {
		t.Fatalf("re-encoding %s of an accepted ticket is refused: %v", s, err)
	}
	if !again.Equal(tk) {
		t.Fatalf("re-encoding changes the value: %v -> %v", tk, again)
	}
	if tk.HasCustom() && again.CustomEncoding != tk.CustomEncoding {
		t.Fatalf("re-encoding changes the custom encoding %v -> %v", tk.CustomEncoding, again.CustomEncoding)
	}
	if again.String() != s {
		t.Fatalf("canonical form is not a fixed point: %s -> %s", s, again.String())
	}
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var fromJSON ticket.Ticket
	if err := json.Unmarshal(b, &fromJSON); err != nil || !fromJSON.Equal(tk) {
		t.Fatalf("JSON %s does not round-trip: %v", b, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := ticket.Parse(s)
		if err != nil {
			if ticket.KindOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		checkAccepted(t, tk)
	})
}

// FuzzFromBytes skips the base32 layer, so the fuzzer spends its time in the postcard decoder.
func FuzzFromBytes(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if len(s) < len(ticket.Prefix) {
			continue
		}
		if raw, err := key.DecodeBase32(s[len(ticket.Prefix):]); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tk, err := ticket.FromBytes(raw)
		if err != nil {
			if ticket.KindOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		checkAccepted(t, tk)
		if again, err := ticket.FromBytes(tk.Bytes()); err != nil || !again.Equal(tk) {
			t.Fatalf("Bytes does not round-trip: %v", err)
		}
	})
}
