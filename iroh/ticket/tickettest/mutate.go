package tickettest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket"
)

// Mutation is a ticket derived from a corpus entry by one operator.
type Mutation struct {
	// Name is unique within one Mutate call: index, operator and source entry.
	Name   string
	Source string
	Op     string
	Ticket string
}

// Operators are the mutation operators Mutate draws from.
var Operators = []string{
	"bitflip", "byteset", "truncate", "append", "insert", "delete",
	"variant", "count", "b32swap", "b32transpose", "case", "prefix",
}

// interesting byte values: variant indices around the valid ones, varint continuation, extremes.
var interesting = []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x1f, 0x20, 0x7f, 0x80, 0x81, 0xfe, 0xff}

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Mutate derives n mutations from the corpus entries, deterministically for a given seed: the
// same corpus, n and seed always give the same list. Every mutation differs from its source.
func Mutate(entries []Entry, n int, seed uint64) []Mutation {
	if len(entries) == 0 || n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x697268636f6e66)) // second word: "irohconf"
	out := make([]Mutation, 0, n)
	for i := 0; len(out) < n; i++ {
		e := entries[rng.IntN(len(entries))]
		op := Operators[rng.IntN(len(Operators))]
		mutated, ok := apply(rng, op, e.Ticket)
		if !ok || mutated == e.Ticket {
			if i > 100*n {
				break // only unmutable entries (cannot happen with a real corpus)
			}
			continue
		}
		out = append(out, Mutation{
			Name:   fmt.Sprintf("%05d-%s-%s", len(out), op, e.Name),
			Source: e.Name,
			Op:     op,
			Ticket: mutated,
		})
	}
	return out
}

// apply runs one operator; ok is false when the operator does not fit the ticket (for example a
// payload operator on a ticket whose text is not base32).
func apply(rng *rand.Rand, op, text string) (string, bool) {
	prefix, payloadText := ticket.Prefix, ""
	if strings.HasPrefix(text, ticket.Prefix) {
		payloadText = text[len(ticket.Prefix):]
	} else {
		prefix = ""
		payloadText = text
	}
	switch op {
	case "b32swap":
		if payloadText == "" {
			return "", false
		}
		b := []byte(payloadText)
		b[rng.IntN(len(b))] = base32Alphabet[rng.IntN(len(base32Alphabet))]
		return prefix + string(b), true
	case "b32transpose":
		if len(payloadText) < 2 {
			return "", false
		}
		b := []byte(payloadText)
		j := rng.IntN(len(b) - 1)
		b[j], b[j+1] = b[j+1], b[j]
		return prefix + string(b), true
	case "case":
		if payloadText == "" {
			return "", false
		}
		b := []byte(payloadText)
		for k := 0; k < 1+rng.IntN(len(b)); k++ {
			j := rng.IntN(len(b))
			if b[j] >= 'a' && b[j] <= 'z' {
				b[j] -= 'a' - 'A'
			}
		}
		return prefix + string(b), true
	case "prefix":
		prefixes := []string{"node", "Endpoint", "ENDPOINT", "endpoin", "endpointt", "", " endpoint", "blob"}
		return prefixes[rng.IntN(len(prefixes))] + payloadText, true
	}

	payload, err := key.DecodeBase32(payloadText)
	if prefix == "" || err != nil {
		return "", false
	}
	b := append([]byte(nil), payload...)
	switch op {
	case "bitflip":
		if len(b) == 0 {
			return "", false
		}
		j := rng.IntN(len(b))
		b[j] ^= 1 << rng.IntN(8)
	case "byteset":
		if len(b) == 0 {
			return "", false
		}
		b[rng.IntN(len(b))] = interesting[rng.IntN(len(interesting))]
	case "truncate":
		if len(b) == 0 {
			return "", false
		}
		b = b[:rng.IntN(len(b))]
	case "append":
		for k := 0; k < 1+rng.IntN(8); k++ {
			b = append(b, interesting[rng.IntN(len(interesting))])
		}
	case "insert":
		j := rng.IntN(len(b) + 1)
		b = append(b[:j], append([]byte{interesting[rng.IntN(len(interesting))]}, b[j:]...)...)
	case "delete":
		if len(b) == 0 {
			return "", false
		}
		j := rng.IntN(len(b))
		b = append(b[:j], b[j+1:]...)
	case "variant":
		// Hit a variant byte: the ticket's, an address's, or an IP address's family.
		targets := []int{0}
		if t, err := ticket.FromBytes(payload); err == nil {
			for k, off := range t.AddrOffsets() {
				targets = append(targets, off)
				if t.Addrs[k].Kind == ticket.KindIP {
					targets = append(targets, off+1)
				}
			}
		}
		j := targets[rng.IntN(len(targets))]
		if j >= len(b) {
			return "", false
		}
		b[j] = byte(rng.IntN(5))
	case "count":
		const countOffset = 1 + key.Size
		if len(b) <= countOffset {
			return "", false
		}
		if rng.IntN(2) == 0 {
			b[countOffset]++
		} else {
			b[countOffset]--
		}
	default:
		return "", false
	}
	return ticket.Prefix + key.EncodeBase32(b), true
}
