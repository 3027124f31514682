package reports

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// The tests compare runs as written with runs read back: a code version from the environment
// would be recorded in the second only.
func TestMain(m *testing.M) {
	os.Unsetenv(CodeVersionEnv)
	os.Exit(m.Run())
}

// Write records the code that ran: $IROHCONF_CODE_VERSION, else git describe of the checkout
// holding the run folder, else nothing.
func TestWriteRecordsTheCodeVersion(t *testing.T) {
	codeVersion := func(t *testing.T, root string) string {
		t.Helper()
		_, runDir, run := sampleRun(t)
		if root != "" {
			// The same run, in a run folder inside root.
			dir, err := NewRunDir(root, run.Start)
			if err != nil {
				t.Fatal(err)
			}
			runDir = dir
			for i := range run.Cells {
				run.Cells[i].Logs = ""
			}
		}
		mustWrite(t, runDir, run)
		got, err := Load(runDir)
		if err != nil {
			t.Fatal(err)
		}
		return got.CodeVersion
	}

	t.Setenv(CodeVersionEnv, "")
	if v := codeVersion(t, ""); v != "" {
		t.Errorf("a run outside any checkout records code version %q", v)
	}

	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("/reports/\n"), 0o644)
	git("add", ".gitignore")
	git("commit", "-q", "-m", "first")
	if v := codeVersion(t, filepath.Join(repo, "reports")); !regexp.MustCompile(`^[0-9a-f]{7,}$`).MatchString(v) {
		t.Errorf("a run in a clean checkout records %q, want the abbreviated commit", v)
	}
	os.WriteFile(filepath.Join(repo, "changed.go"), []byte("package x\n"), 0o644)
	git("add", "changed.go")
	if v := codeVersion(t, filepath.Join(repo, "reports")); !regexp.MustCompile(`^[0-9a-f]{7,}-dirty$`).MatchString(v) {
		t.Errorf("a run in a changed checkout records %q, want <commit>-dirty", v)
	}

	t.Setenv(CodeVersionEnv, "v9.9.9-ci")
	if v := codeVersion(t, filepath.Join(repo, "reports")); v != "v9.9.9-ci" {
		t.Errorf("with %s set the run records %q", CodeVersionEnv, v)
	}
}
