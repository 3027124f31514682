package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The runs index lists every run under runs/, newest first, with its suite and counts.
func TestRunsIndex(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	var dirs []string
	for i, suite := range []string{"interop", "hil"} {
		dir, err := NewRunDir(root, start.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		run := Run{Suite: suite, Start: start, End: start.Add(time.Second),
			Peers: []Peer{{Name: "go", Roles: []string{RoleClient, RoleServer}}},
			Cases: []Case{{Name: "handshake", Abbr: "H"}},
			Cells: []Cell{{Client: "go", Server: "go", Case: "handshake", Outcome: Failed, ExpectedFailure: "a known bug"}}}
		if err := Write(dir, run); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Base(dir))
	}
	os.MkdirAll(filepath.Join(root, RunsDir, "broken"), 0o755)
	if err := WriteRunsIndex(root); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, RunsIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	hil, interop := strings.Index(page, `data-run="`+dirs[1]), strings.Index(page, `data-run="`+dirs[0])
	if hil < 0 || interop < 0 || hil > interop {
		t.Fatalf("runs not listed newest first:\n%s", page)
	}
	for _, want := range []string{"(1 expected)", `data-run="broken"`, "no report:"} {
		if !strings.Contains(page, want) {
			t.Errorf("runs index lacks %q", want)
		}
	}
}
