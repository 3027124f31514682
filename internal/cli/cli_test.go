package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/internal/cli"
)

// tree is a small command tree: "ok" prints a line, "bad" returns invalid input, "fail" prints a
// result and fails, "plain" returns an unmarked error, "need" takes one argument and --n.
func tree() *cobra.Command {
	root := cli.Group(&cobra.Command{Use: "t"})
	grp := cli.Group(&cobra.Command{Use: "grp"})
	grp.AddCommand(&cobra.Command{Use: "ok", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		return cli.Stdout(cmd).Line(map[string]string{"x": "<&>"})
	}})
	root.AddCommand(grp,
		&cobra.Command{Use: "bad", RunE: func(*cobra.Command, []string) error { return cli.Invalidf("bad thing %d", 7) }},
		&cobra.Command{Use: "fail", RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cli.Stdout(cmd).Line(map[string]bool{"ok": false})
			return cli.Failed(errors.New("it did not work"))
		}},
		&cobra.Command{Use: "plain", RunE: func(*cobra.Command, []string) error { return errors.New("plain error") }},
		&cobra.Command{Use: "unsupported", RunE: func(*cobra.Command, []string) error { return cli.Unsupported(errors.New("no such case")) }},
	)
	need := &cobra.Command{Use: "need", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }}
	need.Flags().Int("n", 0, "")
	_ = need.MarkFlagRequired("n")
	root.AddCommand(need)
	return root
}

func TestExecuteExitCodesAndOutput(t *testing.T) {
	cases := []struct {
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{[]string{"grp", "ok"}, 0, `{"x":"<&>"}` + "\n", ""},
		{[]string{"bad"}, 2, `{"error":"bad thing 7"}` + "\n", "bad thing 7"},
		{[]string{"fail"}, 1, `{"ok":false}` + "\n", "it did not work"},
		{[]string{"plain"}, 1, "", "plain error"},
		{[]string{"unsupported"}, 127, "", "no such case"},
		{[]string{"nope"}, 2, `{"error":"unknown command \"nope\" for \"t\""}` + "\n", "unknown command"},
		{[]string{"grp", "nope"}, 2, `{"error":"unknown command \"nope\" for \"t grp\""}` + "\n", "unknown command"},
		{[]string{"grp", "ok", "--zzz"}, 2, `{"error":"unknown flag: --zzz"}` + "\n", "unknown flag"},
		{[]string{"grp", "ok", "arg"}, 2, "", "unknown command"},
		{[]string{"need", "--n", "1"}, 2, "", "accepts 1 arg"},
		{[]string{"need", "a"}, 2, "", `"n" not set`},
		{[]string{"need", "--n", "x", "a"}, 2, "", "invalid argument"},
		{[]string{"need", "--n", "1", "a"}, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := cli.Execute(tree(), c.args, &out, &errOut)
			if code != c.code {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, c.code, out.String(), errOut.String())
			}
			if c.stdout != "" && out.String() != c.stdout {
				t.Fatalf("stdout %q, want %q", out.String(), c.stdout)
			}
			if c.code == 2 {
				var m map[string]string
				if err := json.Unmarshal(out.Bytes(), &m); err != nil || m["error"] == "" {
					t.Fatalf("invalid input without an error line: %q", out.String())
				}
				if strings.TrimSpace(errOut.String()) != m["error"] {
					t.Fatalf("stderr %q differs from the error line %q", errOut.String(), m["error"])
				}
			}
			if !strings.Contains(errOut.String(), c.stderrHas) {
				t.Fatalf("stderr %q does not mention %q", errOut.String(), c.stderrHas)
			}
		})
	}
}

func TestInvalidAfterOwnLinePrintsNoSecondLine(t *testing.T) {
	root := &cobra.Command{Use: "t", RunE: func(cmd *cobra.Command, _ []string) error {
		_ = cli.Stdout(cmd).Line(map[string]string{"event": "result", "error": "bad flag"})
		return cli.Invalidf("bad flag")
	}}
	var out, errOut bytes.Buffer
	if code := cli.Execute(root, nil, &out, &errOut); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("want only the command's own line, got %q", out.String())
	}
}

func TestPrinterLinesDoNotInterleave(t *testing.T) {
	var buf bytes.Buffer
	p := cli.NewPrinter(&buf)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Line(map[string]string{"payload": strings.Repeat("x", 1000)})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("broken line: %v", err)
		}
	}
	if err := p.Line(func() {}); err == nil {
		t.Fatal("an unencodable value was accepted")
	}
}

func TestExitCodeAndVersion(t *testing.T) {
	if cli.ExitCode(nil) != 0 || cli.ExitCode(errors.New("x")) != 1 || cli.ExitCode(cli.Invalid(errors.New("x"))) != 2 {
		t.Fatal("exit code mapping")
	}
	wrapped := errors.Join(errors.New("context"), cli.Unsupported(errors.New("x")))
	if cli.ExitCode(wrapped) != 127 {
		t.Fatal("wrapped exit code lost")
	}
	if b := cli.CurrentBuild(); !strings.HasPrefix(b.Version, "irohconf-") || b.Go == "" {
		t.Fatalf("build info: %+v", b)
	}
}
