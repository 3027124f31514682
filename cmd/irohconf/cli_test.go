package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/ticket/tickettest"
)

// These tests run the irohconf binary that TestMain (serve_dial_test.go) builds, as a separate
// process, the way the suites and people run it.

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		code := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errOut.String()}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("irohconf %v did not finish within 20s", args)
		return result{}
	}
}

// oneLine decodes stdout, which must be exactly one JSON object on one line.
func oneLine(t *testing.T, r result) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 1 || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("want one JSON line on stdout, got %q", r.stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v: %q", err, r.stdout)
	}
	return m
}

// invalid checks the contract for invalid input: exit 2, {"error":...} on stdout naming the
// problem, the same text on stderr.
func invalid(t *testing.T, r result, mentions string) {
	t.Helper()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	msg, _ := oneLine(t, r)["error"].(string)
	if msg == "" || !strings.Contains(msg, mentions) {
		t.Fatalf("error %q does not mention %q", msg, mentions)
	}
	if strings.TrimSpace(r.stderr) != msg {
		t.Fatalf("stderr %q differs from the error %q", r.stderr, msg)
	}
}

func ok(t *testing.T, r result) map[string]any {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	return oneLine(t, r)
}

func TestKeyGenerate(t *testing.T) {
	a := ok(t, run(t, "key", "generate"))
	b := ok(t, run(t, "key", "generate"))
	sk, err := key.ParseSecretKey(a["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if sk.Public().String() != a["endpoint_id"] {
		t.Fatalf("endpoint_id %v is not the public key of the secret", a["endpoint_id"])
	}
	if a["secret"] == b["secret"] {
		t.Fatal("two generated secrets are equal")
	}
	if len(a) != 2 {
		t.Fatalf("unexpected fields: %v", a)
	}
}

func TestKeyPublicAndInspect(t *testing.T) {
	zero := strings.Repeat("0", 64)
	got := ok(t, run(t, "key", "public", zero))
	if got["endpoint_id"] != "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29" {
		t.Fatalf("public key of the zero seed: %v", got)
	}
	info := ok(t, run(t, "key", "inspect", "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"))
	if info["tls_server_name"] != "7dl2ff6emqi2qol3l382krodedij45bn3nh479hqo14a32qpr8kg.iroh.invalid" || info["short"] != "3b6a27bcce" {
		t.Fatalf("inspect: %v", info)
	}
	invalid(t, run(t, "key", "public", strings.ToUpper("ab"+zero[2:])), "uppercase")
	invalid(t, run(t, "key", "inspect", "0200000000000000000000000000000000000000000000000000000000000000"), "not a valid Ed25519 public key")
	invalid(t, run(t, "key", "public"), "accepts 1 arg")
}

// Every corpus ticket through the binary: valid ones print the decoded form, invalid ones exit 2
// with an error naming the kind.
func TestTicketDecodeCorpus(t *testing.T) {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			r := run(t, "ticket", "decode", e.Ticket)
			if !e.Valid {
				invalid(t, r, e.ErrorKind)
				return
			}
			got := ok(t, r)
			var want map[string]any
			if err := json.Unmarshal(e.Decoded, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n got %s\nwant %s", r.stdout, e.Decoded)
			}
		})
	}
}

func TestTicketEncode(t *testing.T) {
	got := ok(t, run(t, "ticket", "encode", "--id", "ae58ff8833241ac82d6ff7611046ed67b5072d142c588d0063e942d9a75502b6",
		"--addr", "127.0.0.1:1024", "--relay", "http://derp.me./"))
	if got["ticket"] != "endpointacxfr74igmsbvsbnn73wcecg5vt3kbzncqwfrdiampuufwnhkublmaqacbuhi5dqhixs6zdfojyc43lffyxqcad7aaaadaai" {
		t.Fatalf("upstream test vector: %v", got)
	}
	composite := []string{"ticket", "encode", "--id", "88096ffd6d3048ad7c1050645ae5b8fbf731963d892abe282736a7fbabd8f212",
		"--custom", "0x544f52:00010203", "--addr", "[2001:db8::1]:443", "--addr", "192.168.0.186:62781", "--relay", "https://relay.example."}
	got = ok(t, run(t, composite...))
	if got["ticket"] != "endpointaceas375nuyerll4cbigiwxfxd57ommwhwesvprie43kp65l3dzbebaac5uhi5dqom5c6l3smvwgc6jomv4gc3lqnrss4lybadakqaf2xxvagaibeaaq3oaaaaaaaaaaaaaaaaaaag5qgawst3iqebaaaebag" {
		t.Fatalf("composite: %v", got)
	}
	legacy := ok(t, run(t, append(composite, "--custom-encoding", "legacy")...))
	decoded := ok(t, run(t, "ticket", "decode", legacy["ticket"].(string)))
	addrs := decoded["addrs"].([]any)
	if len(addrs) != 4 || !reflect.DeepEqual(addrs[3], map[string]any{"type": "custom", "id": float64(0x544f52), "data": "00010203"}) {
		t.Fatalf("legacy composite decodes to %s", run(t, "ticket", "decode", legacy["ticket"].(string)).stdout)
	}

	id := []string{"ticket", "encode", "--id", "88096ffd6d3048ad7c1050645ae5b8fbf731963d892abe282736a7fbabd8f212"}
	invalid(t, run(t, "ticket", "encode", "--addr", "1.2.3.4:5"), `"id" not set`)
	invalid(t, run(t, "ticket", "encode", "--id", strings.ToUpper("88096ffd6d3048ad7c1050645ae5b8fbf731963d892abe282736a7fbabd8f212")), "--id: public key: uppercase hex")
	invalid(t, run(t, append(id, "--addr", "1.2.3.4")...), "--addr")
	invalid(t, run(t, append(id, "--addr", "1.2.3.4:70000")...), "--addr")
	invalid(t, run(t, append(id, "--relay", "derp.me")...), "not absolute")
	invalid(t, run(t, append(id, "--custom", "1:xyz")...), "not hex")
	invalid(t, run(t, append(id, "--custom-encoding", "v2")...), "current or legacy")
	invalid(t, run(t, append(id, "extra")...), "unknown command")
}

func TestTicketDecodeUsage(t *testing.T) {
	invalid(t, run(t, "ticket", "decode"), "accepts 1 arg")
	invalid(t, run(t, "ticket", "decode", "a", "b"), "accepts 1 arg")
}

func TestVersionAndUnknownCommands(t *testing.T) {
	v := ok(t, run(t, "version"))
	if !strings.HasPrefix(v["version"].(string), "irohconf-") || !strings.HasPrefix(v["go"].(string), "go") {
		t.Fatalf("version: %v", v)
	}
	invalid(t, run(t, "nosuchcommand"), "unknown command")
	invalid(t, run(t, "ticket", "nosuchcommand"), "unknown command")
	invalid(t, run(t, "key", "generate", "--nosuchflag"), "unknown flag")
	if r := run(t, "--help"); r.code != 0 || !strings.Contains(r.stdout, "ticket") {
		t.Fatalf("--help: %d %q", r.code, r.stdout)
	}
}

// `ticket decode -` answers every line of stdin in order, naming each input, with the same
// content as one-ticket decodes; bad lines are answers, not a failed command.
func TestTicketDecodeBatch(t *testing.T) {
	entries, err := tickettest.LoadDefaultCorpus()
	if err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	var kept []tickettest.Entry
	for _, e := range entries {
		if strings.ContainsAny(e.Ticket, "\r\n") {
			continue // one line per ticket: a ticket with a line break cannot be given this way
		}
		kept = append(kept, e)
		in.WriteString(e.Ticket + "\r\n")
	}
	entries = kept
	cmd := exec.Command(binary, "ticket", "decode", "-")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ticket decode -: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(entries) {
		t.Fatalf("%d answers for %d tickets", len(lines), len(entries))
	}
	for i, e := range entries {
		var a struct {
			Ticket     string          `json:"ticket"`
			EndpointID string          `json:"endpoint_id"`
			Addrs      json.RawMessage `json:"addrs"`
			Error      string          `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil {
			t.Fatalf("answer %d is not JSON: %v: %s", i, err, lines[i])
		}
		if a.Ticket != e.Ticket {
			t.Fatalf("answer %d is for %q, want %q", i, a.Ticket, e.Ticket)
		}
		if e.Valid != (a.Error == "") {
			t.Fatalf("%s: valid=%v but answer %s", e.Name, e.Valid, lines[i])
		}
		if !e.Valid {
			if !strings.Contains(a.Error, e.ErrorKind) {
				t.Fatalf("%s: error %q does not name %s", e.Name, a.Error, e.ErrorKind)
			}
			continue
		}
		var want, got map[string]any
		json.Unmarshal(e.Decoded, &want)
		json.Unmarshal([]byte(lines[i]), &got)
		delete(got, "ticket")
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%s: decoded %v, want %v", e.Name, got, want)
		}
	}
}
