// Package flash writes firmware to a board with espflash (esp-rs/espflash). The caller closes
// its own handle on the port first: espflash opens the port itself and resets the chip into
// download mode with its own DTR/RTS sequences.
package flash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrEspflashMissing is returned when espflash is not installed.
var ErrEspflashMissing = errors.New("espflash is not installed (install it with `cargo install espflash --locked`, or put it on PATH)")

// Request is one flashing job.
type Request struct {
	Port string // device path
	Baud int    // espflash --baud; 0 leaves espflash's default
	ELF  string // the firmware image
	Args []string
	// Output receives espflash's stdout and stderr (the cell's serial log).
	Output io.Writer
}

// Espflash finds the espflash program: $ESPFLASH when set, else espflash on PATH.
func Espflash() (string, error) {
	if p := os.Getenv("ESPFLASH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ESPFLASH=%s: %w", p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("espflash")
	if err != nil {
		return "", ErrEspflashMissing
	}
	return p, nil
}

// Command is the espflash command line for a request (without the program name).
func (r Request) Command() []string {
	args := []string{"flash", "--port", r.Port}
	if r.Baud > 0 {
		args = append(args, "--baud", strconv.Itoa(r.Baud))
	}
	args = append(args, r.Args...)
	return append(args, r.ELF)
}

// Run flashes. It fails with ErrEspflashMissing when espflash is not installed, and quotes
// the end of espflash's output when it fails.
func Run(ctx context.Context, r Request) error {
	if r.Port == "" {
		return errors.New("flash: no port")
	}
	if r.ELF == "" {
		return errors.New("flash: no firmware image (flash.elf in the profile, or given at flash time)")
	}
	if _, err := os.Stat(r.ELF); err != nil {
		return fmt.Errorf("flash: firmware image: %w", err)
	}
	prog, err := Espflash()
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	var tail tailBuffer
	out := io.Writer(&tail)
	if r.Output != nil {
		out = io.MultiWriter(r.Output, &tail)
	}
	cmd := exec.CommandContext(ctx, prog, r.Command()...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // CommandContext kills espflash when ctx ends; then stop waiting for its pipes
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("flash: %s %s: %w\n%s", prog, strings.Join(r.Command(), " "), err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last few KiB written to it.
type tailBuffer struct{ b []byte }

const tailSize = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailSize {
		t.b = append([]byte(nil), t.b[len(t.b)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
