package ticket_test

import (
	"testing"

	"github.com/irohconf/irohconf/iroh/ticket"
)

func BenchmarkParseComposite(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ticket.Parse(textComposite); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringComposite(b *testing.B) {
	tk, err := ticket.Parse(textComposite)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if tk.String() != textComposite {
			b.Fatal("round trip")
		}
	}
}
