package tickettest_test

import (
	"slices"
	"testing"

	"github.com/irohconf/irohconf/iroh/ticket"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
)

func TestMutateIsDeterministicAndMutates(t *testing.T) {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	a := tickettest.Mutate(entries, n, 42)
	b := tickettest.Mutate(entries, n, 42)
	c := tickettest.Mutate(entries, n, 43)
	if len(a) != n {
		t.Fatalf("got %d mutations, want %d", len(a), n)
	}
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different mutations")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same mutations")
	}
	source := map[string]string{}
	for _, e := range entries {
		source[e.Name] = e.Ticket
	}
	ops := map[string]int{}
	names := map[string]bool{}
	accepted := 0
	kinds := map[ticket.ErrorKind]int{}
	for _, m := range a {
		if m.Ticket == source[m.Source] {
			t.Fatalf("%s equals its source", m.Name)
		}
		if names[m.Name] {
			t.Fatalf("name %s used twice", m.Name)
		}
		names[m.Name] = true
		ops[m.Op]++
		if _, err := ticket.Parse(m.Ticket); err == nil {
			accepted++
		} else {
			kinds[ticket.KindOf(err)]++
		}
	}
	for _, op := range tickettest.Operators {
		if ops[op] == 0 {
			t.Errorf("operator %s never used in %d mutations", op, n)
		}
	}
	// The mix must exercise both sides of a decoder.
	if accepted == 0 || accepted == n {
		t.Fatalf("%d of %d mutations accepted", accepted, n)
	}
	t.Logf("%d of %d mutations accepted; errors by kind: %v", accepted, n, kinds)
}

func TestLoadCorpusErrors(t *testing.T) {
	if _, err := tickettest.LoadCorpus("/nonexistent/corpus.jsonl"); err == nil {
		t.Fatal("missing file accepted")
	}
	if got := tickettest.Mutate(nil, 10, 1); got != nil {
		t.Fatalf("mutations of an empty corpus: %v", got)
	}
}
