package dissect

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// node is one object of tshark's JSON: field names to strings, objects, or (for repeated
// fields, merged by --no-duplicate-keys) arrays of them.
type node = map[string]any

// list returns v as a list: nil, one element, or the array.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// nodes returns the objects among n[key].
func nodes(n node, key string) []node {
	var out []node
	for _, v := range list(n[key]) {
		if m, ok := v.(node); ok {
			out = append(out, m)
		}
	}
	return out
}

// str is the first string value of n[key].
func str(n node, key string) string {
	for _, v := range list(n[key]) {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return ""
}

// strs are all string values of n[key].
func strs(n node, key string) []string {
	var out []string
	for _, v := range list(n[key]) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// num parses n[key] as a decimal or 0x-hex number.
func num(n node, key string) (uint64, bool) {
	return parseNum(str(n, key))
}

func parseNum(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 0, 64)
	return v, err == nil
}

// has reports whether n has key.
func has(n node, key string) bool {
	_, ok := n[key]
	return ok
}

// findAll collects every object below v (v included) that has key, depth first. Arrays keep
// tshark's order (repeated fields: frames, handshake messages); distinct keys have none.
func findAll(v any, key string) []node {
	var out []node
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case node:
			if _, ok := x[key]; ok {
				out = append(out, x)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return out
}

// hexBytes decodes tshark's "aa:bb:cc" byte strings.
func hexBytes(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		return nil
	}
	return b
}
