package peercontract

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCodeNames(t *testing.T) {
	for code, want := range map[Code]string{
		NoApplicationProtocol: "no_application_protocol (0x178)",
		HandshakeFailure:      "handshake_failure (0x128)",
		BadCertificate:        "bad_certificate (0x12a)",
		CertificateRequired:   "certificate_required (0x174)",
		ProtocolViolation:     "PROTOCOL_VIOLATION (0xa)",
		NoError:               "NO_ERROR (0x0)",
		CryptoError + 0xff:    "CRYPTO_ERROR alert 255 (0x1ff)",
		0x42:                  "0x42",
	} {
		if got := code.String(); got != want {
			t.Errorf("%#x prints %q, want %q", uint64(code), got, want)
		}
		if got := fmt.Sprint(code); got != want {
			t.Errorf("%#x prints %q through fmt, want %q", uint64(code), got, want)
		}
	}
	if a, ok := NoApplicationProtocol.Alert(); !ok || a != AlertNoApplicationProtocol {
		t.Errorf("0x178 carries %v %v, want no_application_protocol", a, ok)
	}
	if _, ok := ApplicationError.Alert(); ok {
		t.Error("APPLICATION_ERROR carries an alert")
	}
	if got := CodeOf(nil); got != "none" {
		t.Errorf("CodeOf(nil) = %q", got)
	}
}

func TestParseReady(t *testing.T) {
	good := `{"event":"ready","endpoint_id":"ab","ticket":"endpointx","addrs":["127.0.0.1:1"],"version":"v"}`
	if !ReadyLine.MatchString(good) {
		t.Fatal("the ready pattern misses a ready line")
	}
	r, err := ParseReady(good)
	if err != nil || r.EndpointID != "ab" || r.Addrs[0] != "127.0.0.1:1" {
		t.Fatalf("ParseReady = %+v, %v", r, err)
	}
	for _, bad := range []string{`{"event":"ready"}`, `{"event":"ready","endpoint_id":"ab","ticket":"t","addrs":[],"version":"v"}`, `{"event":`} {
		if _, err := ParseReady(bad); err == nil {
			t.Errorf("ParseReady(%s) accepted it", bad)
		}
	}
}

// lines is an Output over a fixed list that grows when told.
type lines struct {
	text  []string
	more  chan string
	ended bool
}

func (l *lines) WaitLine(ctx context.Context, from int, re *regexp.Regexp) (string, int, error) {
	for {
		for i := from; i < len(l.text); i++ {
			if re.MatchString(l.text[i]) {
				return l.text[i], i + 1, nil
			}
		}
		from = len(l.text)
		select {
		case s, ok := <-l.more:
			if !ok {
				return "", from, errors.New("ended")
			}
			l.text = append(l.text, s)
		case <-ctx.Done():
			return "", from, ctx.Err()
		}
	}
}

func TestWaitConnection(t *testing.T) {
	out := &lines{text: []string{
		`{"event":"ready","endpoint_id":"ab","ticket":"t","addrs":["127.0.0.1:1"],"version":"v"}`,
		`noise`,
		`{"event":"connection","remote_id":"AAAA","alpn":"echo/0","bytes":13,"close_code":0}`,
	}, more: make(chan string, 1)}
	r, next, err := WaitReady(context.Background(), out, 0)
	if err != nil || r.EndpointID != "ab" || next != 1 {
		t.Fatalf("WaitReady = %+v %d %v", r, next, err)
	}
	c, err := WaitConnection(context.Background(), out, next, "aaaa")
	if err != nil || c.Bytes != 13 || c.CloseCode == nil || *c.CloseCode != 0 {
		t.Fatalf("WaitConnection = %+v, %v", c, err)
	}
	out.more <- `{"event":"connection","remote_id":"bbbb","alpn":"echo/0","bytes":1}`
	c, err = WaitConnection(context.Background(), out, next, "BBBB")
	if err != nil || c.RemoteID != "bbbb" {
		t.Fatalf("WaitConnection for a later line = %+v, %v", c, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := WaitConnection(ctx, out, next, "cccc"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitConnection for a missing id: %v, want the deadline", err)
	}
	if cs := Connections(out.text); len(cs) != 2 {
		t.Fatalf("Connections = %d lines, want 2", len(cs))
	}
}

// fakeDecoder answers like a peer's program: one JSON line per input line.
func fakeDecoder(calls *[]string) Command {
	return func(_ context.Context, stdin []byte, args ...string) (CommandOutput, error) {
		*calls = append(*calls, strings.Join(args, " "))
		answer := func(t string) string {
			if strings.HasPrefix(t, "endpoint") {
				return fmt.Sprintf(`{"ticket":%q,"endpoint_id":"ab","addrs":[]}`, t)
			}
			return fmt.Sprintf(`{"ticket":%q,"error":"bad"}`, t)
		}
		if args[len(args)-1] != "-" {
			out := answer(args[len(args)-1])
			if strings.Contains(out, "error") {
				return CommandOutput{Stdout: []byte(out + "\n"), ExitCode: 2}, nil
			}
			return CommandOutput{Stdout: []byte(out + "\n")}, nil
		}
		var b strings.Builder
		for _, t := range strings.Split(strings.TrimSuffix(string(stdin), "\n"), "\n") {
			b.WriteString(answer(t) + "\n")
		}
		return CommandOutput{Stdout: []byte(b.String())}, nil
	}
}

func TestDecodeTickets(t *testing.T) {
	var calls []string
	got, err := DecodeTickets(context.Background(), fakeDecoder(&calls), []string{"endpointa", "junk", "bad\nb", "endpointc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[1] != "ticket decode -" {
		t.Errorf("calls %q, want one single decode and one batch", calls)
	}
	want := []string{"", "bad", "bad", ""}
	for i, d := range got {
		if d.Error != want[i] {
			t.Errorf("answer %d: %+v, want error %q", i, d, want[i])
		}
	}
	if got[2].Ticket != "bad\nb" {
		t.Errorf("the single answer is for %q", got[2].Ticket)
	}
	short := func(_ context.Context, _ []byte, _ ...string) (CommandOutput, error) {
		return CommandOutput{Stdout: []byte(`{"ticket":"endpointa"}` + "\n")}, nil
	}
	if _, err := DecodeTickets(context.Background(), short, []string{"endpointa", "endpointb"}); err == nil {
		t.Error("one answer for two tickets was accepted")
	}
}
