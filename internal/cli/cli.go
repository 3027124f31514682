// Package cli is the shared plumbing of the irohconf command: the peer contract's exit codes,
// one-JSON-object-per-line output, and running a cobra command tree with errors mapped to exit
// codes (see docs/peer-contract.md).
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// Exit codes of the peer contract.
const (
	ExitOK           = 0
	ExitFailed       = 1   // the operation ran and failed (a dial that did not echo)
	ExitInvalidInput = 2   // bad flags, malformed ticket or key
	ExitUnsupported  = 127 // a case this peer does not support
)

// ExitError carries the exit code a command's error maps to.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Invalid marks err as invalid input: exit 2, and {"error":...} on stdout.
func Invalid(err error) error { return &ExitError{Code: ExitInvalidInput, Err: err} }

// Invalidf is Invalid(fmt.Errorf(...)).
func Invalidf(format string, args ...any) error { return Invalid(fmt.Errorf(format, args...)) }

// Failed marks err as a failed operation: exit 1. The command prints its own result line first.
func Failed(err error) error { return &ExitError{Code: ExitFailed, Err: err} }

// Unsupported marks err as a case this peer does not support: exit 127.
func Unsupported(err error) error { return &ExitError{Code: ExitUnsupported, Err: err} }

// ExitCode maps an error to its exit code; errors without one are failures (1).
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailed
}

// Printer writes one JSON object per line. It is safe for concurrent use, so a server can report
// connections from several goroutines without interleaving lines.
type Printer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewPrinter prints to w.
func NewPrinter(w io.Writer) *Printer { return &Printer{w: w} }

// Line marshals v (without HTML escaping) and writes it with a newline in one write.
func (p *Printer) Line(v any) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding output line: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, b.String())
	return err
}

// Stdout is the printer of a running command (its cobra OutOrStdout).
func Stdout(cmd *cobra.Command) *Printer {
	if p, ok := printers.Load(cmd.Root()); ok {
		return p.(*Printer)
	}
	p, _ := printers.LoadOrStore(cmd.Root(), NewPrinter(cmd.OutOrStdout()))
	return p.(*Printer)
}

var printers sync.Map // root *cobra.Command -> *Printer

// Version is the peer version; the Makefile sets it with
// -ldflags "-X github.com/irohconf/irohconf/internal/cli.Version=...".
var Version = ""

// VersionString is Version, or else the module version and VCS revision from the build info.
func VersionString() string {
	if Version != "" {
		return Version
	}
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return "irohconf-" + v
}

// BuildInfo describes the binary for `irohconf version`.
type BuildInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	QUICGo  string `json:"quic_go,omitempty"`
}

// CurrentBuild reports the version, the Go toolchain and the quic-go module linked in.
func CurrentBuild() BuildInfo {
	info := BuildInfo{Version: VersionString(), Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/quic-go/quic-go" {
				info.QUICGo = d.Version
			}
		}
	}
	return info
}

// Execute runs root with args and returns the exit code. Errors before a command's Run (unknown
// command, bad flags, wrong number of arguments) and errors marked Invalid exit 2; their text goes
// to stderr and, unless the command already printed a line of its own, as {"error":"..."} to
// stdout. Other errors go to stderr only.
func Execute(root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	out := &countingWriter{w: stdout}
	// Everything cobra checks before a command's RunE (command name, flags, arguments, required
	// flags) is input, so an error that comes before RunE is invalid input.
	reachedRun := false
	markRun(root, &reachedRun)
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	code := ExitCode(err)
	var e *ExitError
	if !reachedRun && !errors.As(err, &e) {
		code = ExitInvalidInput
	}
	msg := err.Error()
	if code == ExitInvalidInput && out.n == 0 {
		_ = Stdout(root).Line(map[string]string{"error": msg})
	}
	fmt.Fprintln(stderr, msg)
	return code
}

// Main runs root on the process's arguments and exits with the mapped code.
func Main(root *cobra.Command) {
	os.Exit(Execute(root, os.Args[1:], os.Stdout, os.Stderr))
}

// countingWriter tells whether a command wrote anything to stdout.
type countingWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func markRun(cmd *cobra.Command, reached *bool) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			*reached = true
			return run(c, args)
		}
	}
	for _, sub := range cmd.Commands() {
		markRun(sub, reached)
	}
}

// Group makes cmd a command group: without arguments it prints its help, with an unknown
// subcommand it is invalid input (cobra would print help and exit 0).
func Group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return Invalidf("unknown command %q for %q", args[0], c.CommandPath())
		}
		return c.Help()
	}
	return cmd
}
