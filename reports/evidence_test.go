package reports

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// A cell's wire evidence is in results.json and linked from index.html when its files exist;
// evidence outside the run folder is refused like a log path.
func TestEvidence(t *testing.T) {
	_, runDir, run := sampleRun(t)
	c := &run.Cells[0]
	c.Evidence = &Evidence{
		Capture: path.Join(c.Logs, "wire.pcapng"), Wire: path.Join(c.Logs, "wire.json"),
		FrameLog: path.Join(c.Logs, "wire.txt"), KeyLog: path.Join(c.Logs, "keylog.txt"),
	}
	for _, f := range []string{c.Evidence.Capture, c.Evidence.Wire, c.Evidence.FrameLog} { // no key log
		if err := os.WriteFile(filepath.Join(runDir, filepath.FromSlash(f)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, runDir, run)
	loaded, err := Load(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.Cells[0].Evidence; got == nil || *got != *c.Evidence {
		t.Errorf("results.json evidence %+v, want %+v", got, c.Evidence)
	}
	index, err := os.ReadFile(filepath.Join(runDir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{c.Evidence.Capture, c.Evidence.Wire, c.Evidence.FrameLog} {
		if !strings.Contains(string(index), `href="`+f+`"`) {
			t.Errorf("index.html does not link %s", f)
		}
	}
	if strings.Contains(string(index), `href="`+c.Evidence.KeyLog+`"`) {
		t.Error("index.html links a key log that does not exist")
	}

	c.Evidence.Wire = "../elsewhere/wire.json"
	if err := run.Validate(); err == nil || !strings.Contains(err.Error(), "evidence wire.json") {
		t.Errorf("evidence outside the run folder: %v", err)
	}
}
