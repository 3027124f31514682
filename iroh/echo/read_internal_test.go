package echo

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll returns the whole stream up to want+1 bytes, so compare can tell a short, an exact and
// a long reply apart, and passes on errors other than the end of the stream.
func TestReadAll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		got  string
	}{
		{"", 0, ""},
		{"", 4, ""},
		{"abcd", 4, "abcd"},
		{"ab", 4, "ab"},
		{"abcdefgh", 4, "abcde"},
	} {
		got, err := readAll(iotest.HalfReader(strings.NewReader(tc.in)), tc.want)
		if err != nil || string(got) != tc.got {
			t.Errorf("readAll(%q, %d) = %q, %v; want %q", tc.in, tc.want, got, err, tc.got)
		}
	}
	boom := errors.New("stream reset")
	got, err := readAll(io.MultiReader(bytes.NewReader([]byte("ab")), iotest.ErrReader(boom)), 4)
	if !errors.Is(err, boom) || string(got) != "ab" {
		t.Errorf("readAll on a failing stream = %q, %v; want \"ab\", %v", got, err, boom)
	}
}

func TestFillPayload(t *testing.T) {
	a, b := make([]byte, 1003), make([]byte, 1003)
	if err := FillPayload(a); err != nil {
		t.Fatal(err)
	}
	if err := FillPayload(b); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) || bytes.Equal(a[1000:], make([]byte, 3)) {
		t.Errorf("two payloads are equal, or the tail was left zero: %x / %x", a[990:], b[990:])
	}
}
